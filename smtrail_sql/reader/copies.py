"""Copies of events: whether any event was read twice.

The reader keeps every copy of an event it reads (a redelivery, two trails, overlapping bucket copies): the
rendered SQL keeps one row per ``(event_id, point_index)``, on every engine. When no event ID appears twice
among the calls, that deduplication changes nothing, and the local engine runs the query without it
(:attr:`~smtrail_sql.reader.pipeline.ReadResult.single_copy`, kept in the snapshot with the rows; the query's
other form is :attr:`~smtrail_sql.render.RenderedQuery.single_copy_expression`).

Speed trick: it spares DuckDB a window function over every point. ``metric-summary`` over the 830,000 points of
``bench/bench_local.py``, warm, end to end in the CLI: 1.03-1.25 s with it, 1.34-1.88 s without, and the
process's peak 287 MB instead of 456 MB. The check costs a hash of each call's ID, taken as each part of the
rows arrives while the workers read the rest (:func:`id_hashes`: 40 ms of the bench's metric-heavy read when
taken after it, on one core), and a sort of the hashes at the end (:func:`no_repeats`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def each_event_once(calls: pa.Table) -> bool:
    """Whether no event ID appears twice among the calls (IDs that are NULL are never copies of one another).

    >>> import pyarrow as pa
    >>> each_event_once(pa.table({"event_id": ["a", "b", None, None]}))
    True
    >>> each_event_once(pa.table({"event_id": ["a", "a"]}))
    False
    >>> each_event_once(pa.table({"event_id": ["ab", "a", "ba", "ab"]}))
    False
    """
    return no_repeats([id_hashes(calls.column("event_id"))])


def no_repeats(hashes: list[Any]) -> bool:
    """Whether no hash appears twice among the arrays of :func:`id_hashes` ``hashes`` (of the calls' parts).

    Two equal hashes (equal IDs or, once in billions of calls, two IDs that collide) answer False, which only
    costs the query its deduplication, never a wrong row. Only 8 bytes a call are held, never a list or a set of
    every ID.
    """
    import numpy as np

    joined = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    joined.sort()
    return not bool((joined[1:] == joined[:-1]).any())


def id_hashes(column: pa.ChunkedArray | pa.Array) -> Any:
    """A 64-bit hash (uint64) of every event ID that is not NULL, a function of the ID's bytes alone: the
    hashes of a selection's parts, taken apart (as each part is read), are those of the whole.

    Computed over the column's bytes with numpy, the IDs of each length at once (CloudTrail's are UUIDs, all of
    one length): 6 ms for the 250,000 calls of ``bench/bench_local.py``, where :mod:`pyarrow.compute` costs
    0.05 s to import and as much again to count them.
    """
    import numpy as np
    import pyarrow as pa

    found = []
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        size = len(chunk)
        if not size or chunk.null_count == size:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], np.int32, size + 1, chunk.offset * 4)
        starts, lengths = offsets[:-1], np.diff(offsets)
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], np.uint8), bitorder="little")
            valid = bits[chunk.offset:chunk.offset + size].astype(bool)
            starts, lengths = starts[valid], lengths[valid]
        data = np.frombuffer(chunk.buffers()[2], np.uint8) if chunk.buffers()[2] is not None else np.zeros(0, np.uint8)
        # (CloudTrail's IDs are all of one length: told by the bounds, without np.unique, whose first call
        # imports numpy.ma, 13 ms of a core the workers need)
        low, high = int(lengths.min()), int(lengths.max())
        widths = [low] if low == high else np.unique(lengths).tolist()
        for width in widths:
            rows = starts if len(widths) == 1 else starts[lengths == width]
            if int(offsets[-1] - offsets[0]) == len(rows) * width and len(widths) == 1:  # (contiguous IDs)
                chars = data[offsets[0]:offsets[-1]].reshape(len(rows), width)
            else:
                chars = data[rows[:, None] + np.arange(width)]
            found.append(_hashed(chars, width))
    return np.concatenate(found) if found else np.empty(0, np.uint64)


#: An odd 64-bit multiplier (the golden ratio's), to fold an ID's 8-byte words into its hash.
_MULTIPLIER = 0x9E3779B97F4A7C15


def _hashed(chars: Any, width: int) -> Any:
    """The hash of each row of ``chars`` (IDs of ``width`` bytes): its 8-byte words (zero-padded), folded."""
    import numpy as np

    words = max(1, -(-width // 8))
    padded = np.zeros((len(chars), words * 8), np.uint8)
    padded[:, :width] = chars
    view = padded.view(np.uint64)
    hashes = view[:, 0].copy()
    multiplier = np.uint64(_MULTIPLIER)
    for word in range(1, words):
        hashes = hashes * multiplier + view[:, word]  # (wraps around, as a hash should)
    hashes = hashes * multiplier + np.uint64(width)  # (the length too: "a" and "a\0" are two IDs)
    return hashes ^ (hashes >> np.uint64(29))
