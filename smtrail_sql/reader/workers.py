"""The reader's worker processes: groups of consecutive files read on every core, their rows handed back.

A selection too small to be worth forking for (:data:`PARALLEL_MIN_BYTES`), or one core, is read in this
process, under the reader's memory budget for the time of the reading (see :mod:`smtrail_sql.reader.memory`).
Otherwise forked worker processes read it (see :mod:`smtrail_sql.reader.forked`): each worker keeps the budget
for its whole life, writes each file's cache entry itself, and spools the rows of each group to a file that
this process memory-maps. A worker that dies fails the read with a one-line error rather than hanging it;
Ctrl-C and SIGTERM are this process's to handle (see :mod:`smtrail_sql.reader.signals`).

The spool is a folder on disk (see :func:`spool_parent`), not in memory (``/dev/shm``): rows memory-mapped from
there are the system's file cache, which it takes back under pressure, so that a bucket larger than the
machine's memory is read as well as a small one. A spool file is removed as soon as it is mapped, so its pages
are mostly dropped before they are ever written to the disk.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import LogReadError
from smtrail_sql.process import arrow_without_pandas, die_with_parent, one_query
from smtrail_sql.reader.layout import LogFile
from smtrail_sql.reader.memory import count_arrow_memory, data_budget, limit_data, reader_budget
from smtrail_sql.reader.signals import HeldSignals, worker_signals
from smtrail_sql.runfiles import SPILL_PREFIX, SPOOL_PREFIX, remove_dead_scratch

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache

#: Below this many bytes to read, forking workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
#: Files per task: at least this many (Arrow's per-call overhead amortised), up to :data:`GROUP_SIZE_MAX` while
#: many remain (a metric-heavy bench file: 1.18 ms in groups of 16, 1.12 ms in groups of 32, 1.11 ms in groups of
#: 64, on one core), down to this many at the end, so that the workers finish together.
GROUP_SIZE = 16
GROUP_SIZE_MAX = 64
#: Where worker processes spool their rows, in a folder named ``smtrail-rows-{pid}-...`` after the run (see
#: :func:`extract_all`): None for the cache folder's ``tmp`` (see :func:`spool_parent`).
SPOOL_PARENT: str | None = None

#: What :func:`extract_all` yields for each group: the files' indices, their skip reasons, their rows.
Group = tuple[list[int], list["str | None"], tuple["pa.Table", "pa.Table"]]


def extract_all(files: Sequence[LogFile], to_read: list[int], cache: ExtractCache | None, workers: int | None,
                lean: bool, max_size: int, forked: Callable[[], object] | None = None) -> Iterator[Group]:
    """Extract ``files[i]`` for ``i`` in ``to_read`` by groups of consecutive files, in parallel if worth it.

    ``forked`` is called once the worker processes exist (never when the files are read in this process).
    """
    import smtrail_sql.reader.batch as batch

    count = max(1, workers if workers is not None else (os.cpu_count() or 1))
    groups = _groups(files, to_read, count)
    count = min(count, len(groups))
    budget = reader_budget(max_size)
    if count == 1 or sum(files[i].size for i in to_read) < PARALLEL_MIN_BYTES:
        if one_query():  # (a worker's own trick, where this process is known to want no DataFrame)
            arrow_without_pandas()
        for group in groups:
            try:
                with data_budget(budget), _no_cycle_collection():  # (the budget: only while this process reads)
                    reasons, tables = batch.extract_group(group, cache, lean, max_size)
            except MemoryError:
                raise _out_of_budget(max_size) from None
            yield [index for index, _ in group], reasons, tables
        return
    yield from _in_workers(groups, cache, count, lean, budget, max_size, forked)


def _groups(files: Sequence[LogFile], to_read: list[int], workers: int) -> list[list[tuple[int, LogFile]]]:
    """``files[i]`` for ``i`` in ``to_read`` in groups of consecutive files, each of :data:`GROUP_SIZE` files or
    more: a quarter of the share of each worker in what remains, up to :data:`GROUP_SIZE_MAX` (guided
    self-scheduling: few tasks while much remains, small ones at the end)."""
    groups: list[list[tuple[int, LogFile]]] = []
    size = GROUP_SIZE
    remaining = len(to_read)  # (not yet in a group)
    for index in to_read:
        if groups and groups[-1][-1][0] == index - 1 and len(groups[-1]) < size:
            groups[-1].append((index, files[index]))
        else:
            size = max(GROUP_SIZE, min(GROUP_SIZE_MAX, remaining // (4 * workers)))
            groups.append([(index, files[index])])
        remaining -= 1
    return groups


def _in_workers(groups: list[list[tuple[int, LogFile]]], cache: ExtractCache | None, count: int, lean: bool,
                budget: int, max_size: int, forked: Callable[[], object] | None) -> Iterator[Group]:
    from smtrail_sql.reader.entries import read_entry
    from smtrail_sql.reader.forked import WorkerPool
    from smtrail_sql.runfiles import scratch_folder

    preload()
    cache_root = str(cache.root) if cache is not None else None
    # Rows come back through spool files, memory-mapped here: through the pool's pipe every payload was
    # pickled, copied in 64 KB reads and unpickled, which kept the parent busy for a fifth of the workers'
    # time, on a core they needed. The mapping outlives the file, removed at once. The folder is named after
    # this process and held by it and its workers: if they are killed, the next run removes it.
    with scratch_folder(spool_parent(cache), SPOOL_PREFIX) as spool:
        jobs = [(group, cache_root, lean, spool, max_size) for group in groups]
        # fork: workers start in milliseconds with the modules already imported; they touch no DuckDB state
        held = HeldSignals()
        try:
            with held:
                workers = WorkerPool(count, _run_group, _start_worker, (lean, budget))
            with workers:
                held.deliver()
                if forked is not None:
                    forked()
                for indices, reasons, path in _results(workers.imap_unordered(jobs), max_size):
                    entry = read_entry(path, verify=False)  # (a spool: see write_spool)
                    os.unlink(path)
                    yield indices, reasons, (entry.points, entry.calls)
        finally:
            # the workers are gone (stopped ones are waited for): a temporary one was writing when it was
            # stopped (Ctrl-C, an error) is removed now rather than by the next run
            if cache is not None:
                cache.remove_leftovers()


def _run_group(job: tuple[list[tuple[int, LogFile]], str | None, bool, str, int]) -> tuple[list[int], list[Any], str]:
    """A worker's task: :func:`~smtrail_sql.reader.batch.extract_group`, its rows spooled to a file."""
    import smtrail_sql.reader.batch as batch
    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.reader.entries import write_spool

    group, cache_root, lean, spool, max_size = job
    cache = ExtractCache(cache_root) if cache_root is not None else None
    with _no_cycle_collection():
        reasons, (points, calls) = batch.extract_group(group, cache, lean, max_size)
    indices = [index for index, _ in group]
    path = os.path.join(spool, f"{indices[0]}.arrows")
    write_spool(path, points, calls)
    return indices, reasons, path


