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
