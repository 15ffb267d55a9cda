"""The two relations' Arrow tables, built from the lists of many files at once, every per-value rule vectorised.

Each rule of :mod:`smtrail_sql.reader.rules` that a column needs is applied over whole columns (see
:mod:`~smtrail_sql.reader.vectorised`). Each point has its 1-based ``point_index`` in ``metricData``; every
copy of an event is kept. Points and calls the C scanner packed (:class:`~smtrail_sql.reader.lists.PackedPoints`,
:class:`~smtrail_sql.reader.lists.PackedCalls`) are taken from their buffers (see
:mod:`~smtrail_sql.reader.packed`), to the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

import smtrail_sql.reader.packed as packed
import smtrail_sql.reader.rules as rules
from smtrail_sql.reader.lists import CALL_NAMES, OPTIONAL_COLUMNS, FileLists, PackedCalls
from smtrail_sql.reader.vectorised import DICTIONARY, event_times, from_numpy, numbers, point_times, strings
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS

_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
                "TIMESTAMP": pa.timestamp("us")}
_PLAIN_STRINGS = {"event_id"}


def _arrow_schema(columns: dict[str, str], plain: set[str]) -> pa.Schema:
    return pa.schema([
        pa.field(name, DICTIONARY if sql == "VARCHAR" and name not in plain else _ARROW_TYPES[sql])
        for name, sql in columns.items()
    ])


#: Arrow schemas of the two relations, column for column those of :mod:`smtrail_sql.schema` (timestamps in
#: microseconds, DuckDB's TIMESTAMP, always whole milliseconds).
POINT_SCHEMA = _arrow_schema(METRIC_POINT_COLUMNS, set())
CALL_SCHEMA = _arrow_schema(METRIC_CALL_COLUMNS, _PLAIN_STRINGS)


def empty_tables() -> tuple[pa.Table, pa.Table]:
    """Zero-row tables with the two schemas (built from no batches: ``Schema.empty_table`` imports pandas)."""
    return pa.Table.from_batches([], POINT_SCHEMA), pa.Table.from_batches([], CALL_SCHEMA)


def build_tables(parts: Sequence[FileLists], *, lean: bool = False) -> tuple[pa.Table, pa.Table]:
    """The points and calls of several files as Arrow tables (in the order given), with the view's types.

    Each point's call-level columns are dictionary arrays over the calls' values, indexed by the point's call:
    in particular ``points.event_id.indices`` are row numbers in ``calls``. ``lean`` makes every one of the
    :data:`OPTIONAL_COLUMNS` NULL, whatever the parts hold (some may have come through the full path).
    """
    import numpy as np

    parts = [p for p in parts if p.skip_reason is None]
    if not parts:
        return empty_tables()
    packs = [p.packed for p in parts if p.packed is not None]
    call_packs = [p.packed_calls for p in parts if p.packed_calls is not None]
    if (packs or call_packs) and (any((p.packed is None and p.names) or (p.packed_calls is None and p.call_count)
                                      for p in parts)  # (some are lists: all as lists;
                                  or _past_offsets(packs, call_packs)):  # texts past int32 offsets, too)
        parts, packs, call_packs = [p.unpacked() for p in parts], [], []
    kept_names = [name for name in CALL_NAMES if not (lean and name in OPTIONAL_COLUMNS)]
    if call_packs:
        call_count = sum(pack.size for pack in call_packs)
        call_columns, runs = packed.call_columns(call_packs, kept_names)
    else:
        lists = _call_lists(parts, kept_names)
        call_count = len(lists["event_id"])
        call_columns = {name: _call_column(name, lists[name]) for name in kept_names}
        runs = np.asarray([points for part in parts for points in part.call_points], dtype=np.int64)
    calls = pa.table({name: call_columns.get(name, pa.nulls(call_count, CALL_SCHEMA.field(name).type))
                      for name in CALL_NAMES}, schema=CALL_SCHEMA)
    # each call's points follow one another, in call order: the owner of each point, and its position in the
    # call's metricData, by run lengths
    owners = np.repeat(np.arange(call_count, dtype=np.int32), runs)
    indices = from_numpy(owners, pa.int32())
    columns: dict[str, pa.Array] = {}
    for name in METRIC_POINT_COLUMNS:
        if name == "point_index":
            starts = np.cumsum(runs) - runs
            columns[name] = from_numpy(np.arange(len(owners), dtype=np.int64) - np.repeat(starts, runs) + 1,
                                       pa.int64())
        elif name in packed.POINT_COLUMNS and packs:
            columns[name] = packed.POINT_COLUMNS[name](packs)
        elif name == "metric_name":
            columns[name] = strings([n for part in parts for n in part.names], DICTIONARY)
        elif name == "value":
            columns[name] = numbers([v for part in parts for v in part.values], pa.float64(), rules.decoded_value)
        elif name == "step":
            columns[name] = numbers([v for part in parts for v in part.steps], pa.int64(), rules.decoded_step)
        elif name == "metric_time":
            columns[name] = point_times([t for part in parts for t in part.point_times])
        elif lean and name in OPTIONAL_COLUMNS:
            columns[name] = pa.nulls(len(indices), POINT_SCHEMA.field(name).type)
        else:
            column = calls.column(name).combine_chunks()
            if name == "event_id":  # a call's points share its id: index the calls' ids, no hashing
                columns[name] = pa.DictionaryArray.from_arrays(indices, column)
            else:
                columns[name] = _spread(column, owners)
    return pa.table(columns, schema=POINT_SCHEMA), calls


def _call_lists(parts: Sequence[FileLists], names: Sequence[str]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for part in parts:
        for name in names:
            columns[name].extend(part.calls[name])
    return columns


def _past_offsets(packs: Sequence[Any], call_packs: Sequence[PackedCalls]) -> bool:
    """Whether a packed text column of a group would pass Arrow's int32 offsets: it is built as lists then."""
    limit = 1 << 31
    return (sum(len(pack.texts) for pack in packs) >= limit
            or any(sum(len(pack.texts[at][2]) for pack in call_packs) >= limit for at in range(len(
                call_packs[0].texts) if call_packs else 0)))


