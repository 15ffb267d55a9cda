"""Deploy the DDL on Athena: create-table, status and migrate, safe to re-run.

The deployed schema version lives in the table's properties (``smtrail.schema_version``, written by the last
statement of every DDL version). It is read through the data catalog's API rather than a query, so reading it
costs nothing and works whatever the workgroup: Glue ``GetTable`` for ``AwsDataCatalog`` (where Athena keeps
TBLPROPERTIES as the table's Parameters), Athena ``GetTableMetadata`` for any other catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from smtrail_sql import ddl
from smtrail_sql.errors import EngineError, QueryFailedError
from smtrail_sql.projection import PropertyChange, projection_changes, read_table_parameters
from smtrail_sql.render import Naming
from smtrail_sql.schema import METRIC_POINTS_RELATION, calls_view_for
from smtrail_sql.settings import DEFAULT_CATALOG, TableSettings

if TYPE_CHECKING:
    from smtrail_sql.ddl import DdlVersion
    from smtrail_sql.engines.athena import AthenaEngine
    from smtrail_sql.engines.base import RunProgress

#: Called before each statement runs: the version it belongs to (``None`` for CREATE DATABASE) and its SQL.
StatementCallback = Callable[["DdlVersion | None", str], None]


class TableRef(Protocol):
    """The table ``status`` reads: a :class:`TableSettings` is one, so is a :class:`DeployedTable`."""

    @property
    def database(self) -> str: ...
    @property
    def table(self) -> str: ...
    @property
    def catalog(self) -> str: ...
    @property
    def view(self) -> str: ...
    @property
    def calls_view(self) -> str: ...


@dataclass(frozen=True)
class DeployedTable:
    """A table named without its log location, enough to read its deployed version.

    >>> DeployedTable("smtrail", "cloudtrail_events").catalog
    'AwsDataCatalog'
    """

    database: str
    table: str
    catalog: str = DEFAULT_CATALOG
    view: str = METRIC_POINTS_RELATION

    @property
    def calls_view(self) -> str:
        return calls_view_for(self.view)


@dataclass(frozen=True)
class DeployStatus:
    """The deployed schema version against the newest DDL.

    ``deployed`` is ``None`` when the table does not exist, ``0`` when it exists without a recorded version
    (made by hand or by something else). ``missing`` names the views and tables of the deployed versions that
    the catalog does not hold (dropped by hand); ``parameters`` are the table's properties as read.
    """

    table: str
    deployed: int | None
    latest: int
    pending: list[DdlVersion] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    parameters: dict[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def up_to_date(self) -> bool:
        """True when nothing newer than the deployed version exists."""
        return self.deployed is not None and not self.pending

    def describe(self) -> list[str]:
        """Lines for a person: versions, and what each pending version changes."""
        if self.deployed is None:
            head = f"{self.table}: not deployed; newest DDL version is {self.latest} (run create-table)"
        elif self.deployed > self.latest:
            head = (
                f"{self.table}: deployed version {self.deployed} is newer than the newest this smtrail-sql "
                f"knows ({self.latest}); upgrade smtrail-sql"
            )
        elif not self.pending:
            head = f"{self.table}: deployed version {self.deployed}, newest {self.latest}: up to date"
        else:
            unversioned = " (no recorded version)" if self.deployed == 0 else ""
            head = (
                f"{self.table}: deployed version {self.deployed}{unversioned}, newest {self.latest}: "
                f"{len(self.pending)} to apply (run migrate)"
            )
        lines = [head]
        for version in self.pending:
            lines.append(f"  {version.number:04d} {version.name}: {version.description}".rstrip(": "))
        if self.missing:
            lines.append(f"{self.table}: missing from the catalog: {', '.join(self.missing)} (run create-table "
                         "to create them again)")
        return lines


@dataclass(frozen=True)
class DeployResult:
    """What create-table or migrate did: the versions applied, the projection changed, the objects recreated."""

    table: str
    before: int | None
    after: int
    applied: list[DdlVersion]
    statements: list[str]
    projection: list[PropertyChange] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """False when the run found everything up to date and sent nothing to Athena."""
        return bool(self.statements)

    def describe(self) -> str:
        """A line for a person, and one more for each kind of change beside the versions."""
        if not self.changed:
            return f"{self.table} is already at schema version {self.after}: nothing to do"
        lines = []
        if self.applied:
            versions = ", ".join(str(v.number) for v in self.applied)
            start = "nothing" if self.before is None else f"version {self.before}"
            count = len(self.statements) - (1 if self.projection else 0) - len(self.recreated)
            lines.append(f"{self.table}: applied DDL version(s) {versions} ({count} statements), "
                         f"from {start} to version {self.after}")
        if self.recreated:
            lines.append(f"{self.table}: created again {', '.join(self.recreated)}")
        if self.projection:
            lines.append(f"{self.table}: the partition projection follows the settings now: "
                         + "; ".join(change.describe() for change in self.projection))
        return "\n".join(lines)


def _qualified(settings: TableRef) -> str:
    return f"{settings.database}.{settings.table}"


def read_deployed_version(session: Any, settings: TableRef) -> int | None:
    """The schema version recorded on the table; ``None`` if there is no table, ``0`` if it has no record.

    >>> # settings = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1")
    >>> # read_deployed_version(make_session(), settings)
    """
    return _version_of(read_table_parameters(session, settings.database, settings.table, settings.catalog),
                       settings)


def _version_of(parameters: dict[str, str] | None, settings: TableRef) -> int | None:
    if parameters is None:
        return None
    recorded = parameters.get(ddl.SCHEMA_VERSION_PROPERTY)
    if recorded is None:
        return 0
    try:
        return int(recorded)
    except ValueError:
        raise EngineError(
            f"table {_qualified(settings)} records schema version {recorded!r}, not a number; "
            f"fix the {ddl.SCHEMA_VERSION_PROPERTY} table property"
        ) from None


def status(session: Any, settings: TableRef, versions: Sequence[DdlVersion] | None = None) -> DeployStatus:
    """Compare the deployed version with the newest DDL (``versions``: the shipped ones by default)."""
    known = list(versions) if versions is not None else list(ddl.versions())
    parameters = read_table_parameters(session, settings.database, settings.table, settings.catalog)
    deployed = _version_of(parameters, settings)
    pending = [v for v in known if deployed is None or v.number > deployed]
    missing: list[str] = []
    if deployed:  # every view and table of the deployed versions, one GetTable each (free)
        naming = Naming(settings.database, settings.view, settings.calls_view, settings.table)
        for kind, name in ddl.created_objects(min(deployed, ddl.latest_version()), naming):
            if read_table_parameters(session, settings.database, name, settings.catalog) is None:
                missing.append(f"{settings.database}.{name} ({kind})")
    return DeployStatus(_qualified(settings), deployed, known[-1].number, pending, missing, parameters)


def create_table(
    engine: AthenaEngine,
    settings: TableSettings,
    *,
    versions: Sequence[DdlVersion] | None = None,
    on_statement: StatementCallback | None = None,
    progress: RunProgress | None = None,
    adopt: bool = False,
) -> DeployResult:
    """Create the database if missing and apply every DDL version not yet deployed, recording each; then make
    the table's partition projection follow ``settings`` (accounts, regions, start date, log location) and
    create again the views and tables of the deployed versions that were dropped.

    Safe to re-run: when the table already records the newest version and follows the settings, nothing is
    sent to Athena. A table of that name that records no version (not made by smtrail-sql) is refused unless
    ``adopt``.

    >>> # settings = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1")
    >>> # create_table(AthenaEngine.from_settings(EngineSettings()), settings).describe()
    """
    current = status(engine.session, settings, versions)
    return _apply(engine, settings, current, on_statement, progress, adopt)


def migrate(
    engine: AthenaEngine,
    settings: TableSettings,
    *,
    versions: Sequence[DdlVersion] | None = None,
    on_statement: StatementCallback | None = None,
    progress: RunProgress | None = None,
    adopt: bool = False,
) -> DeployResult:
    """Apply the DDL versions newer than the deployed one, and follow the settings as :func:`create_table`
    does; the table must exist (else: create-table)."""
    current = status(engine.session, settings, versions)
    if current.deployed is None:
        raise EngineError(
            f"table {current.table} does not exist in catalog {settings.catalog}: run create-table first"
        )
    return _apply(engine, settings, current, on_statement, progress, adopt)


def _plan(settings: TableSettings, current: DeployStatus, adopt: bool
          ) -> tuple[list[tuple[DdlVersion | None, str]], list[PropertyChange], list[str]]:
    """The statements to send (each with its version, None for the others), the projection's changes and the
    objects to create again."""
    if current.deployed is not None and current.deployed > current.latest:
        raise EngineError(current.describe()[0])
    if current.deployed == 0 and not adopt:
        raise EngineError(
            f"table {current.table} exists but smtrail-sql did not create it (it records no "
            f"{ddl.SCHEMA_VERSION_PROPERTY}): pass --adopt to take it over (its partition projection is set to "
            "these settings), or name another one with --table")
    plan: list[tuple[DdlVersion | None, str]] = []
    if current.deployed is None:
        plan.append((None, ddl.create_database_sql(settings)))
    for pending in current.pending:
        plan.extend((pending, sql) for sql in ddl.render_version(pending, settings))
    recreated = [name.split(" ")[0] for name in current.missing]
    names = [name.split(".", 1)[1] for name in recreated]
    plan.extend((None, sql) for sql in ddl.recreate_sql(settings, names, current.deployed or 0))
    changes = projection_changes(current.parameters or {}, settings) if current.deployed is not None else []
    if changes:
        plan.append((None, ddl.set_properties_sql(settings, {c.property: c.after for c in changes})))
    return plan, changes, recreated


def _apply(
    engine: AthenaEngine,
    settings: TableSettings,
    current: DeployStatus,
    on_statement: StatementCallback | None,
    progress: RunProgress | None,
    adopt: bool = False,
) -> DeployResult:
    plan, changes, recreated = _plan(settings, current, adopt)
    if not plan:
        return DeployResult(current.table, current.deployed, current.deployed or 0, [], [])
    sent: list[str] = []
    recorded = current.deployed
    for index, (version, sql) in enumerate(plan):
        if on_statement is not None:
            on_statement(version, sql)
        try:
            engine.run_sql(sql, progress=progress)
        except EngineError as error:
            if version is not None:
                where = f"DDL version {version.number} ({version.name})"
            else:
                where = "CREATE DATABASE" if recorded is None else "updating the table"
            state = "no table" if recorded is None else f"version {recorded}"
            message = f"{where} failed, the table stays at {state}: {error}"
            if isinstance(error, QueryFailedError):
                raise QueryFailedError(
                    message,
                    query_id=error.query_id,
                    state=error.state,
                    category=error.category,
                    retryable=error.retryable,
                ) from None
            raise EngineError(message) from None
        sent.append(sql)
        next_version = plan[index + 1][0] if index + 1 < len(plan) else None
        if version is not None and next_version is not version:
            recorded = version.number  # the version's last statement (its record) went through
    after = current.pending[-1].number if current.pending else current.deployed or 0
    return DeployResult(current.table, current.deployed, after, list(current.pending), sent, changes, recreated)
