"""The rules of :mod:`smtrail_sql.reader.rules` over whole columns: numbers through Arrow's conversion in C, times
(``timestamp`` of a point, ``eventTime`` of a call) by the time rule over numpy arrays, to the millisecond
(epoch milliseconds at or above :data:`~smtrail_sql.schema.EPOCH_MILLIS_THRESHOLD`, epoch seconds below it, or
a strict ISO-8601 time). :mod:`~smtrail_sql.reader.tables` builds the rows with them.
"""

from __future__ import annotations

from itertools import compress, count, repeat
from typing import Any

import pyarrow as pa

import smtrail_sql.reader.rules as rules
from smtrail_sql.schema import EPOCH_MILLIS_THRESHOLD

#: String columns with few distinct values per file are dictionary-encoded: the cache stays small and DuckDB
#: still sees VARCHAR.
DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def from_numpy(values: Any, arrow_type: pa.DataType, invalid: Any = None) -> pa.Array:
    """``pa.array(values, arrow_type, mask=invalid)`` for a numpy array of ``arrow_type``'s width, over its
    memory: ``pa.array`` first asks whether it is a masked array, and that imports ``numpy.ma`` (0.03 s in
    every worker)."""
    import numpy as np

    nulls = int(np.count_nonzero(invalid)) if invalid is not None else 0
    validity = pa.py_buffer(np.packbits(~invalid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(np.ascontiguousarray(values))],
                                 null_count=nulls)


def strings(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    """Strings (dictionary-encoded when asked, which Arrow does while converting: ten times cheaper than
    encoding afterwards). Both paths give only text or None; anything else would be a bug: NULL, not a crash."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([v if isinstance(v, str) else None for v in values], arrow_type)


def event_times(values: list[Any]) -> pa.Array:
    """``eventTime`` texts by the time rule, to the millisecond."""
    millis, valid = text_millis(values)
    return from_numpy(millis * 1000, pa.timestamp("us"), ~valid)


def numbers(values: list[Any], arrow_type: pa.DataType, convert: Any) -> pa.Array:
    """Numbers both paths give as the rules want them (floats, finite; ints), converted by Arrow in C; a list
    Arrow refuses (an int beyond a BIGINT, from the typed path) goes through ``convert``, value by value."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([convert(v) for v in values], arrow_type)


def number_millis(numbers: Any) -> tuple[Any, Any]:
    """Point times that are numbers (NaN for none) by the time rule: epoch milliseconds, and whether valid."""
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.where(numbers >= EPOCH_MILLIS_THRESHOLD, numbers, numbers * 1000.0)
        millis = round_half_away(scaled)
        valid = (millis >= rules.MIN_MILLIS) & (millis < rules.MAX_MILLIS)  # NaN and inf compare false: NULL
    millis[~valid] = 0
    return millis.astype(np.int64), valid


def point_times(values: list[Any]) -> pa.Array:
    """Point timestamps by the time rule: numbers (floats: the double of the number as written) vectorised,
    texts apart (see :func:`text_millis`)."""

    if values and type(values[0]) is str:  # times as text (the demo's, some SDKs'): perhaps no number at all
        try:
            texts = pa.array(values, pa.string())  # (text or None only: else a number is among them)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            texts = None
        if texts is not None:
            millis, valid = text_millis(values, texts)
            return from_numpy(millis * 1000, pa.timestamp("us"), ~valid)
    try:
        array = pa.array(values, pa.float64())  # no text among them: the usual case, no look at each
        positions: list[int] = []
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        positions = list(compress(count(), map(isinstance, values, repeat(str))))
        numbers = values.copy()
        for position in positions:
            numbers[position] = None
        array = pa.array(numbers, pa.float64())
    result, valid = number_millis(array.to_numpy(zero_copy_only=False))  # (a NULL is NaN)
    if positions:
        from_texts, text_valid = text_millis([values[p] for p in positions])
        result[positions] = from_texts
        valid[positions] = text_valid
    return from_numpy(result * 1000, pa.timestamp("us"), ~valid)


def round_half_away(numbers: Any) -> Any:
    """:func:`rules.round_half_away` over a float array, exactly (``|x| - floor(|x|)`` is exact)."""
    import numpy as np

    magnitude = np.abs(numbers)
    floor = np.floor(magnitude)
    return np.copysign(np.where(magnitude - floor >= 0.5, floor + 1.0, floor), numbers)


#: Positions of the digits in ``YYYY-MM-DDTHH:MM:SSZ``, CloudTrail's own form of a time.
DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]


