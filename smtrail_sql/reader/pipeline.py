"""Read a selection of log files, through the cache, into the two relations' tables: the story of a read.

1. A snapshot of the whole selection (one memory-mapped file) answers an unchanged selection.
2. Otherwise each file's own cache entry answers for that file.
3. The files left are read, by worker processes when there is enough to share
   (:mod:`~smtrail_sql.reader.workers`), each file decoded (:mod:`~smtrail_sql.reader.decode`) and its rows
   built (:mod:`~smtrail_sql.reader.tables`).
4. The rows are put in file order; whether any event was read twice is noted
   (:mod:`~smtrail_sql.reader.copies`).
5. A new snapshot is written and read back, memory-mapped.

Nothing is deduplicated here: an event delivered twice is two rows, as in the views, and the rendered SQL keeps
one of them on every engine. Every read starts by removing what killed runs left (cache temporaries, row
spools in ``/dev/shm``: see :mod:`smtrail_sql.runfiles`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import smtrail_sql.reader.workers as pool
from smtrail_sql.reader.layout import MOMENTARY_SKIPS, SKIP_DIGEST, LogFile, raise_if_bad
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.reader.lists import FileLists


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

    pool.remove_dead_spools()
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

    lists = [_cached_lists(cache, log) for log in files]
    to_read = [index for index, entry in enumerate(lists) if entry is None]
    lean = cache is None and columns is not None and OPTIONAL_COLUMNS.isdisjoint(columns)
    groups = _read_files(files, to_read, lists, cache, workers, lean, max_size, progress, strict, forked)

    result = _assemble(files, lists, groups)
    result.files_read, result.files_cached = len(to_read), len(files) - len(to_read)
    if strict:
        raise_if_bad(result.skipped_paths)
    from smtrail_sql.reader.copies import each_event_once

    result.single_copy = each_event_once(result.calls)
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


def _read_files(files: Sequence[LogFile], to_read: list[int], lists: list[FileLists | None],
                cache: ExtractCache | None, workers: int | None, lean: bool, max_size: int,
                progress: ReadProgress | None, strict: bool, forked: Callable[[], object]
                ) -> dict[int, tuple[pa.Table, pa.Table]]:
    """Read ``files[i]`` for ``i`` in ``to_read``: their tables by each group's first index; each file's skip
    reason goes to ``lists[i]`` (its rows are in the tables)."""
    from smtrail_sql.reader.lists import FileLists

    if progress is not None:
        progress.start(len(to_read), sum(files[i].size for i in to_read))
    groups: dict[int, tuple[pa.Table, pa.Table]] = {}
    try:
        for indices, reasons, tables in pool.extract_all(files, to_read, cache, workers, lean, max_size, forked):
            for index, reason in zip(indices, reasons, strict=True):
                lists[index] = FileLists(reason)
                if strict and reason and reason != SKIP_DIGEST:
                    raise_if_bad([(files[index].path, reason)])
            groups[indices[0]] = tables
            if progress is not None:
                progress.advance(len(indices), sum(files[i].size for i in indices))
    finally:
        if progress is not None:
            progress.finish()
    return groups


def _assemble(files: Sequence[LogFile], lists: list[FileLists | None],
              groups: dict[int, tuple[pa.Table, pa.Table]]) -> ReadResult:
    """Put rows in file order and count skips (every copy of an event is kept: see the module docstring).

    ``groups`` holds the tables of files read now, by their first file's index; files answered by their
    cache entry are built here, in runs of consecutive files.
    """
    from smtrail_sql.reader.batch import concat
    from smtrail_sql.reader.tables import build_tables

    skipped: Counter[str] = Counter()
    skipped_paths: list[tuple[str, str]] = []
    parts: list[tuple[pa.Table, pa.Table]] = []
    pending: list[FileLists] = []
    for index, (log, entry) in enumerate(zip(files, lists, strict=True)):
        assert entry is not None  # (each file was answered by its entry or read)
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
    points, calls = concat(parts)
    return ReadResult(points, calls, skipped=skipped, skipped_paths=skipped_paths)


def _store_snapshot(cache: ExtractCache, key: str, result: ReadResult) -> None:
    """Write the rows of the selection as its snapshot, and hand back the rows as written, memory-mapped: the
    tables built here are freed, DuckDB scans the snapshot's batches in parallel, and the next read of this
    selection gets these very tables back."""
    from smtrail_sql.reader.tables import series_order

    result.points = series_order(result.points)
    cache.store_snapshot(key, result.points, result.calls,
                         {"skipped": result.skipped_paths, "single_copy": result.single_copy})
    stored = cache.load_snapshot(key)
    if stored is not None:
        result.points, result.calls = stored.points, stored.calls
