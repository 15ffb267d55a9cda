"""The ``smtrail-sql`` console script: a Ctrl-C during start-up ends it as cleanly as one during a command,
and a finished command leaves at once.

Importing the CLI (typer, click, rich) takes a few tenths of a second, before :func:`smtrail_sql.cli.main`
installs its handlers; a signal then would end in a ``KeyboardInterrupt`` traceback. Here the handlers come
first: nothing has started yet, so a signal before the CLI's own handlers just prints its line and exits.

Once the command is done, the interpreter's teardown (freeing every module, DuckDB's database, the mapped
cache) would take about 0.08 s of a warm query's 0.5 s, and does nothing the user can see: the process leaves
with :func:`os._exit` once its output is flushed and the ``atexit`` handlers have run (logging's flush, the
workers' clean-up). When anything is left to finish (a thread still running, output that cannot be
flushed), it exits the usual way.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
from typing import NoReturn


def _exit_at_once(signum: int, frame: object) -> None:
    dismiss = getattr(sys.modules.get("smtrail_sql.executor"), "dismiss", None)  # (maybe still being imported)
    if dismiss is not None:
        dismiss(force=True)
    interrupted = signum == signal.SIGINT
    sys.stderr.write("interrupted\n" if interrupted else "terminated\n")
    sys.stderr.flush()
    os._exit(130 if interrupted else 143)  # (128 + the signal's number, as the CLI exits on them)


#: The command line, for :mod:`smtrail_sql.cli` to register only the command it runs (None: every command).
COMMAND_LINE: list[str] | None = None


class ClosedStream(io.TextIOBase):
    """A standard stream the command was started without (``>&-``), where Python leaves None: writing to it
    fails as writing to a closed file does, which the CLI says in one line (``error: standard output is
    closed``, exit 1) rather than with a traceback; there is nothing to flush."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self.name} is closed")

    def flush(self) -> None:
        pass


def main() -> None:
    """Install the start-up handlers, then run the CLI (which replaces them with its own)."""
    global COMMAND_LINE
    if sys.stdout is None:
        sys.stdout = ClosedStream("standard output")
    if sys.stderr is None:  # (nothing can be said then: the exit code alone tells)
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (for the process's life)
    signal.signal(signal.SIGINT, _exit_at_once)
    signal.signal(signal.SIGTERM, _exit_at_once)
    COMMAND_LINE = sys.argv[1:]
    # numpy's BLAS starts a thread per core as it loads, which spins 0.05 s of CPU for nothing: no command
    # multiplies matrices (a setting of the user's is kept)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from smtrail_sql import executor

    executor.start(COMMAND_LINE)  # (DuckDB loaded on another core while the command line is parsed)
    from smtrail_sql.cli import main as run_cli

    try:
        run_cli()
    except SystemExit as done:
        leave(done.code)
    leave(0)


def leave(code: str | int | None) -> NoReturn:
    """Exit with ``code`` (as :func:`sys.exit` takes it) without the interpreter's teardown, when nothing is
    left to finish; else the usual way."""
    import atexit
    import threading

    from smtrail_sql import executor

    executor.dismiss()  # (when the command did not use it)

    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()
           if thread is not threading.current_thread()):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe, a full disk: the usual exit says so as it always has
        sys.exit(code)
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if isinstance(code, str):
        sys.stderr.write(f"{code}\n")  # (what sys.exit does with a message)
    atexit._run_exitfuncs()  # (the handlers the teardown would have run, in the same order)
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)
