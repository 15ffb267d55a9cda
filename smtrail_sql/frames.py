"""A :class:`QueryResult` as an Arrow table or a pandas DataFrame, with the SQL types kept.

In a frame, timestamps are UTC-aware (``timestamp[ms, tz=UTC]``, pandas ``datetime64[ms, UTC]``) and the
delivery-day partition ``day`` is a ``date``: the views keep ``day`` as the text ``yyyy/MM/dd`` (the partition
value CloudTrail's folders spell, compared as text by every engine), which a frame has no use for. The rows of a
:class:`QueryResult` themselves stay as the engines return them (naive UTC ``datetime``, ``day`` as text), and
so do files: Parquet output is written from ``to_arrow(result, as_stored=True)``.

pyarrow and pandas are imported only when asked for; a missing one is a :class:`MissingDependencyError` that
says what to install.

>>> from smtrail_sql.result import QueryResult
>>> r = QueryResult(["step", "value"], ["BIGINT", "DOUBLE"], [(1, 0.5), (None, 0.25)])
>>> to_arrow(r).schema.types
[DataType(int64), DataType(double)]
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from smtrail_sql.errors import MissingDependencyError
from smtrail_sql.sqltypes import decimal_precision, type_family
from smtrail_sql.values import text_value
from smtrail_sql.window import aware_utc, day_folder_date, naive_utc

if TYPE_CHECKING:
    from smtrail_sql.result import QueryResult

#: The delivery-day partition column of the views (text ``yyyy/MM/dd``), a ``date`` in frames.
DAY_COLUMN = "day"
_DAY_TEXT = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$")
_PRECISION = re.compile(r"^TIMESTAMP\s*\(\s*(\d+)\s*\)")


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the package to install.

    >>> require("json").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        raise MissingDependencyError(top, extra or top) from error


def arrow_type(sql_type: str) -> Any:
    """The Arrow type a SQL column is stored as: ``TIMESTAMP`` -> ``timestamp[us]`` (naive UTC, like the engines),
    ``BIGINT`` -> ``int64``, ``DOUBLE`` -> ``float64``, ``VARCHAR`` and anything unknown -> ``string``.

    >>> str(arrow_type("timestamp(3)")), str(arrow_type("varchar"))
    ('timestamp[us]', 'string')
    """
    pa = require("pyarrow")
    family = type_family(sql_type)
    if family == "int":
        return pa.int64()
    if family == "float":
        return pa.float64()
    if family == "decimal":
        return pa.decimal128(*decimal_precision(sql_type))
    if family == "timestamp":
        return pa.timestamp("us")
    if family == "date":
        return pa.date32()
    if family == "bool":
        return pa.bool_()
    return pa.string()


def to_arrow(result: QueryResult, *, as_stored: bool = False) -> Any:
    """The rows as a ``pyarrow.Table`` whose schema follows the result's SQL types.

    Timestamps are UTC-aware: ``timestamp[ms, tz=UTC]``, or ``us`` where the SQL type (``timestamp(6)``) or a
    value is finer than a millisecond (the views' times are milliseconds). A ``day`` column of partition text
    (``2024/05/01``) becomes ``date32``. ``as_stored=True`` keeps what the engines return instead: naive
    ``timestamp[us]`` and ``day`` as text (Parquet output, which DuckDB reads back with the SQL types).

    >>> from smtrail_sql.result import QueryResult
    >>> to_arrow(QueryResult(["metric_name"], ["VARCHAR"], [("loss",)])).to_pylist()
    [{'metric_name': 'loss'}]
    >>> r = QueryResult(["day", "event_time"], ["VARCHAR", "TIMESTAMP"], [("2024/05/01", dt.datetime(2024, 5, 1))])
    >>> [str(t) for t in to_arrow(r).schema.types], [str(t) for t in to_arrow(r, as_stored=True).schema.types]
    (['date32[day]', 'timestamp[ms, tz=UTC]'], ['string', 'timestamp[us]'])
    """
    pa = require("pyarrow")
    arrays = []
    for index, (name, sql_type) in enumerate(zip(result.columns, result.column_types, strict=True)):
        values = [row[index] for row in result.rows]
        target = arrow_type(sql_type) if as_stored else _frame_type(name, sql_type, values, pa)
        arrays.append(pa.array([_arrow_value(value, target, pa) for value in values], type=target))
    return pa.Table.from_arrays(arrays, names=list(result.columns))


def _frame_type(name: str, sql_type: str, values: Sequence[Any], pa: ModuleType) -> Any:
    """The Arrow type of a column in a frame: :func:`arrow_type`, but aware UTC times and ``day`` a date."""
    family = type_family(sql_type)
    if family == "timestamp":
        precision = _PRECISION.match(sql_type.strip().upper())
        if precision:
            finer = int(precision.group(1)) > 3
        else:  # (DuckDB's TIMESTAMP holds microseconds: keep them where a value has any)
            finer = any(isinstance(v, dt.datetime) and v.microsecond % 1000 for v in values)
        return pa.timestamp("us" if finer else "ms", tz="UTC")
    if name == DAY_COLUMN and family == "string" and all(v is None or _partition_day(v) for v in values):
        return pa.date32()
    return arrow_type(sql_type)


def with_day_as_date(result: QueryResult) -> QueryResult:
    """The result with a ``day`` column of delivery-day partition text (``2024/05/01``) as dates (``DATE``), as
    every output writes it (the SQL keeps the partition text: the views and the engines compare it as text).

    >>> from smtrail_sql.result import QueryResult
    >>> with_day_as_date(QueryResult(["day"], ["VARCHAR"], [("2024/05/01",)])).rows
    [(datetime.date(2024, 5, 1),)]
    """
    if DAY_COLUMN not in result.columns:
        return result
    at = result.columns.index(DAY_COLUMN)
    if type_family(result.column_types[at]) != "string" or not all(
            row[at] is None or _partition_day(row[at]) for row in result.rows):
        return result
    rows = [(*row[:at], _partition_day(row[at]) if row[at] is not None else None, *row[at + 1:])
            for row in result.rows]
    types = [*result.column_types[:at], "DATE", *result.column_types[at + 1:]]
    return replace(result, rows=rows, column_types=types)


def _partition_day(value: Any) -> dt.date | None:
    """The date a delivery-day partition value spells (``2024/05/01``), or None."""
    match = _DAY_TEXT.match(value) if isinstance(value, str) else None
    return day_folder_date(*match.groups()) if match else None


def _arrow_value(value: Any, target: Any, pa: ModuleType) -> Any:
    if value is None:
        return None
    if pa.types.is_timestamp(target) and isinstance(value, dt.datetime):
        return aware_utc(value) if target.tz else naive_utc(value)
    if pa.types.is_date32(target) and isinstance(value, str):
        return _partition_day(value)
    if pa.types.is_string(target) and not isinstance(value, str):
        # arrays, maps and the like from a user's query: keep them readable rather than fail
        return text_value(value)
    return value


def to_pandas(result: QueryResult) -> Any:
    """The rows as a ``pandas.DataFrame``: integer columns are nullable ``Int64`` (a metric point may have no
    step), timestamps ``datetime64[ms, UTC]``, doubles ``float64``, ``day`` ``datetime.date`` objects (see
    :func:`to_arrow`).

    >>> from smtrail_sql.result import QueryResult
    >>> to_pandas(QueryResult(["step"], ["BIGINT"], [(1,), (None,)]))["step"].dtype
    Int64Dtype()
    >>> to_pandas(QueryResult(["t"], ["timestamp(3)"], [(dt.datetime(2024, 5, 1),)]))["t"].dtype
    datetime64[ms, UTC]
    """
    pd = require("pandas", "pandas")
    pa = require("pyarrow")
    table = to_arrow(result)
    mapping = {pa.int64(): pd.Int64Dtype()}
    return table.to_pandas(types_mapper=mapping.get)


def records(result: QueryResult) -> list[NamedTuple]:
    """The rows as named tuples whose fields are the columns (renamed ``_N`` where not identifiers).

    >>> from smtrail_sql.result import QueryResult
    >>> records(QueryResult(["step", "value"], ["BIGINT", "DOUBLE"], [(1, 0.5)]))
    [Row(step=1, value=0.5)]
    """
    row_type = namedtuple("Row", result.columns, rename=True)  # type: ignore[misc]
    return [row_type(*row) for row in result.rows]