def _results(results: Iterator[Any], max_size: int) -> Iterator[Any]:
    """The workers' results, a worker's death (see :class:`~smtrail_sql.reader.forked.WorkerDied`) and a
    group's rows over the memory budget as one-line :class:`LogReadError`s."""
    from smtrail_sql.reader.forked import WorkerDied

    try:
        yield from results
    except MemoryError:
        raise _out_of_budget(max_size) from None
    except WorkerDied:
        raise LogReadError("a log reader process died before it finished its files (out of memory, or "
                           "killed): run the query again") from None


def _out_of_budget(max_size: int) -> LogReadError:
    """The error of a group of files whose rows, not one file, went past the reader's memory budget."""
    return LogReadError(f"the rows of a group of log files took more than the reader's memory budget "
                        f"({reader_budget(max_size) >> 20} MiB, from SMTRAIL_MAX_LOG_SIZE): raise the limit")


def spool_parent(cache: ExtractCache | None, *, make: bool = True) -> str:
    """The folder of the reader's scratch files: :data:`SPOOL_PARENT` if set, else the ``tmp`` folder of the
    cache (``cache``'s, or the default one's under ``--no-cache``), which is on disk where ``/tmp`` may be in
    memory; the system's temporary folder if that one cannot be made. ``make=False``: the folder it would be,
    not made."""
    if SPOOL_PARENT is not None:
        return SPOOL_PARENT
    from smtrail_sql.reader.cache import default_cache_dir

    folder = (cache.root if cache is not None else default_cache_dir()) / "tmp"
    if not make:
        return str(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        import tempfile

        return tempfile.gettempdir()
    return str(folder)


def spill_folder(cache: ExtractCache | None, *, make: bool = True) -> str:
    """Where a DuckDB database of this process spills (see ``LocalEngine``): a new name beside the spool,
    after this process (DuckDB makes the folder only if it spills; a killed run's is removed by
    :func:`remove_dead_spools`). ``make``: as for :func:`spool_parent`."""
    from smtrail_sql.runfiles import owned_prefix

    return os.path.join(spool_parent(cache, make=make), owned_prefix(SPILL_PREFIX) + os.urandom(4).hex())


def remove_dead_spools(cache: ExtractCache | None) -> None:
    """Remove the rows spooled by the workers of runs that were killed, and what their DuckDB spilled (one
    directory listing, usually nothing)."""
    remove_dead_scratch(spool_parent(cache))


# -- a worker's start ----------------------------------------------------------------------------------------

def preload() -> None:
    """Import what a worker runs before forking, so that forked workers inherit the modules (also done ahead by
    a cold executor: see :mod:`smtrail_sql.executor`).

    Not :mod:`pyarrow.compute` (0.05 s), which workers do without; nor msgspec where the scanner is used (5 ms
    of a cold executor's start-up): only a file it declines needs it.
    """
    import isal.igzip  # noqa: F401

    import smtrail_sql.reader.batch  # noqa: F401
    import smtrail_sql.reader.cache  # noqa: F401
    import smtrail_sql.reader.entries  # noqa: F401
    from smtrail_sql.reader import native

    if native.scanner() is None:  # (loaded and its source's CRC checked once, here, rather than in every worker)
        import smtrail_sql.reader.shapes  # noqa: F401


def _start_worker(lean: bool, budget: int | None) -> None:
    """A worker's start (see :class:`~smtrail_sql.reader.forked.WorkerPool`): signals, a memory budget (see
    :mod:`smtrail_sql.reader.memory`), the speed tricks below, then a warm-up (:func:`_prime`), paid here in
    every worker at once rather than by each one's first task.

    Nothing here may raise: a worker whose start fails ends, and the read with it. The tricks and the warm-up
    only save time, so their failure is ignored (the work itself then fails, with its own error).
    """
    worker_signals()
    die_with_parent()  # (the command killed: its workers must not die of a broken pipe, with a traceback)
    try:  # first: any Arrow call before it (count_arrow_memory's) imports pandas
        arrow_without_pandas()
    except Exception:  # noqa: BLE001,S110  (see above: raising would end the worker, and the read)
        pass
    if budget is not None:
        count_arrow_memory()
        limit_data(budget)
    try:
        _keep_freed_memory()
        _prime(lean)
    except Exception:  # noqa: BLE001,S110  (see above)
        pass


# -- speed tricks: each earns its place in bench/bench_local.py's files (one worker, 320 files, CPU) ---------

@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Extract with Python's cyclic garbage collector off: the lists and structs decoded hold no cycles, and the
    collector would only rescan them again and again, file after file (1.87 s with it, 1.38 s without)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _keep_freed_memory() -> None:
    """Make glibc's malloc keep freed memory for reuse rather than hand it back to the system at once: each
    file is inflated into a new buffer of about a megabyte, which glibc would map afresh, and the system zero
    anew, file after file (1.47 s without, 1.34 s with; only worker processes are tuned: they are ours and
    short-lived)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's largest: buffers below this come from the heap
    mallopt(m_trim_threshold, 1024 * 1024 * 1024)  # and freed heap memory stays for the next file


#: A tiny log of the usual kinds of value, extracted once by each worker as it starts (see :func:`_prime`).
_PRIMER = (b'{"Records":[{"eventSource":"metrics-sagemaker.amazonaws.com","eventName":"BatchPutMetrics",'
           b'"userIdentity":{"arn":"arn:aws:sts::000000000000:assumed-role/r/s"},"userAgent":"primer",'
           b'"sourceIPAddress":"192.0.2.1","resources":[{"type":"AWS::SageMaker::ExperimentTrialComponent",'
           b'"ARN":"arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/p"}],'
           b'"eventTime":"2024-05-01T00:00:00Z","eventID":"primer","requestParameters":{"trialComponentName":"p",'
           b'"metricData":[{"metricName":"m","timestamp":1714521600000,"step":1,"value":1.5},'
           b'{"metricName":"m","timestamp":1714521600.5,"value":2}]}}]}')


def _prime(lean: bool) -> None:
    """Run the whole extraction once on a tiny log (the first extraction in a process pays for set-up): one the
    scanner takes, where it is used (one it declined would load msgspec in every worker, for nothing)."""
    from isal import igzip

    from smtrail_sql.reader.decode import extract_lists
    from smtrail_sql.reader.entries import write_spool
    from smtrail_sql.reader.tables import build_tables

    primer = LogFile("primer.json.gz", len(_PRIMER), 0, "000000000000", "us-east-1", "2024/05/01")
    points, calls = build_tables([extract_lists(igzip.compress(_PRIMER), primer, lean=lean)], lean=lean)
    write_spool(os.devnull, points, calls)


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
