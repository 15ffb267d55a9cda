"""Copies of events: whether any event was read twice.

The reader keeps every copy of an event it reads (a redelivery, two trails, overlapping bucket copies): the
rendered SQL keeps one row per ``(event_id, point_index)``, on every engine. When no event ID appears twice
among the calls, that deduplication changes nothing, and the local engine runs the query without it
(:attr:`~smtrail_sql.reader.pipeline.ReadResult.single_copy`, kept in the snapshot with the rows; the query's
other form is :attr:`~smtrail_sql.render.RenderedQuery.single_copy_expression`).

Speed trick: it spares DuckDB a window function over every point. ``metric-summary`` over the 830,000 points of
``bench/bench_local.py``, warm, end to end in the CLI: 1.03-1.25 s with it, 1.34-1.88 s without, and the
process's peak 287 MB instead of 456 MB. The check itself costs one ``count_distinct`` when rows are read anew.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def each_event_once(calls: pa.Table) -> bool:
    """Whether no event ID appears twice among the calls (IDs that are NULL are never copies of one another).

    A set of the IDs, in Python: 0.1 s for 250,000 calls, where :mod:`pyarrow.compute` costs as much to import
    and as much again to count them (and a trail with 1% of metric events has few calls to look at).

    >>> import pyarrow as pa
    >>> each_event_once(pa.table({"event_id": ["a", "b", None, None]}))
    True
    >>> each_event_once(pa.table({"event_id": ["a", "a"]}))
    False
    """
    column = calls.column("event_id")
    ids = set(column.to_pylist())
    return bool(len(ids) - (None in ids) == len(column) - column.null_count)