def series_order(points: pa.Table) -> pa.Table:
    """The points grouped by series: trial component, metric, then step and time.

    Row order means nothing to SQL, but the templates partition and sort by exactly these columns, and DuckDB's
    window sorts run about a third faster over rows that already come in that order (0.34 s to 0.22 s for
    ``metric-summary`` over 830,000 points). Sorting on dictionary codes groups equal values without comparing
    strings; it costs about 0.3 s, paid once when a snapshot is written.
    """
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


#: Points sorted at a time by :func:`series_slices`: a snapshot's writing holds one slice's sorted copy.
SORT_ROWS = 1 << 18


def series_slices(points: pa.Table) -> Iterator[pa.Table]:
    """The points in slices of at most :data:`SORT_ROWS` rows, each grouped by series (:func:`series_order`):
    the whole selection in one when it is no larger, slice after slice otherwise, so that sorting a bucket
    larger than memory never holds a sorted copy of all of it (one slice, about 60 MB, at most)."""
    if points.num_rows <= SORT_ROWS:
        yield series_order(points)
        return
    for start in range(0, points.num_rows, SORT_ROWS):
        yield series_order(points.slice(start, SORT_ROWS))


def _spread(column: pa.Array, owners: Any) -> pa.Array:
    """``column[owners]``: each call's value on each of its points, for a dictionary or timestamp column.

    Speed trick: taken with numpy over the column's own buffers (``owners``: an int32 array), with
    :func:`_from_numpy`, rather than ``column.take``, which needs :mod:`pyarrow.compute`: workers never import
    it, and a group of files costs less (one worker, 320 bench files: 1.48 s of CPU with ``take`` and
    ``pa.array``, 1.38 s this way, and 0.055 s more at each worker's start).
    """
    import numpy as np

    source = column.indices if isinstance(column, pa.DictionaryArray) else column
    width = 4 if isinstance(column, pa.DictionaryArray) else 8  # int32 codes, int64 microseconds
    offset, size = source.offset, len(source)
    values = np.frombuffer(source.buffers()[1], np.int32 if width == 4 else np.int64, size, offset * width)[owners]
    mask = None
    if source.null_count:
        valid = np.unpackbits(np.frombuffer(source.buffers()[0], np.uint8), bitorder="little")
        mask = ~valid[offset:offset + size].astype(bool)[owners]
        values[mask] = 0  # (a NULL's slot holds anything: any valid code will do under the mask)
    if isinstance(column, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(from_numpy(values, pa.int32(), mask), column.dictionary)
    return from_numpy(values, column.type, mask)


def _call_column(name: str, values: list[Any]) -> pa.Array:
    arrow_type = CALL_SCHEMA.field(name).type
    if name == "event_time":
        return event_times(values)
    if name == "point_count":
        return pa.array(values, pa.int64())
    return strings(values, arrow_type)



