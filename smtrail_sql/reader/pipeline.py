"""Read a selection of log files on every core, through the cache, into the two relations' tables.

The order of work: a snapshot of the whole selection (one memory-mapped file) answers an unchanged selection;
otherwise each file's own cache entry; otherwise the file is read, by a pool of worker processes when there is
enough to share (each hands its rows back as an Arrow IPC file in memory and writes its cache entry itself). Rows are
then put in file order and a new snapshot is written. Nothing is deduplicated here: an event delivered twice is
two rows, as in the views, and the rendered SQL keeps one of them on every engine. Every read starts by removing
what killed runs left (cache temporaries, row spools in ``/dev/shm``: see :mod:`smtrail_sql.runfiles`).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from smtrail_sql.errors import LogReadError
from smtrail_sql.reader.layout import (
    MOMENTARY_SKIPS,
    SKIP_DIGEST,
    SKIP_TOO_LARGE,
    SKIP_UNDECODABLE,
    LogFile,
    raise_if_bad,
)
from smtrail_sql.reader.memory import count_arrow_memory, data_budget, limit_data, reader_budget
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache

#: Below this many bytes to read, forking workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
#: Where worker processes spool their rows (memory, where there is a ``/dev/shm``), in a folder named
#: ``smtrail-rows-{pid}-...`` after the run (see :func:`_extract_all`).
SPOOL_PARENT = "/dev/shm"
SPOOL_PREFIX = "smtrail-rows-"


class ReadProgress(Protocol):
    """What the reader reports while it works (the CLI draws a progress bar with it)."""

    def start(self, files: int, total_bytes: int) -> None:
        """Called once with what is to be read (files not answered by the cache)."""

    def advance(self, files: int, nbytes: int) -> None:
        """Called as files are done."""

    def finish(self) -> None:
        """Called once at the end."""


@dataclass
class ReadResult:
    """The rows of a selection and what it cost: files read, answered by the cache, skipped (and why)."""

    points: pa.Table
    calls: pa.Table
    files_read: int = 0
    files_cached: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_paths: list[tuple[str, str]] = field(default_factory=list)
    snapshot_hit: bool = False
    #: No event ID appears twice among the calls: every event was read once, so deduplicating copies would
    #: change nothing (False when not known).
    single_copy: bool = False


def read_log_files(
    files: Sequence[LogFile],
    *,
    cache: ExtractCache | None = None,
    workers: int | None = None,
    progress: ReadProgress | None = None,
    strict: bool = False,
    columns: Collection[str] | None = None,
    alongside: Callable[[], object] | None = None,
    max_size: int = DEFAULT_MAX_LOG_SIZE,
) -> ReadResult:
    """Extract the rows of ``files`` (in this order), using and filling ``cache`` when given.

    ``strict`` raises :class:`~smtrail_sql.errors.LogReadError` on the first bad file instead of skipping it.
    ``columns``, when given, are the only columns the caller reads: if it reads none of
    :data:`~smtrail_sql.reader.lists.OPTIONAL_COLUMNS` and there is no cache, they are left NULL, which
    saves a fifth of the reading (with a cache, every column is read: its entries must be whole).
    ``alongside`` is other work to overlap with the reading (setting up the query engine, say): it runs in a
    thread while worker processes read, or first when the files are read in this process; its error, if any,
    is raised here. ``max_size``: a file larger than this once inflated is skipped as ``too-large``.

    >>> read_log_files([]).points.num_rows
    0
    """
    task = _Alongside(alongside)
    try:
        result = _read(files, cache, workers, progress, strict, columns, task, max_size)
    except BaseException:
        task.wait(interruptible=False)  # (the error on its way out is raised in any case)
        raise
    task.finish()
    return result


def _read(files: Sequence[LogFile], cache: ExtractCache | None, workers: int | None,
          progress: ReadProgress | None, strict: bool, columns: Collection[str] | None,
          task: _Alongside, max_size: int) -> ReadResult:
    from smtrail_sql.reader.cache import snapshot_key, with_identity
    from smtrail_sql.runfiles import remove_dead

    remove_dead(_spool_parent(), SPOOL_PREFIX)  # a killed run's rows (one directory listing, usually nothing)
    if cache is not None:
        cache.remove_leftovers()
        files = with_identity(files)
    key = snapshot_key(files) if cache is not None else ""
    if cache is not None:
        snapshot = cache.load_snapshot(key)
        if snapshot is not None:
            skipped_paths = [(p, r) for p, r in snapshot.meta.get("skipped", [])]
            if strict:
                raise_if_bad(skipped_paths)
            return ReadResult(snapshot.points, snapshot.calls, files_cached=len(files),
                              skipped=Counter(r for _, r in skipped_paths), skipped_paths=skipped_paths,
                              snapshot_hit=True, single_copy=bool(snapshot.meta.get("single_copy", False)))

    from smtrail_sql.reader.lists import OPTIONAL_COLUMNS, FileLists

    lean = cache is None and columns is not None and OPTIONAL_COLUMNS.isdisjoint(columns)
    lists: list[FileLists | None] = [None] * len(files)
    to_read: list[int] = []
    for index, log in enumerate(files):
        payload = cache.load_file(log) if cache is not None else None
        entry = _lists_or_none(payload)
        if entry is None:
            to_read.append(index)
        else:
            lists[index] = entry
    cached = len(files) - len(to_read)

    if progress is not None:
        progress.start(len(to_read), sum(files[i].size for i in to_read))
    groups: dict[int, tuple[Any, Any]] = {}
    try:
        for indices, reasons, tables in _extract_all(files, to_read, cache, workers, lean, task, max_size):
            for index, reason in zip(indices, reasons, strict=True):
                lists[index] = FileLists(reason)  # rows are in ``tables``; only the reason is needed
                if strict and reason and reason != SKIP_DIGEST:
                    raise_if_bad([(files[index].path, reason)])
            groups[indices[0]] = tables
            if progress is not None:
                progress.advance(len(indices), sum(files[i].size for i in indices))
    finally:
        if progress is not None:
            progress.finish()

    result = _assemble(files, lists, groups)
    result.files_read, result.files_cached = len(to_read), cached
    result.single_copy = each_event_once(result.calls)
    if strict:
        raise_if_bad(result.skipped_paths)
    # a snapshot is kept only if it holds for good: a file skipped for a reason of the moment (unreadable,
    # too large for this limit...) must be tried again by the next query
    if cache is not None and MOMENTARY_SKIPS.isdisjoint(result.skipped):
        result.points = series_order(result.points)
        cache.store_snapshot(key, result.points, result.calls,
                             {"skipped": result.skipped_paths, "single_copy": result.single_copy})
        # the rows as written, memory-mapped: the tables built here are freed, DuckDB scans the snapshot's
        # batches in parallel, and the next read of this selection gets these very tables back
        stored = cache.load_snapshot(key)
        if stored is not None:
            result.points, result.calls = stored.points, stored.calls
    return result


def each_event_once(calls: pa.Table) -> bool:
    """Whether no event ID appears twice among the calls (IDs that are NULL are never copies of one another).

    >>> import pyarrow as pa
    >>> each_event_once(pa.table({"event_id": ["a", "b", None, None]}))
    True
    >>> each_event_once(pa.table({"event_id": ["a", "a"]}))
    False
    """
    import pyarrow.compute as pc

    ids = calls.column("event_id")
    return bool(pc.count_distinct(ids, mode="only_valid").as_py() == len(ids) - ids.null_count)


def series_order(points: pa.Table) -> pa.Table:
    """The points grouped by series: trial component, metric, then step and time.

    Row order means nothing to SQL, but the templates partition and sort by exactly these columns, and DuckDB's
    window sorts run about a third faster over rows that already come in that order (0.34 s to 0.22 s for
    ``metric-summary`` over 830,000 points). Sorting on dictionary codes groups equal values without comparing
    strings; it costs about 0.3 s, paid once when a snapshot is written.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if points.num_rows == 0:
        return points
    unified = points.unify_dictionaries()

    def codes(name: str) -> pa.ChunkedArray:
        return pa.chunked_array([chunk.indices for chunk in unified.column(name).chunks], pa.int32())

    keys = pa.table({"trial_component": codes("trial_component"), "metric_name": codes("metric_name"),
                     "step": unified.column("step"), "metric_time": unified.column("metric_time")})
    order = pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in keys.column_names])
    return unified.take(order)


