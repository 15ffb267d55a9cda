"""Engines run rendered queries: a registry from name to class, as aiosql keeps its adapters.

>>> sorted(ENGINES)
['athena', 'local']
>>> open_engine(EngineSettings(engine="spark"))
Traceback (most recent call last):
...
smtrail_sql.errors.SettingError: invalid engine 'spark': one of local, athena

Every engine follows :class:`Engine`; a new one is a module here with a class and a line in :data:`ENGINES`.
The engine modules import their heavy libraries (DuckDB, pyathena, boto3) only when they run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from smtrail_sql.engines.base import Engine, EngineSettings, QueryStatus, RunProgress
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.errors import SettingError

#: The engines' names (``ENGINES`` maps each to its class; Athena's module is imported only when asked for).
ENGINE_NAMES = ("local", "athena")


def engine_class(name: str) -> type[Engine]:
    """The class of the engine called ``name`` (one of :data:`ENGINE_NAMES`)."""
    if name == "athena":
        from smtrail_sql.engines.athena import AthenaEngine

        return AthenaEngine
    return LocalEngine


def __getattr__(name: str) -> Any:
    """``ENGINES`` (engine name -> class) and ``AthenaEngine``, imported on first use."""
    if name == "ENGINES":
        return {engine: engine_class(engine) for engine in ENGINE_NAMES}
    if name == "AthenaEngine":
        return engine_class("athena")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Settings that mean the user set up Athena: with any of them and no logs folder, queries go to Athena.
ATHENA_SETTINGS_VARIABLES = ("SMTRAIL_WORKGROUP", "SMTRAIL_OUTPUT_LOCATION", "AWS_ATHENA_S3_STAGING_DIR",
                             "AWS_ATHENA_WORK_GROUP")


def choose_engine(settings: EngineSettings, environ: Mapping[str, str] | None = None) -> str:
    """The engine asked for; else ``athena`` when Athena is configured (an Athena setting or variable) and no
    logs folder is given; else ``local``.

    >>> choose_engine(EngineSettings(), {}), choose_engine(EngineSettings(), {"SMTRAIL_WORKGROUP": "primary"})
    ('local', 'athena')
    """
    if settings.engine is not None:
        name = settings.engine.strip().lower()
        if name not in ENGINE_NAMES:
            raise SettingError("engine", settings.engine, f"one of {', '.join(ENGINE_NAMES)}")
        return name
    env = os.environ if environ is None else environ
    athena = settings.workgroup or settings.output_location or any(env.get(n) for n in ATHENA_SETTINGS_VARIABLES)
    return "athena" if settings.logs is None and athena else "local"


def open_engine(settings: EngineSettings) -> Engine:
    """The engine the settings name (or :func:`choose_engine` picks), built from them."""
    return engine_class(choose_engine(settings)).from_settings(settings)


__all__ = ["ATHENA_SETTINGS_VARIABLES", "ENGINES", "ENGINE_NAMES", "Engine", "EngineSettings", "QueryStatus",
           "RunProgress", "choose_engine", "engine_class", "open_engine"]
