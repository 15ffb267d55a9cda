"""smtrail-sql: SageMaker Experiments metrics from CloudTrail, as tables you can query.

The public API is imported on first use, so ``import smtrail_sql`` stays light (no DuckDB, pyarrow, boto3,
matplotlib or rich until a call needs them):

>>> import smtrail_sql
>>> tk = smtrail_sql.Toolkit.local("smtrail-demo")                 # doctest: +SKIP
>>> smtrail_sql.to_pandas(tk.run("metric-summary", all_time=True))  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "Toolkit": "smtrail_sql.api",
    "QueryInfo": "smtrail_sql.query_info",
    "ParamInfo": "smtrail_sql.query_info",
    "EngineSettings": "smtrail_sql.engines.base",
    "QueryResult": "smtrail_sql.result",
    "QueryStats": "smtrail_sql.result",
    "TimeWindow": "smtrail_sql.window",
    "to_arrow": "smtrail_sql.frames",
    "to_pandas": "smtrail_sql.frames",
    "records": "smtrail_sql.frames",
    "write_result": "smtrail_sql.output",
    "FORMATS": "smtrail_sql.output",
    "curves_from_result": "smtrail_sql.plot",
    "save_png": "smtrail_sql.plot",
    "render_text": "smtrail_sql.textplot",
    "SmtrailError": "smtrail_sql.errors",
    "SettingError": "smtrail_sql.errors",
    "MissingSettingError": "smtrail_sql.errors",
    "MissingDependencyError": "smtrail_sql.errors",
    "ParameterError": "smtrail_sql.errors",
    "UnknownQueryError": "smtrail_sql.errors",
    "TemplateError": "smtrail_sql.errors",
    "RenderError": "smtrail_sql.errors",
    "EngineError": "smtrail_sql.errors",
    "QueryFailedError": "smtrail_sql.errors",
    "LogReadError": "smtrail_sql.errors",
}

__all__ = [
    "FORMATS",
    "EngineError",
    "EngineSettings",
    "LogReadError",
    "MissingDependencyError",
    "MissingSettingError",
    "ParamInfo",
    "ParameterError",
    "QueryFailedError",
    "QueryInfo",
    "QueryResult",
    "QueryStats",
    "RenderError",
    "SettingError",
    "SmtrailError",
    "TemplateError",
    "TimeWindow",
    "Toolkit",
    "UnknownQueryError",
    "__version__",
    "curves_from_result",
    "records",
    "render_text",
    "save_png",
    "to_arrow",
    "to_pandas",
    "write_result",
]

if TYPE_CHECKING:
    __version__: str

    from smtrail_sql.api import Toolkit
    from smtrail_sql.engines.base import EngineSettings
    from smtrail_sql.errors import (
        EngineError,
        LogReadError,
        MissingDependencyError,
        MissingSettingError,
        ParameterError,
        QueryFailedError,
        RenderError,
        SettingError,
        SmtrailError,
        TemplateError,
        UnknownQueryError,
    )
    from smtrail_sql.frames import records, to_arrow, to_pandas
    from smtrail_sql.output import FORMATS, write_result
    from smtrail_sql.plot import curves_from_result, save_png
    from smtrail_sql.query_info import ParamInfo, QueryInfo
    from smtrail_sql.result import QueryResult, QueryStats
    from smtrail_sql.textplot import render_text
    from smtrail_sql.window import TimeWindow


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from smtrail_sql.version import package_version

        globals()[name] = package_version()
        return globals()[name]
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smtrail_sql' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next access skips this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
