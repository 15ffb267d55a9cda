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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def each_event_once(calls: pa.Table) -> bool:
    """Whether no event ID appears twice among the calls (IDs that are NULL are never copies of one another).

    A 64-bit hash of each ID, all of them sorted in one array; two equal hashes (equal IDs or, once in billions
    of calls, two IDs that collide) answer False, which only costs the query its deduplication, never a wrong
    row. Only 8 bytes a call are held, never a list or a set of every ID. IDs of one length (CloudTrail's are
    UUIDs) are hashed over the column's bytes with numpy (:func:`_fixed_width_hashes`: 6 ms for the 250,000
    calls of ``bench/bench_local.py``, where :mod:`pyarrow.compute` costs 0.05 s to import and as much again to
    count them); any others by Python's ``hash`` of each (24 ms).

    >>> import pyarrow as pa
    >>> each_event_once(pa.table({"event_id": ["a", "b", None, None]}))
    True
    >>> each_event_once(pa.table({"event_id": ["a", "a"]}))
    False
    >>> each_event_once(pa.table({"event_id": ["ab", "a", "ba", "ab"]}))
    False
    """
    column = calls.column("event_id")
    hashes = _fixed_width_hashes(column)
    if hashes is None:
        hashes = _python_hashes(column)
    hashes.sort()
    return not bool((hashes[1:] == hashes[:-1]).any())


def _python_hashes(column: pa.ChunkedArray) -> Any:
    import numpy as np

    hashes = np.empty(len(column) - column.null_count, dtype=np.int64)
    filled = 0
    for chunk in column.chunks:
        ids = len(chunk) - chunk.null_count
        hashes[filled:filled + ids] = np.fromiter((hash(id_) for id_ in chunk.to_pylist() if id_ is not None),
                                                  dtype=np.int64, count=ids)
        filled += ids
    return hashes


#: An odd 64-bit multiplier (the golden ratio's), to fold an ID's 8-byte words into its hash.
_MULTIPLIER = 0x9E3779B97F4A7C15


def _fixed_width_hashes(column: pa.ChunkedArray) -> Any:
    """A hash of every ID that is not NULL, over the column's bytes; None unless all of them have one length
    (one hash function for the whole column: equal IDs in two chunks must get equal hashes)."""
    import numpy as np

    rows = []
    width = None
    for chunk in column.chunks:
        size = len(chunk)
        if not size or chunk.null_count == size:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], np.int32, size + 1, chunk.offset * 4)
        valid = np.ones(size, dtype=bool)
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], np.uint8), bitorder="little")
            valid = bits[chunk.offset:chunk.offset + size].astype(bool)
        starts = offsets[:-1][valid]
        lengths = offsets[1:][valid] - starts
        width = int(lengths[0]) if width is None else width
        if not (lengths == width).all():
            return None
        data = np.frombuffer(chunk.buffers()[2], np.uint8) if width else np.zeros(0, np.uint8)
        if int(offsets[-1] - offsets[0]) == len(starts) * width:  # (NULLs take no bytes: the IDs are contiguous)
            rows.append(data[offsets[0]:offsets[-1]].reshape(len(starts), width))
        else:
            rows.append(data[starts[:, None] + np.arange(width)])
    if width is None:
        return np.empty(0, dtype=np.uint64)
    words = max(1, -(-width // 8))
    padded = np.zeros((sum(len(r) for r in rows), words * 8), np.uint8)
    padded[:, :width] = np.concatenate(rows)
    view = padded.view(np.uint64)
    hashes = view[:, 0].copy()
    multiplier = np.uint64(_MULTIPLIER)
    for word in range(1, words):
        hashes = hashes * multiplier + view[:, word]  # (wraps around, as a hash should)
    return hashes ^ (hashes >> np.uint64(29))
