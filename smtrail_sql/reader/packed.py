"""Arrow columns from the C scanner's buffers (:class:`~smtrail_sql.reader.lists.PackedPoints`,
:class:`~smtrail_sql.reader.lists.PackedCalls`): the very columns, dictionaries included, that
:mod:`~smtrail_sql.reader.tables` builds from the typed path's lists, with no Python object a value.

Each file's buffers are taken as they are (they are in this machine's byte order: the scanner wrote them here);
a group's dictionary columns rank the files' own entries by first appearance, the order
:func:`~smtrail_sql.reader.vectorised.strings` gives lists (by the scanner's ``unify``, or in Python).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

import smtrail_sql.reader.native as native
import smtrail_sql.reader.rules as rules
from smtrail_sql.reader.lists import (
    NO_MILLIS,
    PACKED_TEXT_COLUMNS,
    PARTITION_COLUMNS,
    PackedCalls,
    PackedPoints,
    PackedText,
)
from smtrail_sql.reader.vectorised import from_numpy, number_millis, text_millis


def _joined(packs: Sequence[Any], field: str, dtype: Any) -> Any:
    import numpy as np

    return np.concatenate([np.frombuffer(getattr(pack, field), dtype) for pack in packs])


def _names(packs: Sequence[PackedPoints]) -> pa.Array:
    """The names of packed points, dictionary-encoded as :func:`~smtrail_sql.reader.vectorised.strings`
    encodes lists (first seen, first)."""
    import numpy as np

    ranks: dict[str, int] = {}
    codes = []
    for pack in packs:  # each file's codes to the ranks among all files' names (-1, None, to -1)
        ranked = [ranks.setdefault(n, len(ranks)) for n in pack.names] + [-1]
        codes.append(np.asarray(ranked, np.int32)[np.frombuffer(pack.codes, np.int32)])
    joined = np.concatenate(codes)
    invalid = joined < 0
    return pa.DictionaryArray.from_arrays(from_numpy(np.where(invalid, 0, joined), pa.int32(), invalid),
                                          pa.array(list(ranks), pa.string()))


def _numbers(field: str, arrow_type: pa.DataType) -> Callable[[Sequence[PackedPoints]], pa.Array]:
    return lambda packs: from_numpy(_joined(packs, field, arrow_type.to_pandas_dtype()), arrow_type,
                                    _joined(packs, field.rstrip("s") + "_valid", "u1") == 0)


def _times(packs: Sequence[PackedPoints]) -> pa.Array:
    """Point times of packed points by the time rule: the numbers vectorised, the texts in CloudTrail's form as
    the scanner read them, any other text as one Arrow string array."""

    kinds, numbers = _joined(packs, "time_kinds", "u1"), _joined(packs, "time_numbers", "f8")
    result, valid = number_millis(numbers)
    read = kinds == 3  # (the number is the text's epoch milliseconds already)
    result[read], valid[read] = numbers[read].astype(result.dtype), True
    texts = kinds == 2
    if texts.any():
        array = _string_array([(pack.text_ends, pack.texts) for pack in packs], texts)
        times, times_valid = text_millis(None, array)
        result[texts], valid[texts] = times[texts], times_valid[texts]
    return from_numpy(result * 1000, pa.timestamp("us"), ~valid)


def _string_array(files: list[tuple[bytes, bytes]], valid: Any) -> pa.Array:
    """One string array of several files' texts, each file's given by its rows' end offsets (int32) in its
    text; a row not ``valid`` is NULL (its text empty)."""

    return _strings(_joined_ends(files), valid, b"".join(text for _, text in files))


def _joined_ends(files: list[tuple[bytes, bytes]]) -> Any:
    """Several files' end offsets (int32) into their texts, as offsets into the texts joined (int64)."""
    import numpy as np

    ends, base = [], 0
    for file_ends, text in files:
        ends.append(np.frombuffer(file_ends, np.int32).astype(np.int64) + base)
        base += len(text)
    return np.concatenate(ends) if ends else np.zeros(0, np.int64)


def _strings(ends: Any, valid: Any, data: bytes) -> pa.Array:
    """A string array of rows that end at ``ends`` in ``data`` (a NULL row, not ``valid``, is empty)."""
    import numpy as np

    return pa.Array.from_buffers(pa.string(), len(valid), [
        pa.py_buffer(np.packbits(valid, bitorder="little")),
        pa.py_buffer(np.concatenate([np.zeros(1, np.int64), ends]).astype(np.int32)), pa.py_buffer(data)],
        null_count=int(np.count_nonzero(~valid)))


#: The point columns built from packed points.
POINT_COLUMNS: dict[str, Callable[[Sequence[PackedPoints]], pa.Array]] = {
    "metric_name": _names, "value": _numbers("values", pa.float64()), "step": _numbers("steps", pa.int64()),
    "metric_time": _times}


