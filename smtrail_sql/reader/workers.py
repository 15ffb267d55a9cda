"""The reader's worker processes: groups of consecutive files read on every core, their rows handed back.

A selection too small to be worth forking for (:data:`PARALLEL_MIN_BYTES`), or one core, is read in this
process, under the reader's memory budget for the time of the reading (see :mod:`smtrail_sql.reader.memory`).
Otherwise a pool of forked processes reads it: each worker keeps the budget for its whole life, writes each
file's cache entry itself, and spools the rows of each group to a file in memory (``/dev/shm``) that this
process memory-maps. A worker that dies fails the read with a one-line error rather than hanging it; Ctrl-C
and SIGTERM are this process's to handle (see :class:`HeldSignals`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import LogReadError
from smtrail_sql.reader.layout import LogFile
from smtrail_sql.reader.memory import count_arrow_memory, data_budget, limit_data, reader_budget

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache

#: Below this many bytes to read, forking workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
#: Files per task: enough to amortise Arrow's per-call overhead, few enough to balance the workers.
GROUP_SIZE = 16
#: Where worker processes spool their rows (memory, where there is a ``/dev/shm``), in a folder named
#: ``smtrail-rows-{pid}-...`` after the run (see :func:`extract_all`).
SPOOL_PARENT = "/dev/shm"
SPOOL_PREFIX = "smtrail-rows-"
#: Seconds between two looks at the workers while waiting for a result (see :func:`_results`).
WORKER_CHECK_SECONDS = 0.5

#: What :func:`extract_all` yields for each group: the files' indices, their skip reasons, their rows.
Group = tuple[list[int], list["str | None"], tuple["pa.Table", "pa.Table"]]


def extract_all(files: Sequence[LogFile], to_read: list[int], cache: ExtractCache | None, workers: int | None,
                lean: bool, max_size: int, forked: Callable[[], object] | None = None) -> Iterator[Group]:
    """Extract ``files[i]`` for ``i`` in ``to_read`` by groups of consecutive files, in parallel if worth it.

    ``forked`` is called once the worker processes exist (never when the files are read in this process).
    """
    from smtrail_sql.reader import batch

    groups: list[list[tuple[int, LogFile]]] = []
    for index in to_read:
        if groups and groups[-1][-1][0] == index - 1 and len(groups[-1]) < GROUP_SIZE:
            groups[-1].append((index, files[index]))
        else:
            groups.append([(index, files[index])])
    count = workers if workers is not None else (os.cpu_count() or 1)
    count = max(1, min(count, len(groups)))
    budget = reader_budget(max_size)
    if count == 1 or sum(files[i].size for i in to_read) < PARALLEL_MIN_BYTES:
        for group in groups:
            try:
                with data_budget(budget):  # (only while this process reads: see smtrail_sql.reader.memory)
                    reasons, tables = batch.extract_group(group, cache, lean, max_size)
            except MemoryError:
                raise _out_of_budget(max_size) from None
            yield [index for index, _ in group], reasons, tables
        return
    yield from _in_workers(groups, cache, count, lean, budget, max_size, forked)


def _in_workers(groups: list[list[tuple[int, LogFile]]], cache: ExtractCache | None, count: int, lean: bool,
                budget: int, max_size: int, forked: Callable[[], object] | None) -> Iterator[Group]:
    import multiprocessing

    from smtrail_sql.reader.entries import read_entry
    from smtrail_sql.runfiles import scratch_folder

    _preload()
    cache_root = str(cache.root) if cache is not None else None
    # Rows come back through files in memory (/dev/shm), memory-mapped here: through the pool's pipe every
    # payload was pickled, copied in 64 KB reads and unpickled, which kept the parent busy for a fifth of the
    # workers' time, on a core they needed. The mapping outlives the file, removed at once. The folder is
    # named after this process and held by it and its workers: if they are killed, the next run removes it.
    with scratch_folder(_spool_parent(), SPOOL_PREFIX) as spool:
        jobs = [(group, cache_root, lean, spool, max_size) for group in groups]
        # fork: workers start in milliseconds with the modules already imported; they touch no DuckDB state
        context = multiprocessing.get_context("fork")
        held = HeldSignals()
        try:
            with held:
                pool = context.Pool(count, initializer=_start_worker, initargs=(lean, budget))
            with pool:
                held.deliver()
                if forked is not None:
                    forked()
                for indices, reasons, path in _results(pool, pool.imap_unordered(_run_group, jobs), max_size):
                    entry = read_entry(path)
                    os.unlink(path)
                    yield indices, reasons, (entry.points, entry.calls)
        finally:
            # the pool is gone (stopped workers are waited for): a temporary one was writing when it was
            # stopped (Ctrl-C, an error) is removed now rather than by the next run
            if cache is not None:
                cache.remove_leftovers()


def _run_group(job: tuple[list[tuple[int, LogFile]], str | None, bool, str, int]) -> tuple[list[int], list[Any], str]:
    """A worker's task: :func:`~smtrail_sql.reader.batch.extract_group`, its rows spooled to a file."""
    from smtrail_sql.reader import batch
    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.reader.entries import serialize_entry

    group, cache_root, lean, spool, max_size = job
    cache = ExtractCache(cache_root) if cache_root is not None else None
    reasons, (points, calls) = batch.extract_group(group, cache, lean, max_size)
    indices = [index for index, _ in group]
    path = os.path.join(spool, f"{indices[0]}.arrows")
    with open(path, "wb") as handle:
        handle.write(serialize_entry(points, calls, {}))
    return indices, reasons, path


