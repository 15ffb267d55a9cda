"""How a query's values read as text and as JSON, alike in every output format and in Arrow's string columns."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any

from smtrail_sql.window import naive_utc


def json_value(value: Any) -> Any:
    """A value as JSON: timestamps ISO-8601 with ``Z``; NaN and infinities ``null`` (JSON has none)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return naive_utc(value).isoformat() + "Z"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def text_value(value: Any) -> str:
    """A value as lossless text for CSV/TSV/Markdown: NULL is empty, floats keep every digit (``repr``)."""
    kind = type(value)  # (the usual values first, told by their exact type: a cell at a time, it counts)
    if kind is float:
        return repr(value)
    if kind is str or kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return naive_utc(value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(json_value(value), ensure_ascii=False)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


#: Significant digits a table shows of a float: enough to tell 0.047525 from 0.047526, few enough to read.
SIGNIFICANT_DIGITS = 6


def display_number(value: float) -> str:
    """A float for eyes, formatted on its own: six significant digits, digits grouped, no trailing zeros.

    A non-zero value never reads as zero: below 1e-4 it is written in scientific notation, as it is from 1e15
    on; from 1e6 to 1e15 it is shown whole (every integer digit, rounded to the unit) rather than with zeros
    standing in for digits.

    >>> [display_number(v) for v in (0.000358486, 106.4, 2.302585092994046, 0.5, 1e-05, 1234567.89, 999999.7)]
    ['0.000358486', '106.4', '2.30259', '0.5', '1e-05', '1,234,568', '1,000,000']
    >>> display_number(float("nan")), display_number(float("-inf")), display_number(-0.0)
    ('NaN', '-inf', '0')
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    size = abs(value)
    if size == 0:
        return "0"
    if size < 1e-4 or size >= 1e15:
        mantissa, _, exponent = f"{value:.{SIGNIFICANT_DIGITS - 1}e}".partition("e")
        return f"{_strip_zeros(mantissa)}e{exponent}"
    if size >= 10**SIGNIFICANT_DIGITS:
        return f"{value:,.0f}"
    # "g" keeps fixed notation below 10**SIGNIFICANT_DIGITS and from 1e-4, and drops trailing zeros itself;
    # a value that rounds up to 10**SIGNIFICANT_DIGITS (999999.7) is shown whole instead of as 1e+06
    text = f"{value:,.{SIGNIFICANT_DIGITS}g}"
    return f"{value:,.0f}" if "e" in text else text


def display_dollars(value: float) -> str:
    """An amount in US dollars for eyes: cents from one cent up, else three significant digits of a cent.

    >>> [display_dollars(v) for v in (1234.5, 0.05, 0.00012, 4.8e-06, 0.0)]
    ['$1,234.50', '$0.05', '$0.00012', '$0.0000048', '$0.00']
    """
    if not math.isfinite(value):
        return display_number(value)
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 0.01 or size == 0:
        return f"{sign}${size:,.2f}"
    decimals = 2 - math.floor(math.log10(size))  # three significant digits
    return f"{sign}${_strip_zeros(f'{size:.{decimals}f}')}"


def _strip_zeros(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number
