"""The reader's worker processes (smtrail_sql.reader.forked): every task's result once, a task's error raised
in the parent, a worker's death a prompt WorkerDied, and stopping never waits on a dead worker."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from smtrail_sql.reader.forked import WorkerDied, WorkerPool

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc").is_dir(), reason="forks; reads /proc")


def _square(task: int) -> int:
    if task == -1:
        raise ValueError("no square for -1")
    if task == -2:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
    if task == -3:
        time.sleep(60)
    if task == -4:
        raise _Unpicklable()
    if task == -5:
        raise _TwoArguments("metric", "loss")
    return task * task


class _Unpicklable(Exception):
    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("not picklable")


class _TwoArguments(Exception):
    """Pickles, but not back: its constructor takes two arguments, its ``args`` hold one message."""

    def __init__(self, what: str, name: str) -> None:
        super().__init__(f"no {what} {name}")


def _nothing() -> None:
    """A worker's start that only sets its signals, as the reader's does (the test process's handlers, which
    another test may have replaced, are not a worker's)."""
    from smtrail_sql.reader.signals import worker_signals

    worker_signals()


def _left(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still exist, even as zombies (a stopped pool has waited for every worker)."""
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def _pids(pool: WorkerPool) -> list[int]:
    return [pid for pid, _, _ in pool.workers]


def test_every_task_is_done_once_by_the_workers() -> None:
    with WorkerPool(2, _square, _nothing) as pool:
        pids = _pids(pool)
        assert len(pids) == 2 and not set(pids) & {os.getpid()}
        assert sorted(pool.imap_unordered(range(50))) == [n * n for n in range(50)]
        assert sorted(pool.imap_unordered([3])) == [9]  # (the same workers, again)
    assert not _left(pids)


def test_a_tasks_error_is_raised_in_the_parent() -> None:
    with WorkerPool(2, _square, _nothing) as pool, pytest.raises(ValueError, match="no square for -1"):
        pids = _pids(pool)
        list(pool.imap_unordered([1, 2, -1, 4]))
    with WorkerPool(1, _square, _nothing) as pool, pytest.raises(RuntimeError, match="_Unpicklable"):
        pids += _pids(pool)
        list(pool.imap_unordered([-4]))
    with WorkerPool(1, _square, _nothing) as pool, pytest.raises(RuntimeError, match="no metric loss"):
        pids += _pids(pool)
        list(pool.imap_unordered([-5]))
    assert not _left(pids)


def test_a_worker_that_dies_is_reported_at_once() -> None:
    started = time.monotonic()
    with WorkerPool(2, _square, _nothing) as pool, pytest.raises(WorkerDied):
        pids = _pids(pool)
        list(pool.imap_unordered([1, -2, 3, 4, 5]))
    assert time.monotonic() - started < 10
    assert not _left(pids)


def test_stopping_waits_for_no_worker_killed_while_it_waited_for_a_task() -> None:
    """SIGTERM to every worker, one busy and one waiting for a task (a signal to the process group): stopping
    the pool returns at once (Python's pool waited forever for the lock the waiting one held)."""
    import threading

    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # (a handler a worker must not keep)
    try:
        pool = WorkerPool(2, _square, _nothing)
    finally:
        signal.signal(signal.SIGTERM, previous)
    pids = _pids(pool)
    raised: list[BaseException] = []

    def read() -> None:
        try:
            list(pool.imap_unordered([-3]))  # (one worker sleeps on it, the other waits for a task)
        except BaseException as error:  # noqa: BLE001
            raised.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    started = time.monotonic()
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    reader.join(10)
    pool.terminate()
    assert time.monotonic() - started < 5
    assert [type(error) for error in raised] == [WorkerDied]
    assert not _left(pids)


def test_a_worker_that_ignores_sigterm_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    from smtrail_sql.reader import forked

    monkeypatch.setattr(forked, "STOP_SECONDS", 0.2)
    pool = WorkerPool(1, _square, lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
    pids = _pids(pool)
    import threading

    def read() -> None:
        with contextlib.suppress(OSError, WorkerDied):  # (its pipe closed under it by terminate)
            list(pool.imap_unordered([-3]))  # (busy for a minute)

    reader = threading.Thread(target=read, daemon=True)
    started = time.monotonic()
    reader.start()
    time.sleep(0.2)
    pool.terminate()
    assert time.monotonic() - started < 5
    reader.join(5)
    assert not _left(pids)


def test_a_worker_start_that_fails_ends_the_read() -> None:
    def broken() -> None:
        raise RuntimeError("start failed")

    with WorkerPool(1, _square, broken) as pool, pytest.raises(WorkerDied):
        pids = _pids(pool)
        list(pool.imap_unordered([1]))
    assert not _left(pids)


def test_stop_all_signals_every_live_worker_at_once() -> None:
    """For a process about to exit at once (a third Ctrl-C): every worker of every pool is told to stop."""
    from smtrail_sql.reader import forked

    pools = [WorkerPool(1, _square, _nothing), WorkerPool(1, _square, _nothing)]
    for pool in pools:  # (started: a signal before a worker's own handlers would be the test process's)
        assert list(pool.imap_unordered([2])) == [4]
    pids = [pid for pool in pools for pid in _pids(pool)]
    assert set(pids) <= forked._LIVE
    forked.stop_all()
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == signal.SIGTERM  # (ended by the signal: its default action)
    for pool in pools:
        pool.terminate()  # (already reaped: nothing left to wait for)
    assert not set(pids) & forked._LIVE and not _left(pids)