def _results(pool: Any, results: Any, max_size: int) -> Iterator[Any]:
    """The results of ``pool.imap_unordered``, or :class:`LogReadError` if a worker process dies.

    A pool replaces a worker that dies (killed for memory, say), but the work it held is never done: waiting
    for it would hang forever. While no result comes, the workers are looked at; a new one means one died.
    """
    import multiprocessing

    def workers() -> set[int | None]:  # (a dead one, until it is replaced, has an exit code)
        return {None if process.exitcode is not None else process.pid for process in getattr(pool, "_pool", ())}

    started = workers()
    while True:
        try:
            yield results.next(timeout=WORKER_CHECK_SECONDS)
        except StopIteration:
            return
        except MemoryError:
            raise _out_of_budget(max_size) from None
        except multiprocessing.TimeoutError:
            if workers() != started:
                raise LogReadError("a log reader process died before it finished its files (out of memory, "
                                   "or killed): run the query again") from None


def _out_of_budget(max_size: int) -> LogReadError:
    """The error of a group of files whose rows, not one file, went past the reader's memory budget."""
    return LogReadError(f"the rows of a group of log files took more than the reader's memory budget "
                        f"({reader_budget(max_size) >> 20} MiB, from SMTRAIL_MAX_LOG_SIZE): raise the limit")


def _spool_parent() -> str:
    import tempfile

    return SPOOL_PARENT if os.path.isdir(SPOOL_PARENT) else tempfile.gettempdir()


def remove_dead_spools() -> None:
    """Remove the rows spooled by the workers of runs that were killed (one directory listing, usually nothing)."""
    from smtrail_sql.runfiles import remove_dead

    remove_dead(_spool_parent(), SPOOL_PREFIX)


# -- a worker's start ----------------------------------------------------------------------------------------

def _preload() -> None:
    """Import what a worker runs before forking, so that forked workers inherit the modules.

    Not :mod:`pyarrow.compute` (0.05 s), which workers do without.
    """
    import isal.igzip  # noqa: F401
    import msgspec  # noqa: F401

    import smtrail_sql.reader.batch  # noqa: F401
    import smtrail_sql.reader.cache  # noqa: F401
    import smtrail_sql.reader.entries  # noqa: F401
    import smtrail_sql.reader.shapes  # noqa: F401


class _NoPandas:
    """An import hook that says pandas is not installed (see :func:`_start_worker`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"{name} is not used by reader workers", name=name)


def _keep_freed_memory() -> None:
    """Make glibc's malloc keep freed memory for reuse rather than hand it back to the system at once.

    Each file is inflated into a new buffer of about a megabyte, which glibc maps afresh and unmaps when it is
    freed; the system then zeroes new pages on first touch, file after file. Measured on 1,000 files in one
    process: 207,000 page faults and 0.86 s of system time, against 20,000 and 0.30 s with these settings
    (2.8 s to 2.1 s in all). Only worker processes are tuned: they are ours and short-lived.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's largest: buffers below this come from the heap
    mallopt(m_trim_threshold, 1024 * 1024 * 1024)  # and freed heap memory stays for the next file


