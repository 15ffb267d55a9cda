"""SQL type names, as engines report them, sorted into the few families that output and plotting care about.

DuckDB says ``BIGINT`` and ``TIMESTAMP``; Athena ``bigint`` and ``timestamp(3)``; both say ``DECIMAL(p,s)``.
Every writer decides how to show or store a value from its family alone.
"""

from __future__ import annotations

import re
from typing import Final, Literal

TypeFamily = Literal["int", "float", "decimal", "timestamp", "date", "bool", "string"]

_INT_TYPES: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
     "UBIGINT", "INT1", "INT2", "INT4", "INT8", "LONG"}
)
_FLOAT_TYPES: Final = frozenset({"DOUBLE", "REAL", "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE PRECISION"})
_DECIMAL: Final = re.compile(r"^(?:DECIMAL|NUMERIC)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")


def type_family(sql_type: str) -> TypeFamily:
    """The family of a SQL type name, case and precision ignored; anything unknown is ``string``.

    >>> type_family("timestamp(3)"), type_family("BIGINT"), type_family("DECIMAL(18,3)"), type_family("ARRAY")
    ('timestamp', 'int', 'decimal', 'string')
    """
    name = sql_type.strip().upper()
    if name in _INT_TYPES:
        return "int"
    if name in _FLOAT_TYPES:
        return "float"
    if _DECIMAL.match(name):
        return "decimal"
    if name.startswith("TIMESTAMP"):
        return "timestamp"
    if name == "DATE":
        return "date"
    if name in {"BOOLEAN", "BOOL"}:
        return "bool"
    return "string"


def decimal_precision(sql_type: str) -> tuple[int, int]:
    """Precision and scale of a ``DECIMAL(p,s)`` type (DuckDB's default ``(18,3)`` when not given).

    >>> decimal_precision("decimal(10, 2)")
    (10, 2)
    """
    match = _DECIMAL.match(sql_type.strip().upper())
    if not match or not match.group(1):
        return 18, 3
    return int(match.group(1)), int(match.group(2) or 0)
