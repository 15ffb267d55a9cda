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

    The IDs' hashes, chunk by chunk, sorted in one array: 0.1 s for 250,000 calls, where :mod:`pyarrow.compute`
    costs as much to import and as much again to count them (and a trail with 1% of metric events has few calls
    to look at). Only 8 bytes a call are held, never a list or a set of every ID. Two equal hashes (equal IDs,
    or, once in billions of calls, two IDs that collide) answer False, which only costs the query its
    deduplication, never a wrong row.

    >>> import pyarrow as pa
    >>> each_event_once(pa.table({"event_id": ["a", "b", None, None]}))
    True
    >>> each_event_once(pa.table({"event_id": ["a", "a"]}))
    False
    """
    import numpy as np

    column = calls.column("event_id")
    hashes = np.empty(len(column) - column.null_count, dtype=np.int64)
    filled = 0
    for chunk in column.chunks:
        ids = len(chunk) - chunk.null_count
        hashes[filled:filled + ids] = np.fromiter((hash(id_) for id_ in chunk.to_pylist() if id_ is not None),
                                                  dtype=np.int64, count=ids)
        filled += ids
    hashes.sort()
    return not bool((hashes[1:] == hashes[:-1]).any())