def _start_worker(lean: bool = False, budget: int | None = None) -> None:
    """Pool initializer: a memory budget (see :mod:`smtrail_sql.reader.memory`), keep freed memory (see
    :func:`_keep_freed_memory`), warm up without pandas.

    pyarrow imports pandas (about 0.2 s) on the first ``pyarrow.array`` call of a process, only to check
    whether the list given is a pandas object; a worker never holds one. Hiding pandas during that first call
    settles the check for good in the worker (and only there: the parent's pyarrow is untouched), then the
    rest of the first-use set-up is paid here, in every worker at once, not serially in the parent.

    Nothing here may raise: a pool replaces a worker whose initializer fails, again and again, forever. All of
    it only saves time, so a failure is ignored (the work itself then fails, with its own error).
    """
    import sys

    _worker_signals()
    if budget is not None:
        count_arrow_memory()
        limit_data(budget)
    try:
        import pyarrow as pa

        _keep_freed_memory()
        if "pandas" not in sys.modules:
            hook = _NoPandas()
            sys.meta_path.insert(0, hook)
            try:
                pa.array([None])
            finally:
                sys.meta_path.remove(hook)
        _prime(lean)
    except Exception:  # noqa: BLE001,S110  (see above: raising would respawn workers forever)
        pass


#: A tiny log of the usual kinds of value, extracted once by each worker as it starts (see :func:`_prime`).
_PRIMER = (b'{"Records":[{"eventSource":"metrics-sagemaker.amazonaws.com","eventName":"BatchPutMetrics",'
           b'"eventTime":"2024-05-01T00:00:00Z","eventID":"primer","requestParameters":{"trialComponentName":"p",'
           b'"metricData":[{"metricName":"m","timestamp":1714521600000,"step":1,"value":1.5},'
           b'{"metricName":"m","timestamp":1714521600.5,"value":2}]}}]}')


def _prime(lean: bool) -> None:
    """Run the whole extraction once on a tiny log (the first extraction in a process pays for set-up)."""
    from isal import igzip

    from smtrail_sql.reader.decode import extract_lists
    from smtrail_sql.reader.entries import serialize_entry
    from smtrail_sql.reader.tables import build_tables

    primer = LogFile("primer.json.gz", len(_PRIMER), 0, "000000000000", "us-east-1", "2024/05/01")
    points, calls = build_tables([extract_lists(igzip.compress(_PRIMER), primer, lean=lean)], lean=lean)
    serialize_entry(points, calls, {})


# -- signals -------------------------------------------------------------------------------------------------

#: Signals that reached a process while its workers were being forked (see :class:`HeldSignals`).
_deferred: list[int] = []


def _worker_signals() -> None:
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
    process: a worker's initializer acts on its own note (:func:`_worker_signals`), and the parent on its own
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


# -- work beside the workers ---------------------------------------------------------------------------------

class Alongside:
    """Work run beside the reading (see :func:`~smtrail_sql.reader.pipeline.read_log_files`): in a thread
    started once the worker processes exist (forking while a thread runs can copy a lock it holds, forever
    locked in the child), or in the caller's thread, after the reading, when no worker is started."""

    def __init__(self, work: Callable[[], object] | None) -> None:
        self.work = work
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def _run(self) -> None:
        try:
            if self.work is not None:
                self.work()
        except BaseException as error:  # raised again by finish(), in the caller's thread
            self.error = error
        finally:
            self.done.set()

    def start(self) -> None:
        """Run the work in a thread (call only after the last fork)."""
        if self.work is not None and self.thread is None:
            self.thread = threading.Thread(target=self._run, name="smtrail-alongside", daemon=True)
            self.thread.start()

    def finish(self) -> None:
        """Run the work now unless it was started; wait for it; raise its error."""
        if self.thread is None:
            self._run()
        if self._wait():
            raise KeyboardInterrupt
        self.work = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def abandon(self) -> None:
        """The reading failed: wait for the work if it was started (its error, and a Ctrl-C meanwhile, give way
        to the reading's error)."""
        self._wait()

    def _wait(self) -> bool:
        """Wait for the thread, if any, even through Ctrl-C; whether a Ctrl-C came meanwhile.

        The thread must not outlive the caller: a daemon thread still in DuckDB's C++ code when Python exits is
        unwound by force there, and the process aborts ("FATAL: exception not rethrown") after its exit line.
        Not ``Thread.join``: interrupted, Python 3.11's join can take the thread for ended while it still runs.
        """
        interrupted = False
        while self.thread is not None:
            try:
                self.done.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
        return interrupted