def call_columns(packs: Sequence[PackedCalls], names: Sequence[str]) -> tuple[dict[str, pa.Array], Any]:
    """The call columns ``names`` of packed calls (of :data:`PACKED_TEXT_COLUMNS`, the partition's and
    ``point_count``), and the points each call stored (int64). Speed trick: each column is built once for the
    group, in numpy, not a file at a time (about 10 us each time an Arrow array is made)."""
    import numpy as np

    columns: dict[str, pa.Array] = {}
    for name in names:
        if name in PARTITION_COLUMNS:  # (one value a file)
            at = PARTITION_COLUMNS.index(name)
            ranks: dict[str, int] = {}
            values = [pack.partition[at] for pack in packs]
            file_ranks = [-1 if value is None else ranks.setdefault(value, len(ranks)) for value in values]
            codes = np.repeat(np.asarray(file_ranks, np.int32), [pack.size for pack in packs])
            columns[name] = _coded(codes, list(ranks))
        elif name == "point_count":
            columns[name] = from_numpy(_joined(packs, "point_counts", np.int64), pa.int64())
        else:
            at = PACKED_TEXT_COLUMNS.index(name)
            texts = [PackedText(*pack.texts[at]) for pack in packs]
            codes = np.concatenate([np.frombuffer(text.codes, np.int32) for text in texts])
            columns[name] = (_event_times(packs, codes, texts) if name == "event_time"
                             else _plain(codes, texts) if name == "event_id" else _dictionary(codes, texts))
    return columns, _joined(packs, "call_points", np.int64)


def _event_times(packs: Sequence[PackedCalls], codes: Any, texts: list[PackedText]) -> pa.Array:
    """The calls' ``eventTime`` by the time rule: as the scanner read those in CloudTrail's form, any other text
    by :func:`~smtrail_sql.reader.rules.time_millis` (the rule the vectorised one follows)."""
    import numpy as np

    millis = _joined(packs, "event_millis", np.int64)
    valid = millis != NO_MILLIS
    other = np.flatnonzero(~valid & (codes >= 0))
    if other.size:
        array = _plain(codes, texts)
        for row in other.tolist():
            moment = rules.time_millis(array[row].as_py())
            if moment is not None:
                millis[row], valid[row] = moment, True
    millis[~valid] = 0
    return from_numpy(millis * 1000, pa.timestamp("us"), ~valid)


def _plain(codes: Any, texts: list[PackedText]) -> pa.Array:
    """A packed text column of one entry a call that has a value (``event_id``, ``event_time``), as strings."""
    import numpy as np

    # the k-th call with a value has entry k: its text ends where entry k does, a NULL's (empty) where the one
    # before it did
    valid = codes >= 0
    ends = _joined_ends([(text.ends, text.texts) for text in texts])
    seen = np.cumsum(valid)
    row_ends = np.where(seen > 0, ends[np.maximum(seen - 1, 0)] if len(ends) else 0, 0)
    return _strings(row_ends, valid, b"".join(text.texts for text in texts))


def _dictionary(codes: Any, texts: list[PackedText]) -> pa.Array:
    """One dictionary array of several files' codes (each file's into its own entries, -1 for NULL): the files'
    entries ranked by first appearance, as :func:`~smtrail_sql.reader.vectorised.strings` ranks lists' values
    (by the C scanner's ``unify``; in Python, a file's few entries at a time, where it is not used)."""
    import numpy as np

    unify = native.unifier()
    if unify is not None:
        found, ends, values = unify([(text.ends, text.texts) for text in texts])
        mapping = np.frombuffer(found, np.int32)
        offsets = np.concatenate([np.zeros(1, np.int32), np.frombuffer(ends, np.int32)])
        dictionary: Any = pa.Array.from_buffers(pa.string(), len(offsets) - 1,
                                                [None, pa.py_buffer(offsets), pa.py_buffer(values)])
    else:
        mapping, dictionary = _ranked_entries(texts)
    counts = [len(text.ends) // 4 for text in texts]
    starts = np.cumsum([0, *counts[:-1]]) if counts else np.zeros(0, np.int64)
    row_starts = np.repeat(starts, [len(text.codes) // 4 for text in texts])
    ranked = np.append(mapping, np.int32(-1)).astype(np.int32)[np.where(codes >= 0, codes + row_starts, -1)]
    return _coded(ranked, dictionary)


def _ranked_entries(texts: list[PackedText]) -> tuple[Any, list[str]]:
    """The rank of each of the files' entries among their distinct texts (first seen, first), and those texts."""
    from array import array

    import numpy as np

    ranks: dict[str, int] = {}
    mapping: list[int] = []
    for text in texts:
        whole, start = text.texts.decode("ascii"), 0
        for end in array("i", text.ends):
            mapping.append(ranks.setdefault(whole[start:end], len(ranks)))
            start = end
    return np.asarray(mapping, np.int32), list(ranks)


def _coded(codes: Any, values: Any) -> pa.Array:
    """A dictionary array of ``codes`` (int32, -1 for NULL) into ``values`` (texts, or a string array)."""
    import numpy as np

    invalid = codes < 0
    return pa.DictionaryArray.from_arrays(from_numpy(np.where(invalid, 0, codes), pa.int32(), invalid),
                                          values if isinstance(values, pa.Array) else pa.array(values, pa.string()))
