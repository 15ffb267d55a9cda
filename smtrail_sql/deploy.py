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
from smtrail_sql.settings import DEFAULT_CATALOG, TableSettings

if TYPE_CHECKING:
    from smtrail_sql.ddl import DdlVersion
    from smtrail_sql.engines.athena import AthenaEngine
    from smtrail_sql.engines.base import RunProgress

#: Called before each statement runs: the version it belongs to (``None`` for CREATE DATABASE) and its SQL.
StatementCallback = Callable[["DdlVersion | None", str], None]

_NOT_FOUND = ("EntityNotFoundException", "MetadataException", "ResourceNotFoundException")


class TableRef(Protocol):
    """The table ``status`` reads: a :class:`TableSettings` is one, so is a :class:`DeployedTable`."""

    @property
    def database(self) -> str: ...
    @property
    def table(self) -> str: ...
    @property
    def catalog(self) -> str: ...


@dataclass(frozen=True)
class DeployedTable:
    """A table named without its log location, enough to read its deployed version.

    >>> DeployedTable("smtrail", "cloudtrail_events").catalog
    'AwsDataCatalog'
    """

    database: str
    table: str
    catalog: str = DEFAULT_CATALOG


@dataclass(frozen=True)
class DeployStatus:
    """The deployed schema version against the newest DDL.

    ``deployed`` is ``None`` when the table does not exist, ``0`` when it exists without a recorded version
    (made by hand or by something else).
    """

    table: str
    deployed: int | None
    latest: int
    pending: list[DdlVersion] = field(default_factory=list)

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
        return lines


@dataclass(frozen=True)
class DeployResult:
    """What create-table or migrate did."""

    table: str
    before: int | None
    after: int
    applied: list[DdlVersion]
    statements: list[str]

    @property
    def changed(self) -> bool:
        """False when the run found everything up to date and sent nothing to Athena."""
        return bool(self.statements)

    def describe(self) -> str:
        """One line for a person."""
        if not self.changed:
            return f"{self.table} is already at schema version {self.after}: nothing to do"
        versions = ", ".join(str(v.number) for v in self.applied)
        start = "nothing" if self.before is None else f"version {self.before}"
        return (
            f"{self.table}: applied DDL version(s) {versions} ({len(self.statements)} statements), "
            f"from {start} to version {self.after}"
        )


def _qualified(settings: TableRef) -> str:
    return f"{settings.database}.{settings.table}"


def read_deployed_version(session: Any, settings: TableRef) -> int | None:
    """The schema version recorded on the table; ``None`` if there is no table, ``0`` if it has no record.

    >>> # settings = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1")
    >>> # read_deployed_version(make_session(), settings)
    """
    import botocore.exceptions

    from smtrail_sql.aws.session import aws_error, make_client

    try:
        if settings.catalog == DEFAULT_CATALOG:
            table = make_client(session, "glue").get_table(
                DatabaseName=settings.database, Name=settings.table
            )
            parameters = table["Table"].get("Parameters") or {}
        else:
            metadata = make_client(session, "athena").get_table_metadata(
                CatalogName=settings.catalog, DatabaseName=settings.database, TableName=settings.table
            )
            parameters = metadata["TableMetadata"].get("Parameters") or {}
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code", "") if hasattr(error, "response") else ""
        if code in _NOT_FOUND:
            return None
        raise aws_error(f"read table {_qualified(settings)} from catalog {settings.catalog}", error) from None
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
    deployed = read_deployed_version(session, settings)
    pending = [v for v in known if deployed is None or v.number > deployed]
    return DeployStatus(_qualified(settings), deployed, known[-1].number, pending)


def create_table(
    engine: AthenaEngine,
    settings: TableSettings,
    *,
    versions: Sequence[DdlVersion] | None = None,
    on_statement: StatementCallback | None = None,
    progress: RunProgress | None = None,
) -> DeployResult:
    """Create the database if missing and apply every DDL version not yet deployed, recording each.

    Safe to re-run: when the table already records the newest version, nothing is sent to Athena.

    >>> # settings = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1")
    >>> # create_table(AthenaEngine.from_settings(EngineSettings()), settings).describe()
    """
    current = status(engine.session, settings, versions)
    return _apply(engine, settings, current, on_statement, progress)


def migrate(
    engine: AthenaEngine,
    settings: TableSettings,
    *,
    versions: Sequence[DdlVersion] | None = None,
    on_statement: StatementCallback | None = None,
    progress: RunProgress | None = None,
) -> DeployResult:
    """Apply the DDL versions newer than the deployed one; the table must exist (else: create-table)."""
    current = status(engine.session, settings, versions)
    if current.deployed is None:
        raise EngineError(
            f"table {current.table} does not exist in catalog {settings.catalog}: run create-table first"
        )
    return _apply(engine, settings, current, on_statement, progress)


def _apply(
    engine: AthenaEngine,
    settings: TableSettings,
    current: DeployStatus,
    on_statement: StatementCallback | None,
    progress: RunProgress | None,
) -> DeployResult:
    if current.deployed is not None and current.deployed > current.latest:
        raise EngineError(current.describe()[0])
    if current.up_to_date:
        return DeployResult(current.table, current.deployed, current.deployed or 0, [], [])
    plan: list[tuple[DdlVersion | None, str]] = []
    if current.deployed is None:
        plan.append((None, ddl.create_database_sql(settings)))
    for pending in current.pending:
        plan.extend((pending, sql) for sql in ddl.render_version(pending, settings))
    sent: list[str] = []
    recorded = current.deployed
    for index, (version, sql) in enumerate(plan):
        if on_statement is not None:
            on_statement(version, sql)
        try:
            engine.run_sql(sql, progress=progress)
        except EngineError as error:
            where = f"DDL version {version.number} ({version.name})" if version else "CREATE DATABASE"
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
    return DeployResult(
        current.table, current.deployed, current.pending[-1].number, list(current.pending), sent
    )
