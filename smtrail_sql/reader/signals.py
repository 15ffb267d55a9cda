"""Ctrl-C and SIGTERM while the reader's worker processes exist: the parent's to handle, never a worker's.

A terminal sends Ctrl-C's SIGINT to the whole process group, and a forked worker inherits the parent's handlers:
either would print a traceback in a worker beside the parent's one line. So a worker ignores SIGINT and takes
SIGTERM's default action (:func:`worker_signals`), and the parent holds both back while it forks
(:class:`HeldSignals`), then stops its workers by leaving the pool's ``with``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

#: Signals that reached a process while its workers were being forked (see :class:`HeldSignals`).
_deferred: list[int] = []


def worker_signals() -> None:
    """Signals in a worker: Ctrl-C is the parent's to handle, SIGTERM ends the worker at once.

    A terminal sends Ctrl-C's SIGINT to the whole process group: a worker that took it would die with a
    ``KeyboardInterrupt`` traceback of its own, beside the parent's one line. The parent stops the workers
    instead (leaving the pool's ``with`` terminates it, by SIGTERM), so SIGTERM gets its default action back:
    the parent's handler, inherited by the fork, would raise in the worker and print a traceback there too.
    """
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # (not the main thread of this process: nothing to set up)
        return
    if signal.SIGTERM in _deferred:  # the pool was told to stop before this worker could hear it
        os.kill(os.getpid(), signal.SIGTERM)


class HeldSignals:
    """Hold SIGINT and SIGTERM back while worker processes are forked, then act on them.

    A worker inherits the parent's handlers, which raise, until its initializer replaces them: a signal that
    came in between would print a traceback in the worker. While held, a signal is only noted, in either
    process: a worker's initializer acts on its own note (:func:`worker_signals`), and the parent on its own
    with :meth:`deliver`, called once the pool's ``with`` has begun (so that leaving it stops every worker).
    """

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> HeldSignals:
        import signal

        def note(signum: int, frame: object) -> None:
            _deferred.append(signum)

        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers run in the main thread only: nothing to hold back here
        _deferred.clear()
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not None:  # (None: a handler set outside Python, left alone)
                self.previous[signum] = signal.signal(signum, note)
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        import signal

        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        if error is not None:
            self.deliver()

    def deliver(self) -> None:
        """Raise again, to the handlers now in place, each signal that came in while held."""
        import signal

        if not self.previous:  # nothing was held
            return
        self.previous = {}
        noted, _deferred[:] = list(dict.fromkeys(_deferred)), []
        for signum in noted:
            signal.raise_signal(signum)
