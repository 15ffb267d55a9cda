"""The field rules of DDL version 2, value by value: what the views compute from a field's JSON text.

These are the scalar forms of the rules (Trino's reading of the Athena SQL is the reference); the reader's
usual path applies the same rules vectorised (see :mod:`smtrail_sql.reader.tables`), and tests hold both to
these. Values come from :func:`loads`, which keeps what the rules need and a plain decoder loses: the text of
a number as written (``1.50`` is ``'1.50'``), the order of an object's keys and its duplicate keys.

>>> value_of("0.25"), step_of("1e2"), time_millis("2024-05-01T00:00:00.0005Z")
(0.25, 100, 1714521600001)
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from typing import Any

from smtrail_sql.schema import EPOCH_MILLIS_THRESHOLD

#: JSON's number, the whole text (``re.ASCII``: ``[0-9]`` only, never other scripts' digits).
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)
INTEGER = re.compile(r"-?(0|[1-9][0-9]*)", re.ASCII)
#: The only times that are times (groups: 1 year, 2 month, 3 day, 4 hour, 5 minute, 7 second, 9 fraction,
#: 10 zone, 11 offset hours, 13 offset minutes).
ISO_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([01][0-9]|2[0-3]):([0-5][0-9])"
                      r"(:([0-5][0-9])(\.([0-9]+))?)?(Z|[+-]([01][0-9]|2[0-3])(:?([0-5][0-9]))?)?", re.ASCII)
#: Epoch milliseconds of 0001-01-01 and 10000-01-01: a time outside is NULL.
MIN_MILLIS, MAX_MILLIS = -62135596800000, 253402300800000
#: Days of each month in a year that is not a leap year.
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1)


class JsonNumber(str):
    """A JSON number as its text in the file (see :func:`loads`)."""

    __slots__ = ()


class JsonObject(list[tuple[str, Any]]):
    """A JSON object as its ``(key, value)`` pairs, in order, duplicates kept (see :func:`loads`)."""

    __slots__ = ()

    def first(self) -> dict[str, Any]:
        """Keys matched exactly, the first of two equal keys wins (Trino's ``json_extract``)."""
        result: dict[str, Any] = {}
        for key, value in self:
            result.setdefault(key, value)
        return result

    def folded(self) -> dict[str, Any]:
        """Keys matched in any case, the last wins (Hive's JSON SerDe on a record, a struct)."""
        return {key.lower(): value for key, value in self}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """JSON as plain values, but numbers as :class:`JsonNumber` and objects as :class:`JsonObject`.

    ValueError when the text is not JSON (``NaN`` and ``Infinity`` included).

    >>> loads('{"a": 1.50, "a": true}')
    [('a', '1.50'), ('a', True)]
    """
    return json.loads(text, object_pairs_hook=JsonObject, parse_float=JsonNumber, parse_int=JsonNumber,
                      parse_constant=_no_constant)


def json_text(value: Any) -> str:
    """The compact JSON text of a value from :func:`loads` (numbers as written)."""
    if isinstance(value, JsonNumber):
        return str.__str__(value)
    if isinstance(value, JsonObject):
        return "{" + ",".join(f"{json.dumps(k)}:{json_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(json_text, value)) + "]"
    return json.dumps(value)


def scalar_text(value: Any) -> str | None:
    """``json_extract_scalar``: a string's content, a number's text, ``'true'``/``'false'``; else None.

    >>> scalar_text(JsonNumber("1.50")), scalar_text(True), scalar_text([1]), scalar_text(None)
    ('1.50', 'true', None, None)
    """
    if isinstance(value, str):
        return str.__str__(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    return None


def point_scalar_text(value: Any) -> str | None:
    """:func:`scalar_text` of a field of a metric point: the view reads points through a cast of ``metricData`` to
    ``ARRAY(JSON)``, after which Trino writes a number with a fraction or an exponent as Java writes the double
    (``1.50`` is ``'1.5'``, ``1e2`` is ``'100.0'``, ``1E400`` is the string ``'Infinity'``) and an integer as its
    digits.

    >>> point_scalar_text(JsonNumber("1.50")), point_scalar_text(JsonNumber("1.7146074e9")), point_scalar_text("x")
    ('1.5', '1.7146074E9', 'x')
    """
    if isinstance(value, JsonNumber):
        text = str.__str__(value)
        return str(int(text)) if INTEGER.fullmatch(text) else java_double_text(float(text))
    return scalar_text(value)


def java_double_text(number: float) -> str:
    """Java's ``Double.toString``: plain from 1e-3 to 1e7, else ``d.dddE±n``, with the shortest digits.

    >>> java_double_text(100.0), java_double_text(1e-5), java_double_text(-0.0), java_double_text(4503599627370497.0)
    ('100.0', '1.0E-5', '-0.0', '4.503599627370497E15')
    """
    from decimal import Decimal

    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    size = abs(number)
    if size == 0:
        return sign + "0.0"
    shortest = Decimal(repr(size))
    if 1e-3 <= size < 1e7:
        plain = format(shortest, "f")
        return sign + (plain if "." in plain else plain + ".0")
    _, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    power = len(text) + exponent - 1
    text = text.rstrip("0") or "0"
    return f"{sign}{text[0]}.{text[1:] or '0'}E{power}"


def field_text(value: Any) -> str | None:
    """A STRING column as Hive's JSON SerDe reads it: :func:`scalar_text`, and objects and arrays as their
    JSON text.

    >>> field_text(JsonNumber("12345")), field_text(JsonObject([("a", JsonNumber("1"))]))
    ('12345', '{"a":1}')
    """
    if isinstance(value, list):  # (a JsonObject too)
        return json_text(value)
    return scalar_text(value)


def value_of(text: str | None) -> float | None:
    """``value``: a NUMBER whose double is finite; else None."""
    if text is None or NUMBER.fullmatch(text) is None:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def decoded_value(value: Any) -> float | None:
    """:func:`value_of` of a value already decoded (the typed path's float, the generic path's result)."""
    return value if type(value) is float else None


def step_of(text: str | None) -> int | None:
    """``step``: an INTEGER that fits a BIGINT, or a NUMBER whose double is integral and below 2**53.

    >>> step_of("5.0"), step_of("2.5"), step_of("9223372036854775808"), step_of("4503599627370497.0")
    (5, None, None, 4503599627370497)
    """
    if text is None:
        return None
    if INTEGER.fullmatch(text) is not None:
        if len(text) > 20:  # (no int() of a 400-digit text: it could not fit anyway)
            return None
        integer = int(text)
        return integer if _INT64_MIN <= integer <= _INT64_MAX else None
    if NUMBER.fullmatch(text) is None:
        return None
    number = float(text)
    if not math.isfinite(number) or number != math.floor(number) or abs(number) >= 2**53:
        return None
    return int(number)


def decoded_step(step: Any) -> int | None:
    """:func:`step_of` of a step already decoded (the typed path's int, which may not fit a BIGINT).

    >>> decoded_step(5), decoded_step(2**63), decoded_step(True)
    (5, None, None)
    """
    return step if type(step) is int and _INT64_MIN <= step <= _INT64_MAX else None


def round_half_away(number: float) -> int:
    """``sign(x) * floor(|x| + 0.5)`` computed exactly (``round_half_away(0.49999999999999994) == 0``)."""
    magnitude = abs(number)
    floor = math.floor(magnitude)
    rounded = floor + 1 if magnitude - floor >= 0.5 else floor
    return -rounded if number < 0 else rounded


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm; year 0 exists)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return MONTH_DAYS[month - 1] + (month == 2 and leap)


def time_millis(text: str | None) -> int | None:
    """The time rule: epoch milliseconds (UTC) of a NUMBER (milliseconds from 1e11 up, else seconds) or of
    an ISO time (UTC without a zone), within years 1 to 9999; else None.

    >>> time_millis("1714521600000"), time_millis("1714521600.0005"), time_millis("2024-05-01T02:00+02:00")
    (1714521600000, 1714521600001, 1714521600000)
    >>> time_millis("2024-02-30T00:00:00Z"), time_millis("20240501T130000Z"), time_millis("2024-05-01")
    (None, None, None)
    """
    if text is None:
        return None
    if NUMBER.fullmatch(text) is not None:
        number = float(text)
        if not number >= EPOCH_MILLIS_THRESHOLD:
            number *= 1000.0
        if not math.isfinite(number):
            return None
        millis = round_half_away(number)
    else:
        match = ISO_TIME.fullmatch(text)
        if match is None:
            return None
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
            return None
        seconds = days_from_civil(year, month, day) * 86400 + int(match[4]) * 3600 + int(match[5]) * 60
        seconds += int(match[7] or 0)
        if match[11] is not None:
            offset = int(match[11]) * 3600 + int(match[13] or 0) * 60
            seconds -= offset if match[10][0] == "+" else -offset
        millis = seconds * 1000 + round_half_away(float("0." + (match[9] or "0")) * 1000)
    return millis if MIN_MILLIS <= millis < MAX_MILLIS else None


def event_day(event_time: str | None) -> str | None:
    """The ``yyyy/MM/dd`` (UTC) of an ``eventTime`` by the time rule, or None: the delivery day of a file whose
    location does not say (a plain folder's file with another name).

    >>> event_day("2022-12-14T21:53:41-05:00")
    '2022/12/15'
    """
    millis = time_millis(event_time)
    if millis is None:
        return None
    return f"{_EPOCH + timedelta(milliseconds=millis):%Y/%m/%d}"
