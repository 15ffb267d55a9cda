"""Forked worker processes, each with pipes of its own: tasks go to whichever worker is free, results come back
as they are done, and the pool stops without waiting on anything a worker may have held.

Why not :class:`multiprocessing.pool.Pool`: its workers share one queue of tasks behind one lock, which the
worker waiting for a task holds. A worker killed there (SIGTERM to the process group, as a service manager
stops a command) holds it forever, and stopping the pool waits for that lock: the command hung, one stop in 12
to 40 here (``tests/test_signals.py``). Its thread of workers also woke whenever a result waited in its pipe, a
thousand idle turns a second (0.056 s of CPU for the 1,000 files of ``bench/bench_local.py``, on a core the
workers needed). Here nothing is shared: each worker reads its tasks from its own pipe and writes its results
to another, the parent polls the results' pipes in the thread that reads (no thread of its own), and a worker
that dies closes its pipe, which the parent reads as the end of that worker (:class:`WorkerDied`).

Messages go as :mod:`smtrail_sql.pipes` writes them. A worker runs ``work`` on each task and sends back
``(True, result)``, or ``(False, exception)`` when ``work`` raised; it exits at the end of its pipe of tasks.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from smtrail_sql.pipes import receive as _receive
from smtrail_sql.pipes import send as _send

#: Seconds a worker has to end once told to, before it is killed (see :meth:`WorkerPool.terminate`).
STOP_SECONDS = 5.0
#: The process ids of every worker alive in this process's pools (see :func:`stop_all`).
_LIVE: set[int] = set()


def stop_all() -> None:
    """SIGTERM to every worker of this process's pools, waiting for none: for a process about to exit at once
    (a third Ctrl-C while the reading stops: see ``smtrail_sql.cli.app``). Workers ignore Ctrl-C."""
    for pid in list(_LIVE):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


class WorkerDied(Exception):
    """A worker process ended before it sent back the result of its task (killed, or out of memory)."""


class WorkerPool:
    """``count`` worker processes forked now, each running ``initializer(*initargs)`` first (which must not
    raise: nothing would report it), then ``work`` on each task it is sent.

    A context manager: leaving it stops the workers (SIGTERM) and waits for them.
    """

    def __init__(self, count: int, work: Callable[[Any], Any], initializer: Callable[..., object],
                 initargs: tuple[Any, ...] = ()) -> None:
        self.workers: list[tuple[int, int, int]] = []  # (process id, its tasks' pipe, its results' pipe)
        try:
            for _ in range(count):
                self.workers.append(_fork(work, initializer, initargs, self.workers))
        except BaseException:
            self.terminate()
            raise

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()

    def imap_unordered(self, tasks: Iterable[Any]) -> Iterator[Any]:
        """The results of ``work`` on every task, in the order they are done; the exception a task raised,
        raised here; :class:`WorkerDied` if a worker ends before its result."""
        pending = iter(tasks)
        busy: dict[int, tuple[int, int, int]] = {}  # by the worker's results' pipe
        for worker in self.workers:
            if _give(worker, pending):
                busy[worker[2]] = worker
        poller = select.poll()
        for fd in busy:
            poller.register(fd, select.POLLIN)
        while busy:
            for fd, _ in poller.poll():
                message = _receive(fd)
                if message is None:
                    raise WorkerDied(f"worker process {busy[fd][0]} ended before its result")
                if not _give(busy[fd], pending):
                    del busy[fd]
                    poller.unregister(fd)
                done, value = message
                if not done:
                    raise value
                yield value

    def terminate(self) -> None:
        """Stop every worker (SIGTERM: a worker takes its default action) and wait for it; close the pipes.

        Every worker is signalled before any is waited for, and each is forgotten only once reaped: stopped
        midway (a Ctrl-C in a notebook), a second call finishes the work. One still running after
        :data:`STOP_SECONDS` (it caught or blocked SIGTERM) is killed.
        """
        for pid, tasks, results in self.workers:
            for fd in (tasks, results):
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.workers:
            pid = self.workers[0][0]
            try:
                ended = os.waitpid(pid, os.WNOHANG)[0] != 0
            except ChildProcessError:  # (reaped already)
                ended = True
            if not ended and time.monotonic() < deadline:
                time.sleep(0.001)
                continue
            if not ended:  # (a worker that does not take SIGTERM: never a hang here)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            _LIVE.discard(pid)
            del self.workers[0]


def _fork(work: Callable[[Any], Any], initializer: Callable[..., object], initargs: tuple[Any, ...],
          siblings: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """Fork one worker; its process id and the parent's ends of its two pipes."""
    import warnings

    task_read, task_write = os.pipe()
    result_read, result_write = os.pipe()
    try:
        with warnings.catch_warnings():  # (Python 3.12 warns of a fork beside threads: a worker runs none of theirs)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except BaseException:
        for fd in (task_read, task_write, result_read, result_write):
            os.close(fd)
        raise
    if pid == 0:  # (the worker: it never returns)
        code = 1
        try:
            os.close(task_write)
            os.close(result_read)
            for _, tasks, results in siblings:  # (a sibling's pipes are not this worker's to hold open)
                os.close(tasks)
                os.close(results)
            initializer(*initargs)
            _serve(work, task_read, result_write)
            code = 0
        finally:  # (whatever happened: nothing of the parent's code runs on in a worker)
            os._exit(code)
    _LIVE.add(pid)
    os.close(task_read)
    os.close(result_write)
    return pid, task_write, result_read


def _serve(work: Callable[[Any], Any], tasks: int, results: int) -> None:
    """A worker's loop: a task, its result, until the end of the pipe of tasks."""
    while (task := _receive(tasks)) is not None:
        try:
            reply: tuple[bool, Any] = (True, work(task))
        except Exception as error:  # noqa: BLE001  (the parent raises it)
            reply = (False, error if _crosses(error) else RuntimeError(repr(error)))
        _send(results, reply)


def _crosses(error: Exception) -> bool:
    """Whether ``error`` comes out of a pickle as it went in (one whose arguments are not its constructor's
    would fail in the parent, as a ``TypeError`` of its own)."""
    try:
        return type(pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))) is type(error)
    except Exception:  # noqa: BLE001
        return False


def _give(worker: tuple[int, int, int], pending: Iterator[Any]) -> bool:
    """Send ``worker`` the next task; False when there is none left."""
    task = next(pending, _NONE)
    if task is _NONE:
        return False
    try:
        _send(worker[1], task)
    except BrokenPipeError:  # (it sent its last result, then died)
        raise WorkerDied(f"worker process {worker[0]} ended") from None
    return True


_NONE = object()
