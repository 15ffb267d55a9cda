"""Copies of events: whether any event was read twice.

The reader keeps every copy of an event it reads (a redelivery, two trails, overlapping bucket copies): the
rendered SQL keeps one row per ``(event_id, point_index)``, on every engine. When no event ID appears twice
among the calls, that deduplication changes nothing, and the local engine runs the query without it
(:attr:`~smtrail_sql.reader.pipeline.ReadResult.single_copy`, kept in the snapshot with the rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


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
