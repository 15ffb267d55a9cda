"""Read a selection of log files, through the cache, into the two relations' tables: the story of a read.

1. A snapshot of the whole selection (one memory-mapped file) answers an unchanged selection.
2. Otherwise each file's own cache entry answers for that file, their rows built a run of files at a time.
3. The files left are read, by worker processes when there is enough to share
   (:mod:`~smtrail_sql.reader.workers`), each file decoded (:mod:`~smtrail_sql.reader.decode`) and its rows
   built (:mod:`~smtrail_sql.reader.tables`).
4. The rows are put in file order, chunked over their parts; whether any event was read twice is noted
   (:mod:`~smtrail_sql.reader.copies`).
5. A new snapshot is written, sorted a slice at a time, and read back, memory-mapped.

What the process holds does not grow with the selection: rows come from files on disk, memory-mapped (the
workers' spool, the parts :class:`PartSpool` writes once :data:`HELD_BYTES` are held, the snapshot), which are
the system's file cache, taken back under pressure; lists are built into rows :data:`RUN_VALUES` at a time.

Nothing is deduplicated here: an event delivered twice is two rows, as in the views, and the rendered SQL keeps
one of them on every engine. Every read starts by removing what killed runs left (cache temporaries, row
spools: see :mod:`smtrail_sql.runfiles`).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import smtrail_sql.reader.workers as pool
from smtrail_sql.reader.layout import MOMENTARY_SKIPS, SKIP_DIGEST, LogFile, raise_if_bad
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.reader.lists import FileLists

    Tables = tuple[pa.Table, pa.Table]

#: Rows built in this process (from cache entries) held in memory before further ones go to scratch files
#: (see :class:`PartSpool`).
HELD_BYTES = 64 << 20
#: Values (points and calls) of cached files built into rows at a time: about 60 MB of rows, 30 MB of lists.
RUN_VALUES = 1 << 18


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
    early: Callable[[], object] | None = None,
    max_size: int = DEFAULT_MAX_LOG_SIZE,
) -> ReadResult:
    """Extract the rows of ``files`` (in this order), using and filling ``cache`` when given.

    ``strict`` raises :class:`~smtrail_sql.errors.LogReadError` on the first bad file instead of skipping it.
    ``columns``, when given, are the only columns the caller reads: if it reads none of
    :data:`~smtrail_sql.reader.lists.OPTIONAL_COLUMNS` and there is no cache, they are left NULL, which
    saves a fifth of the reading (with a cache, every column is read: its entries must be whole).
    ``alongside`` is other work to overlap with the reading (setting up the query engine, say): it runs in a
    thread while worker processes read, or after the reading when the files are read in this process; its
    error, if any, is raised here. ``early`` is work that may start at once, in a thread, when the rows come
    from a snapshot (no worker process is forked then; were the snapshot found damaged, it is waited for before
    any is): it must not import pyarrow, which the snapshot's reading may be loading meanwhile. ``max_size``: a
    file larger than this once inflated is skipped as ``too-large``.

    >>> read_log_files([]).points.num_rows
    0
    """
    beside = pool.Alongside(alongside)
    try:
        result = _read(files, cache, workers, progress, strict, columns, max_size, beside.start, early)
    except BaseException:
        beside.abandon()  # (the error on its way out is raised in any case)
        raise
    beside.finish()
    return result


def _read(files: Sequence[LogFile], cache: ExtractCache | None, workers: int | None,
          progress: ReadProgress | None, strict: bool, columns: Collection[str] | None, max_size: int,
          forked: Callable[[], object], early: Callable[[], object] | None = None) -> ReadResult:
    from smtrail_sql.reader.cache import snapshot_key, with_identity
    from smtrail_sql.reader.lists import OPTIONAL_COLUMNS

    pool.remove_dead_spools(cache)
    key = ""
    if cache is not None:
        cache.remove_leftovers()
        files = with_identity(files)
        key = snapshot_key(files)
        started = pool.Alongside(early if cache.has_snapshot(key) else None)
        started.start()  # (no fork follows a snapshot served; one found damaged waits for it below)
        try:
            answered = _from_snapshot(cache, key, len(files), strict)
        except BaseException:
            started.abandon()
            raise
        started.finish()
        if answered is not None:
            return answered

    from smtrail_sql.reader.copies import id_hashes, no_repeats

    reasons: list[str | None] = [None] * len(files)
    hashes: dict[int, Any] = {}  # (each part's event IDs hashed as it comes: see copies.id_hashes)
    with PartSpool(cache) as spool:
        parts, to_read = _cached_runs(files, cache, reasons, spool)
        lean = cache is None and columns is not None and OPTIONAL_COLUMNS.isdisjoint(columns)
        _read_files(files, to_read, reasons, parts, cache, workers, lean, max_size, progress, strict, forked,
                    hashes)
        result = _assemble(files, reasons, parts)
        result.single_copy = no_repeats([hashes[first] if first in hashes else id_hashes(parts[first][1].column(
            "event_id")) for first in parts])
    result.files_read, result.files_cached = len(to_read), len(files) - len(to_read)
    if strict:
        raise_if_bad(result.skipped_paths)
    # a snapshot is kept only if it holds for good: a file skipped for a reason of the moment (unreadable,
    # too large for this limit...) must be tried again by the next query
    if cache is not None and MOMENTARY_SKIPS.isdisjoint(result.skipped):
        _store_snapshot(cache, key, result)
    return result


def _from_snapshot(cache: ExtractCache, key: str, files: int, strict: bool) -> ReadResult | None:
    """The rows of an unchanged selection, from its snapshot; None when there is none."""
    snapshot = cache.load_snapshot(key)
    if snapshot is None:
        return None
    skipped_paths = [(p, r) for p, r in snapshot.meta.get("skipped", [])]
    if strict:
        raise_if_bad(skipped_paths)
    return ReadResult(snapshot.points, snapshot.calls, files_cached=files,
                      skipped=Counter(r for _, r in skipped_paths), skipped_paths=skipped_paths,
                      snapshot_hit=True, single_copy=bool(snapshot.meta.get("single_copy", False)))


def _cached_lists(cache: ExtractCache | None, log: LogFile) -> FileLists | None:
    """The lists of ``log`` from its cache entry, or None (no cache, no entry, or one of another format)."""
    from smtrail_sql.reader.lists import FileLists

    payload = cache.load_file(log) if cache is not None else None
    if payload is None:
        return None
    try:
        return FileLists.loads(payload)
    except ValueError:
        return None


def _cached_runs(files: Sequence[LogFile], cache: ExtractCache | None, reasons: list[str | None],
                 spool: PartSpool) -> tuple[dict[int, Tables], list[int]]:
    """The rows of the files their cache entries answer, built in runs of consecutive files (each at most
    :data:`RUN_VALUES` values: the lists of a whole bucket are never held at once), by each run's first index;
    and the indices of the files left to read. Skip reasons go to ``reasons``."""
    from smtrail_sql.reader.tables import build_tables

    parts: dict[int, Tables] = {}
    to_read: list[int] = []
    pending: list[FileLists] = []
    first = held = 0

    def flush() -> None:
        nonlocal pending, held
        built = build_tables(pending) if pending else None
        pending, held = [], 0  # (the lists are let go before their rows may be spooled)
        if built is not None:
            parts[first] = spool.keep(built)

    for index, log in enumerate(files):
        entry = _cached_lists(cache, log)
        if entry is None:
            flush()
            to_read.append(index)
            continue
        reasons[index] = entry.skip_reason
        if entry.calls["event_id"] or entry.skip_reason is None and entry.events:
            if not pending:
                first = index
            pending.append(entry)
            held += entry.point_count + entry.call_count
            if held >= RUN_VALUES:
                flush()
    flush()
    return parts, to_read


def _read_files(files: Sequence[LogFile], to_read: list[int], reasons: list[str | None],
                parts: dict[int, Tables], cache: ExtractCache | None, workers: int | None, lean: bool,
                max_size: int, progress: ReadProgress | None, strict: bool, forked: Callable[[], object],
                hashes: dict[int, Any]) -> None:
    """Read ``files[i]`` for ``i`` in ``to_read``: their tables go to ``parts`` by each group's first index,
    each file's skip reason to ``reasons[i]``, the hashes of the group's event IDs to ``hashes`` (taken here,
    while the workers read on)."""
    from smtrail_sql.reader.copies import id_hashes

    if progress is not None:
        progress.start(len(to_read), sum(files[i].size for i in to_read))
    try:
        for indices, skips, tables in pool.extract_all(files, to_read, cache, workers, lean, max_size, forked):
            for index, reason in zip(indices, skips, strict=True):
                reasons[index] = reason
                if strict and reason and reason != SKIP_DIGEST:
                    raise_if_bad([(files[index].path, reason)])
            parts[indices[0]] = tables
            hashes[indices[0]] = id_hashes(tables[1].column("event_id"))
            if progress is not None:
                progress.advance(len(indices), sum(files[i].size for i in indices))
    finally:
        if progress is not None:
            progress.finish()


def _assemble(files: Sequence[LogFile], reasons: list[str | None], parts: dict[int, Tables]) -> ReadResult:
    """Put the parts' rows in file order and count skips (every copy of an event is kept: see the module
    docstring). The tables are chunked over the parts: nothing is copied."""
    from smtrail_sql.reader.batch import concat

    skipped: Counter[str] = Counter()
    skipped_paths: list[tuple[str, str]] = []
    for log, reason in zip(files, reasons, strict=True):
        if reason:
            skipped[reason] += 1
            skipped_paths.append((log.path, reason))
    points, calls = concat([parts[first] for first in sorted(parts)])
    return ReadResult(points, calls, skipped=skipped, skipped_paths=skipped_paths)


class PartSpool:
    """Where the rows built in this process go: kept in memory up to :data:`HELD_BYTES`, then each further part
    written to a scratch file beside the workers' spool and memory-mapped back (the system's file cache, which
    it takes back under pressure): the rows of a bucket larger than memory are never all held.

    A context manager: its folder (made on first use) is removed at the end; the mapped parts outlive it.
    """

    def __init__(self, cache: ExtractCache | None) -> None:
        self.cache = cache
        self.held = 0
        self._folder: str | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> PartSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def keep(self, tables: Tables) -> Tables:
        """``tables``, or the same rows mapped from a scratch file once :data:`HELD_BYTES` are held."""
        size = tables[0].nbytes + tables[1].nbytes
        if self.held + size <= HELD_BYTES:
            self.held += size
            return tables
        from smtrail_sql.reader.entries import read_entry, write_entry
        from smtrail_sql.runfiles import SPOOL_PREFIX, scratch_folder

        if self._folder is None:
            self._folder = self._stack.enter_context(scratch_folder(pool.spool_parent(self.cache), SPOOL_PREFIX))
        path = os.path.join(self._folder, "part.arrows")
        try:
            with open(path, "w+b") as handle:  # (streamed: no copy of the rows in memory)
                write_entry(handle, *tables, {}, "")
            entry = read_entry(path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return entry.points, entry.calls


def _store_snapshot(cache: ExtractCache, key: str, result: ReadResult) -> None:
    """Write the rows of the selection as its snapshot, and hand back the rows as written, memory-mapped: the
    tables built here are freed, DuckDB scans the snapshot's batches in parallel, and the next read of this
    selection gets these very tables back. The points are written grouped by series, slice by slice (see
    :func:`~smtrail_sql.reader.tables.series_slices`)."""
    from smtrail_sql.reader.tables import series_slices

    cache.store_snapshot(key, series_slices(result.points), result.calls,
                         {"skipped": result.skipped_paths, "single_copy": result.single_copy})
    stored = cache.load_snapshot(key)
    if stored is not None:
        result.points, result.calls = stored.points, stored.calls