def _lists_or_none(payload: bytes | None) -> Any:
    from smtrail_sql.reader.lists import FileLists

    if payload is None:
        return None
    try:
        return FileLists.loads(payload)
    except ValueError:
        return None


#: Files per task: enough to amortise Arrow's per-call overhead, few enough to balance the workers.
GROUP_SIZE = 16


def _extract_group(tasks: list[tuple[int, LogFile]], cache_root: str | None, lean: bool = False,
                   spool: str | None = None, max_size: int = DEFAULT_MAX_LOG_SIZE
                   ) -> tuple[list[int], list[Any], Any]:
    """Worker body: extract a run of consecutive files, cache each, return their rows.

    The rows come back as the two tables, or, given a ``spool`` folder (from a worker process), as the path of
    an Arrow IPC file written there, which the parent memory-maps (see :func:`_extract_all`). ``lean`` (never
    with a cache) leaves the optional columns NULL (see :func:`read_log_files`); ``max_size``: as there.
    """
    import gc

    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.reader.decode import read_log_file
    from smtrail_sql.reader.entries import serialize_entry
    from smtrail_sql.reader.lists import FileLists

    cache = ExtractCache(cache_root) if cache_root is not None else None
    # the extracted lists hold no cycles: the cyclic collector would only rescan them again and again
    gc_was_enabled = gc.isenabled()
    gc.disable()
    reasons: list[str | None] = []
    built: list[tuple[Any, Any]] = []
    try:
        pending: list[Any] = []
        held = 0
        for _, log in tasks:
            lists = read_log_file(log, lean=lean, max_size=max_size)
            try:
                if cache is not None and lists.skip_reason not in MOMENTARY_SKIPS:
                    cache.store_file(log, lists.dumps())
            except MemoryError:  # (past the reader's budget: see smtrail_sql.reader.memory)
                lists = FileLists(SKIP_TOO_LARGE)
            reasons.append(lists.skip_reason)
            pending.append(lists)
            held += len(lists.names) + lists.call_count
            if held >= FLUSH_VALUES:  # plain lists take several times what their Arrow rows do
                built.append(_build_each(pending, lean, reasons, len(reasons) - len(pending)))
                pending, held = [], 0
        if pending or not built:
            built.append(_build_each(pending, lean, reasons, len(reasons) - len(pending)))
        points, calls = _concat(built)
    finally:
        if gc_was_enabled:
            gc.enable()
    indices = [index for index, _ in tasks]
    if spool is None:
        return indices, reasons, (points, calls)
    path = os.path.join(spool, f"{indices[0]}.arrows")
    with open(path, "wb") as handle:
        handle.write(serialize_entry(points, calls, {}))
    return indices, reasons, path


