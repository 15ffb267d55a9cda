"""A :class:`QueryResult` as an Arrow table or a pandas DataFrame, with the SQL types kept.

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
from collections import namedtuple
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from smtrail_sql.errors import MissingDependencyError
from smtrail_sql.sqltypes import decimal_precision, type_family
from smtrail_sql.values import text_value
from smtrail_sql.window import naive_utc

if TYPE_CHECKING:
    from smtrail_sql.result import QueryResult


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
    """The Arrow type a SQL column becomes: ``TIMESTAMP`` -> ``timestamp[us]`` (naive UTC, like the engines),
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


def to_arrow(result: QueryResult) -> Any:
    """The rows as a ``pyarrow.Table`` whose schema follows the result's SQL types.

    >>> from smtrail_sql.result import QueryResult
    >>> to_arrow(QueryResult(["metric_name"], ["VARCHAR"], [("loss",)])).to_pylist()
    [{'metric_name': 'loss'}]
    """
    pa = require("pyarrow")
    arrays = []
    for index, sql_type in enumerate(result.column_types):
        target = arrow_type(sql_type)
        values = [_arrow_value(row[index], target, pa) for row in result.rows]
        arrays.append(pa.array(values, type=target))
    return pa.Table.from_arrays(arrays, names=list(result.columns))


def _arrow_value(value: Any, target: Any, pa: ModuleType) -> Any:
    if value is None:
        return None
    if pa.types.is_timestamp(target) and isinstance(value, dt.datetime):
        return naive_utc(value)
    if pa.types.is_string(target) and not isinstance(value, str):
        # arrays, maps and the like from a user's query: keep them readable rather than fail
        return text_value(value)
    return value


def to_pandas(result: QueryResult) -> Any:
    """The rows as a ``pandas.DataFrame``: integer columns are nullable ``Int64`` (a metric point may have no
    step), timestamps ``datetime64[us]`` (naive UTC), doubles ``float64``.

    >>> from smtrail_sql.result import QueryResult
    >>> to_pandas(QueryResult(["step"], ["BIGINT"], [(1,), (None,)]))["step"].dtype
    Int64Dtype()
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