def second_millis(chars: Any) -> tuple[Any, Any]:
    """Rows of bytes that start ``YYYY-MM-DD[T ]HH:MM:SS``: whether each does (a real date and time), and its
    epoch milliseconds."""
    import numpy as np

    digits = (chars[:, DIGITS] - 48).astype(np.int64)  # (a byte below '0' wraps around, above 9)
    ok = (digits <= 9).all(axis=1) & (chars[:, 4] == 45) & (chars[:, 7] == 45) & (chars[:, 13] == 58)
    ok &= ((chars[:, 10] == 84) | (chars[:, 10] == 32)) & (chars[:, 16] == 58)
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day = digits[:, 4] * 10 + digits[:, 5], digits[:, 6] * 10 + digits[:, 7]
    hour, minute = digits[:, 8] * 10 + digits[:, 9], digits[:, 10] * 10 + digits[:, 11]
    second = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.asarray(rules.MONTH_DAYS)[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # days from 1970-01-01 (H. Hinnant's days_from_civil, as rules.days_from_civil)
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = era * 146097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year - 719468
    return ok, (days * 86400 + hour * 3600 + minute * 60 + second) * 1000


def text_millis(texts: list[Any] | None, array: pa.Array | None = None) -> tuple[Any, Any]:
    """Texts (or None) by the time rule, as epoch milliseconds and whether each is a time (numpy arrays);
    ``array``: the texts as an Arrow string array, when the caller has it (then ``texts`` may be None).

    CloudTrail's own form, ``YYYY-MM-DDTHH:MM:SSZ``, and the same with milliseconds (``...SS.fffZ``) are
    checked and computed over the bytes with numpy (no Arrow cast: it takes forms the rule rejects; one worker
    reading 320 bench files spends 2.52 s of CPU with the rule's Python for each text, 1.38 s this way); any
    other text goes through :func:`rules.time_millis`.
    """
    import numpy as np

    size = len(texts) if texts is not None else len(array)  # type: ignore[arg-type]
    millis = np.zeros(size, dtype=np.int64)
    valid = np.zeros(size, dtype=bool)
    if not size:
        return millis, valid
    if array is None:
        array = strings(texts or [], pa.string())
    offsets = np.frombuffer(array.buffers()[1], np.int32, size + 1, array.offset * 4)
    lengths = np.diff(offsets)
    done = np.zeros(size, dtype=bool)
    data = np.frombuffer(array.buffers()[2], np.uint8) if array.buffers()[2] is not None else None
    for length in (20, 24):  # ...SSZ and ...SS.fffZ (the SDKs' and the demo's form)
        rows = np.flatnonzero(lengths == length)
        if not rows.size or data is None:
            continue
        chars = data[offsets[rows][:, None] + np.arange(length)]
        ok, stamp = second_millis(chars)
        ok &= chars[:, length - 1] == 90  # Z
        if length == 24:
            fraction = (chars[:, 20:23] - 48).astype(np.int64)  # (a byte below '0' wraps around, above 9)
            ok &= (chars[:, 19] == 46) & (fraction <= 9).all(axis=1)
            stamp = stamp + fraction[:, 0] * 100 + fraction[:, 1] * 10 + fraction[:, 2]
        ok &= (stamp >= rules.MIN_MILLIS) & (stamp < rules.MAX_MILLIS)
        good = rows[ok]
        millis[good] = stamp[ok]
        valid[good] = True
        done[good] = True
    if array.null_count:
        done |= np.unpackbits(np.frombuffer(array.buffers()[0], np.uint8), count=array.offset + size,
                              bitorder="little")[array.offset:] == 0  # (None: no time)
    for position in np.flatnonzero(~done).tolist():  # any other form: the rule itself
        text = texts[position] if texts is not None else array[position].as_py()
        moment = rules.time_millis(text) if isinstance(text, str) else None
        if moment is not None:
            millis[position] = moment
            valid[position] = True
    return millis, valid