#: Extracted values (points and calls) a reader holds as plain lists before building their Arrow rows.
FLUSH_VALUES = 1 << 20


def _build_each(parts: list[Any], lean: bool, reasons: list[str | None], first: int) -> tuple[Any, Any]:
    """:func:`~smtrail_sql.reader.tables.build_tables` of consecutive files; if a file's values make it fail
    (none known: the rules give only what Arrow takes; or memory past the reader's budget), the files again
    one by one, a file that fails skipped as ``undecodable`` (``too-large`` for memory), its reason set in
    ``reasons[first + i]``: one file never fails the others."""
    from smtrail_sql.reader.tables import build_tables

    try:
        return build_tables(parts, lean=lean)
    except Exception:  # noqa: BLE001  (MemoryError included)
        pass
    built = []
    for index, part in enumerate(parts):
        try:
            built.append(build_tables([part], lean=lean))
        except MemoryError:
            reasons[first + index] = SKIP_TOO_LARGE
        except Exception:  # noqa: BLE001
            reasons[first + index] = SKIP_UNDECODABLE
    return _concat(built)


def _concat(built: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    import pyarrow as pa

    from smtrail_sql.reader.tables import empty_tables

    if len(built) == 1:
        return built[0]
    built = [(p, c) for p, c in built if c.num_rows] or [empty_tables()]
    return pa.concat_tables([p for p, _ in built]), pa.concat_tables([c for _, c in built])


def _run_group(args: tuple[list[tuple[int, LogFile]], str | None, bool, str | None, int]
               ) -> tuple[list[int], list[Any], Any]:
    return _extract_group(*args)


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


def _preload() -> None:
    """Import what a worker runs before forking, so that forked workers inherit the modules.

    Not :mod:`pyarrow.compute` (0.05 s), which workers do without.
    """
    import isal.igzip  # noqa: F401
    import msgspec  # noqa: F401

    import smtrail_sql.reader.cache  # noqa: F401
    import smtrail_sql.reader.decode  # noqa: F401
    import smtrail_sql.reader.entries  # noqa: F401
    import smtrail_sql.reader.shapes  # noqa: F401
    import smtrail_sql.reader.tables  # noqa: F401


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


#: Signals that reached a process while its workers were being forked (see :class:`_HeldSignals`).
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


class _HeldSignals:
    """Hold SIGINT and SIGTERM back while worker processes are forked, then act on them.

    A worker inherits the parent's handlers, which raise, until its initializer replaces them: a signal that
    came in between would print a traceback in the worker. While held, a signal is only noted, in either
    process: a worker's initializer acts on its own note (:func:`_worker_signals`), and the parent on its own
    with :meth:`deliver`, called once the pool's ``with`` has begun (so that leaving it stops every worker).
    """

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _HeldSignals:
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


class _Alongside:
    """Work run beside the reading (see :func:`read_log_files`): in a thread started once the worker
    processes exist (forking while a thread runs can copy a lock it holds, forever locked in the child), or
    in this thread when no worker is started."""

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

    def wait(self, *, interruptible: bool = True) -> None:
        """Wait for the work if it runs in a thread, even through Ctrl-C (raised once it is over, if
        ``interruptible``).

        The thread must not outlive the caller: a daemon thread still in DuckDB's C++ code when Python exits is
        unwound by force there, and the process aborts ("FATAL: exception not rethrown") after its exit line.
        Not ``Thread.join``: interrupted, Python 3.11's join can take the thread for ended while it still runs.
        """
        if self.thread is None:
            return
        interrupted = False
        while True:
            try:
                self.done.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
        if interrupted and interruptible:
            raise KeyboardInterrupt

    def finish(self) -> None:
        """Run the work now unless it was started; wait for it; raise its error."""
        if self.thread is None:
            self._run()
        self.wait()
        self.work = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _extract_all(files: Sequence[LogFile], to_read: list[int], cache: ExtractCache | None,
                 workers: int | None, lean: bool, task: _Alongside | None = None,
                 max_size: int = DEFAULT_MAX_LOG_SIZE
                 ) -> Iterator[tuple[list[int], list[Any], tuple[Any, Any]]]:
    """Extract ``files[i]`` for ``i`` in ``to_read`` by groups of consecutive files, in parallel if worth it.

    ``task`` is started in a thread once worker processes exist (see :class:`_Alongside`).
    """
    cache_root = str(cache.root) if cache is not None else None
    runs: list[list[tuple[int, LogFile]]] = []
    for index in to_read:
        if runs and runs[-1][-1][0] == index - 1 and len(runs[-1]) < GROUP_SIZE:
            runs[-1].append((index, files[index]))
        else:
            runs.append([(index, files[index])])
    count = workers if workers is not None else (os.cpu_count() or 1)
    count = max(1, min(count, len(runs)))
    budget = reader_budget(max_size)
    if count == 1 or sum(files[i].size for i in to_read) < PARALLEL_MIN_BYTES:
        for run in runs:
            try:
                with data_budget(budget):  # (only while this process reads: see smtrail_sql.reader.memory)
                    done = _run_group((run, cache_root, lean, None, max_size))
            except MemoryError:
                raise _out_of_budget(max_size) from None
            yield done
        return
    import multiprocessing

    from smtrail_sql.reader.entries import read_entry
    from smtrail_sql.runfiles import scratch_folder

    _preload()
    # Rows come back through files in memory (/dev/shm), memory-mapped here: through the pool's pipe every
    # payload was pickled, copied in 64 KB reads and unpickled, which kept the parent busy for a fifth of the
    # workers' time, on a core they needed. The mapping outlives the file, removed at once. The folder is
    # named after this process and held by it and its workers: if they are killed, the next run removes it.
    with scratch_folder(_spool_parent(), SPOOL_PREFIX) as spool:
        jobs = [(run, cache_root, lean, spool, max_size) for run in runs]
        # fork: workers start in milliseconds with the modules already imported; they touch no DuckDB state
        context = multiprocessing.get_context("fork")
        held = _HeldSignals()
        try:
            with held:
                pool = context.Pool(count, initializer=_start_worker, initargs=(lean, budget))
            with pool:
                held.deliver()
                if task is not None:
                    task.start()
                for indices, reasons, path in _results(pool, pool.imap_unordered(_run_group, jobs), max_size):
                    entry = read_entry(path)
                    os.unlink(path)
                    yield indices, reasons, (entry.points, entry.calls)
        finally:
            # the pool is gone (stopped workers are waited for): a temporary one was writing when it was
            # stopped (Ctrl-C, an error) is removed now rather than by the next run
            if cache is not None:
                cache.remove_leftovers()


def _spool_parent() -> str:
    import tempfile

    return SPOOL_PARENT if os.path.isdir(SPOOL_PARENT) else tempfile.gettempdir()


#: Seconds between two looks at the workers while waiting for a result (see :func:`_results`).
WORKER_CHECK_SECONDS = 0.5


def _out_of_budget(max_size: int) -> LogReadError:
    """The error of a group of files whose rows, not one file, went past the reader's memory budget."""
    from smtrail_sql.reader.memory import reader_budget

    return LogReadError(f"the rows of a group of log files took more than the reader's memory budget "
                        f"({reader_budget(max_size) >> 20} MiB, from SMTRAIL_MAX_LOG_SIZE): raise the limit")


def _results(pool: Any, results: Any, max_size: int = DEFAULT_MAX_LOG_SIZE) -> Iterator[Any]:
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


def _assemble(files: Sequence[LogFile], lists: list[Any], groups: dict[int, tuple[Any, Any]]) -> ReadResult:
    """Put rows in file order and count skips (every copy of an event is kept: see the module docstring).

    ``groups`` holds the tables of files read now, by their first file's index; files answered by their
    cache entry are built here, in runs of consecutive files.
    """
    import pyarrow as pa

    from smtrail_sql.reader.tables import build_tables, empty_tables

    skipped: Counter[str] = Counter()
    skipped_paths: list[tuple[str, str]] = []
    parts: list[tuple[pa.Table, pa.Table]] = []
    pending: list[Any] = []
    for index, (log, entry) in enumerate(zip(files, lists, strict=True)):
        if entry.skip_reason:
            skipped[entry.skip_reason] += 1
            skipped_paths.append((log.path, entry.skip_reason))
        if index in groups:
            if pending:
                parts.append(build_tables(pending))
                pending = []
            parts.append(groups[index])
        elif entry.calls["event_id"] or entry.skip_reason is None and entry.events:
            pending.append(entry)
    if pending:
        parts.append(build_tables(pending))
    parts = [(p, c) for p, c in parts if c.num_rows] or [empty_tables()]
    return ReadResult(pa.concat_tables([p for p, _ in parts]), pa.concat_tables([c for _, c in parts]),
                      skipped=skipped, skipped_paths=skipped_paths)
