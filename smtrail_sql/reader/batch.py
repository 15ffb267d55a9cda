"""One task of the reader: a run of consecutive files to their Arrow rows, each file cached on the way.

The same work runs in a worker process (see :mod:`smtrail_sql.reader.workers`) or in the caller's for a small
selection. One file never fails the others: a file whose bytes or values cannot be read is skipped with its
reason, and the rows of the rest are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtrail_sql.reader.decode import read_log_file
from smtrail_sql.reader.layout import MOMENTARY_SKIPS, SKIP_TOO_LARGE, SKIP_UNDECODABLE, LogFile
from smtrail_sql.reader.lists import FileLists
from smtrail_sql.reader.tables import build_tables, empty_tables
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache

#: Extracted values (points and calls) a reader holds as plain lists before building their Arrow rows.
FLUSH_VALUES = 1 << 20


def extract_group(tasks: list[tuple[int, LogFile]], cache: ExtractCache | None, lean: bool = False,
                  max_size: int = DEFAULT_MAX_LOG_SIZE) -> tuple[list[str | None], tuple[pa.Table, pa.Table]]:
    """Extract a run of consecutive files (``(index, file)`` pairs), cache each, and return each file's skip
    reason (None when read) and their rows, in order.

    ``lean`` (never with a cache) leaves the optional columns NULL (see
    :func:`~smtrail_sql.reader.pipeline.read_log_files`); ``max_size``: a file larger than this once inflated is
    skipped as ``too-large``.
    """
    reasons: list[str | None] = []
    built: list[tuple[pa.Table, pa.Table]] = []
    pending: list[FileLists] = []
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
        held += lists.point_count + lists.call_count
        if held >= FLUSH_VALUES:  # plain lists take several times what their Arrow rows do
            built.append(_build_each(pending, lean, reasons, len(reasons) - len(pending)))
            pending, held = [], 0
    if pending or not built:
        built.append(_build_each(pending, lean, reasons, len(reasons) - len(pending)))
    return reasons, concat(built)


def _build_each(parts: list[FileLists], lean: bool, reasons: list[str | None], first: int
                ) -> tuple[pa.Table, pa.Table]:
    """:func:`~smtrail_sql.reader.tables.build_tables` of consecutive files; if a file's values make it fail
    (none known: the rules give only what Arrow takes; or memory past the reader's budget), the files again
    one by one, a file that fails skipped as ``undecodable`` (``too-large`` for memory), its reason set in
    ``reasons[first + i]``: one file never fails the others."""
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
    return concat(built)


def concat(built: list[tuple[pa.Table, pa.Table]]) -> tuple[pa.Table, pa.Table]:
    """The points and calls of several parts, one after the other (empty tables for none)."""
    import pyarrow as pa

    if len(built) == 1:
        return built[0]
    built = [(p, c) for p, c in built if c.num_rows] or [empty_tables()]
    return pa.concat_tables([p for p, _ in built]), pa.concat_tables([c for _, c in built])
