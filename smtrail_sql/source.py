"""Which source a query reads on Athena: the metric store (when it is deployed and holds the window) or the trail.

``auto`` (the default of ``run`` and :meth:`Toolkit.run <smtrail_sql.api.Toolkit.run>`) reads the store when the
deployed schema has it (version 3 and later, read from the catalog for free) and its refresh log shows it holds
every file the window's query would read from the trail (one small query); otherwise the trail, with a one-line
note saying why. The local engine reads log files, not the store: its source is always the trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from smtrail_sql.errors import EngineError, SettingError
from smtrail_sql.spelling import spell

if TYPE_CHECKING:
    from smtrail_sql.render import Naming
    from smtrail_sql.window import TimeWindow

AUTO: Final = "auto"
STORE: Final = "store"
TRAIL: Final = "trail"
#: The values of ``--source``.
SOURCES: Final = (AUTO, STORE, TRAIL)


@dataclass(frozen=True)
class SourceChoice:
    """The source a query reads, and the line that tells the user why."""

    source: str
    note: str


def validate_source(value: str | None) -> str:
    """``auto``, ``store`` or ``trail`` (``None``: auto)."""
    chosen = (value or AUTO).strip().lower()
    if chosen not in SOURCES:
        raise SettingError(spell("source", "--source"), value or "", "one of " + ", ".join(SOURCES))
    return chosen


def choose_source(requested: str | None, engine_name: str, engine: Callable[[], Any], naming: Naming,
                  window: TimeWindow, now: datetime | None = None) -> SourceChoice:
    """Decide the source for a query on the engine named ``engine_name`` (``engine`` opens it, only for
    ``auto`` on Athena); ``store`` on the local engine is a usage error."""
    requested = validate_source(requested)
    if engine_name != "athena":
        if requested == STORE:
            raise SettingError(spell("source", "--source"), STORE, "the metric store is read on Athena ("
                               + spell("Toolkit.athena", "--engine athena")
                               + "); the local engine reads log files, with its own cache")
        return SourceChoice(TRAIL, "")
    if requested == TRAIL:
        return SourceChoice(TRAIL, "source: the trail (--source trail)")
    if requested == STORE:
        return SourceChoice(STORE, "source: the metric store (--source store)")
    return _auto(engine(), naming, window, now)


def _auto(engine: Any, naming: Naming, window: TimeWindow, now: datetime | None) -> SourceChoice:
    from smtrail_sql.deploy import DeployedTable, read_deployed_version
    from smtrail_sql.refresh import read_coverage
    from smtrail_sql.store import STORE_VERSION

    table = DeployedTable(naming.database, naming.table, getattr(engine.settings, "catalog", None) or "AwsDataCatalog")
    deployed = read_deployed_version(engine.session, table)
    if deployed is None or deployed < STORE_VERSION:
        state = "no table" if deployed is None else f"schema version {deployed}"
        return SourceChoice(TRAIL, f"source: the trail (the metric store is not deployed: {state}; "
                                   "`smtrail-sql migrate` adds it)")
    try:
        coverage = read_coverage(engine, naming)
    except EngineError as error:
        return SourceChoice(TRAIL, f"source: the trail (the store's refresh log could not be read: {error})")
    reason = coverage.serves(window, now)
    if reason is not None:
        return SourceChoice(TRAIL, f"source: the trail ({reason})")
    return SourceChoice(STORE, f"source: the metric store (it holds files delivered until "
                               f"{coverage.spans[-1].until:%Y-%m-%d %H:%M} UTC)")


def describe_store(engine: Any, naming: Naming, now: datetime | None = None) -> list[str]:
    """``status``'s lines about the metric store: what it holds, and which source ``auto`` picks."""
    from smtrail_sql.refresh import read_coverage

    try:
        coverage = read_coverage(engine, naming)
    except EngineError as error:
        return [f"metric store: its refresh log could not be read ({error})"]
    lines = coverage.describe(now)
    if coverage.is_empty:
        return lines
    return [*lines, "queries (--source auto) read the store when it holds the files of their window, else "
                    "the trail; `run` says which on its first line"]
