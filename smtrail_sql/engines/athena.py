"""The Athena engine: runs the rendered Athena SQL unchanged with pyathena, over boto3's credential chain.

While a query runs, an optional status callback receives the state, the elapsed time and the data scanned
on every poll (the CLI turns it into a live line on a terminal; the library never prints). A FAILED or
CANCELLED query raises :class:`~smtrail_sql.errors.QueryFailedError` with Athena's own reason; Ctrl-C stops
the query in Athena (``StopQueryExecution``, pyathena's ``kill_on_interrupt``) before the
``KeyboardInterrupt`` goes on; throttled API calls are retried with exponential backoff (pyathena's retry
layer on top of botocore's adaptive retries); every page of the result is fetched.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from smtrail_sql.aws.pricing import scan_cost_usd
from smtrail_sql.errors import EngineError, QueryFailedError, SettingError
from smtrail_sql.result import QueryResult, QueryStats
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE, validate_catalog, validate_identifier

if TYPE_CHECKING:
    from smtrail_sql.render import RenderedQuery

#: Athena's own default workgroup, used when neither a workgroup nor an output location is set.
DEFAULT_WORKGROUP = "primary"
#: Seconds between two GetQueryExecution calls while a query runs.
DEFAULT_POLL_INTERVAL = 0.5
#: API error codes retried with backoff (on top of botocore's own retries).
RETRIED_ERROR_CODES = (
    "ThrottlingException",
    "TooManyRequestsException",
    "ThrottledException",
    "ServiceUnavailableException",
    "InternalServerException",
)
_WORKGROUP = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True)
class AthenaSettings:
    """Where and how queries run: database, workgroup, output location, region, profile, catalog.

    Build it with :meth:`resolve`, which fills what is not given from ``SMTRAIL_*`` variables, then from
    pyathena's ``AWS_ATHENA_S3_STAGING_DIR`` / ``AWS_ATHENA_WORK_GROUP``.

    >>> AthenaSettings.resolve(database="metrics", workgroup="analysts", environ={}).workgroup
    'analysts'
    """

    database: str = DEFAULT_DATABASE
    workgroup: str | None = None
    output_location: str | None = None
    region: str | None = None
    profile: str | None = None
    catalog: str = DEFAULT_CATALOG
    poll_interval: float = DEFAULT_POLL_INTERVAL

    @classmethod
    def resolve(
        cls,
        *,
        database: str | None = None,
        workgroup: str | None = None,
        output_location: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        catalog: str | None = None,
        poll_interval: float | None = None,
        environ: dict[str, str] | None = None,
    ) -> AthenaSettings:
        """Validate the settings, taking each one not given from the environment.

        >>> AthenaSettings.resolve(environ={"AWS_ATHENA_S3_STAGING_DIR": "s3://results/athena/"}).output_location
        's3://results/athena/'
        """
        env = os.environ if environ is None else environ

        def pick(value: str | None, *names: str) -> str | None:
            if value:
                return value
            return next((env[n] for n in names if env.get(n)), None)

        resolved_output = pick(output_location, "SMTRAIL_OUTPUT_LOCATION", "AWS_ATHENA_S3_STAGING_DIR")
        if resolved_output is not None and not re.match(
            r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", resolved_output
        ):
            raise SettingError("output location", resolved_output, "an S3 URI such as s3://my-bucket/athena/")
        resolved_workgroup = pick(workgroup, "SMTRAIL_WORKGROUP", "AWS_ATHENA_WORK_GROUP")
        if resolved_workgroup is not None and not _WORKGROUP.match(resolved_workgroup):
            raise SettingError("workgroup", resolved_workgroup, "1-128 letters, digits, '.', '_' or '-'")
        interval = poll_interval if poll_interval is not None else DEFAULT_POLL_INTERVAL
        if interval <= 0:
            raise SettingError("poll interval", interval, "a positive number of seconds")
        return cls(
            database=validate_identifier("database", pick(database, "SMTRAIL_DATABASE") or DEFAULT_DATABASE),
            workgroup=resolved_workgroup,
            output_location=resolved_output,
            region=pick(region, "SMTRAIL_REGION"),
            profile=pick(profile, "SMTRAIL_PROFILE"),
            catalog=validate_catalog(pick(catalog, "SMTRAIL_CATALOG") or DEFAULT_CATALOG),
            poll_interval=interval,
        )


@dataclass(frozen=True)
class QueryStatus:
    """One poll of a running query: what the status line shows."""

    query_id: str
    state: str
    elapsed_seconds: float
    bytes_scanned: int

    def describe(self) -> str:
        """``RUNNING  3.2s  12.0 MiB scanned  (query id)``."""
        from smtrail_sql.aws.pricing import format_bytes

        return (
            f"{self.state:<9} {self.elapsed_seconds:6.1f}s  {format_bytes(self.bytes_scanned)} scanned  "
            f"({self.query_id})"
        )


#: Receives every poll of a running query (called in the calling thread).
StatusCallback = Callable[[QueryStatus], None]


@dataclass(frozen=True)
class AthenaRun:
    """What Athena said about a finished query, beyond the rows."""

    query_id: str
    state: str
    bytes_scanned: int
    engine_seconds: float
    elapsed_seconds: float

    @property
    def cost_usd(self) -> float:
        """The query's cost at $5 per TB with Athena's 10 MB minimum."""
        return scan_cost_usd(self.bytes_scanned)

    def describe(self) -> str:
        """One line: data scanned, cost, engine time, query id."""
        from smtrail_sql.aws.pricing import format_bytes

        return (
            f"scanned {format_bytes(self.bytes_scanned)}, cost ${self.cost_usd:.6f} (10 MB minimum), "
            f"engine time {self.engine_seconds:.2f}s, wall {self.elapsed_seconds:.2f}s, "
            f"query id {self.query_id}"
        )


class AthenaEngine:
    """Runs rendered queries on Athena with pyathena and returns typed rows.

    >>> # engine = AthenaEngine.from_settings(database="smtrail", workgroup="primary")
    >>> # engine.execute(render(catalog.get("runs"), window=TimeWindow.parse(since="7d"))).rows
    """

    name = "athena"
    dialect = "athena"

    def __init__(
        self, settings: AthenaSettings, *, status: StatusCallback | None = None, session: Any | None = None
    ) -> None:
        self.settings = settings
        self.status = status
        self._session = session
        self._connection: Any | None = None
        #: Athena's account of the last query run (``None`` before the first).
        self.last_run: AthenaRun | None = None

    @classmethod
    def from_settings(
        cls,
        *,
        database: str | None = None,
        workgroup: str | None = None,
        output_location: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        catalog: str | None = None,
        status: StatusCallback | None = None,
        poll_interval: float | None = None,
    ) -> AthenaEngine:
        """An engine from option values (``None``: from ``SMTRAIL_*`` / pyathena's variables / defaults)."""
        settings = AthenaSettings.resolve(
            database=database,
            workgroup=workgroup,
            output_location=output_location,
            region=region,
            profile=profile,
            catalog=catalog,
            poll_interval=poll_interval,
        )
        return cls(settings, status=status)

    @property
    def session(self) -> Any:
        """The boto3 session every client of this engine comes from."""
        if self._session is None:
            from smtrail_sql.aws.session import make_session

            self._session = make_session(self.settings.profile, self.settings.region)
        return self._session

    def _connect(self) -> Any:
        if self._connection is None:
            import pyathena
            from pyathena.util import RetryConfig

            from smtrail_sql.aws.session import client_config

            settings = self.settings
            if self.session.region_name is None:
                raise EngineError(
                    "no AWS region for Athena: pass --region, set SMTRAIL_REGION or AWS_REGION, "
                    "or a region in the AWS profile"
                )
            self._connection = pyathena.connect(
                session=self.session,
                region_name=self.session.region_name,
                schema_name=settings.database,
                catalog_name=settings.catalog,
                # empty strings stop pyathena from reading its variables again: resolve() already did
                work_group=settings.workgroup or ("" if settings.output_location else DEFAULT_WORKGROUP),
                s3_staging_dir=settings.output_location or "",
                poll_interval=settings.poll_interval,
                kill_on_interrupt=True,
                config=client_config(),
                retry_config=RetryConfig(
                    exceptions=RETRIED_ERROR_CODES, attempt=6, multiplier=1, max_delay=30, exponential_base=2
                ),
            )
        return self._connection

    def execute(self, query: RenderedQuery) -> QueryResult:
        """Run a rendered query (its Athena SQL, exactly as ``render`` prints it)."""
        return self.run_sql(query.sql)

    def run_sql(self, sql: str) -> QueryResult:
        """Run one SQL statement (a query or DDL) and return every row, typed.

        Raises :class:`QueryFailedError` when Athena ends it FAILED or CANCELLED, :class:`EngineError` when
        the request itself is refused; Ctrl-C stops the query in Athena and re-raises ``KeyboardInterrupt``.
        """
        from pyathena.error import DatabaseError, Error
        from pyathena.model import AthenaQueryExecution

        started = time.monotonic()
        last: list[AthenaQueryExecution] = []

        def on_poll(execution: Any) -> None:
            last[:] = [execution]
            if self.status is not None and isinstance(execution, AthenaQueryExecution):
                self.status(
                    QueryStatus(
                        query_id=execution.query_id or "",
                        state=execution.state or "",
                        elapsed_seconds=time.monotonic() - started,
                        bytes_scanned=execution.data_scanned_in_bytes or 0,
                    )
                )

        cursor = self._connect().cursor(on_poll=on_poll)
        try:
            cursor.execute(sql)
            rows = [tuple(row) for row in cursor.fetchall()]  # pyathena pages with NextToken to the end
            description = list(cursor.description or [])
            scanned = int(cursor.data_scanned_in_bytes or 0)
            engine_millis = cursor.engine_execution_time_in_millis or 0
            query_id, state = str(cursor.query_id), str(cursor.state)
        except DatabaseError as error:
            raise self._failure(error, last[0] if last else None) from None
        except Error as error:
            raise EngineError(f"Athena: {error}") from None
        finally:
            cursor.close()
        elapsed = time.monotonic() - started
        self.last_run = AthenaRun(
            query_id=query_id,
            state=state,
            bytes_scanned=scanned,
            engine_seconds=engine_millis / 1000,
            elapsed_seconds=elapsed,
        )
        stats = QueryStats(
            engine=self.name,
            elapsed_seconds=elapsed,
            query_id=self.last_run.query_id,
            bytes_scanned=scanned,
            cost_usd=self.last_run.cost_usd,
            engine_seconds=self.last_run.engine_seconds,
        )
        return QueryResult(
            columns=[str(d[0]) for d in description],
            column_types=[_sql_type(str(d[1])) for d in description],
            rows=rows,
            stats=stats,
            sql=sql,
        )

    def _failure(self, error: Exception, execution: Any) -> EngineError:
        state = getattr(execution, "state", None)
        if state in ("FAILED", "CANCELLED"):
            reason = (
                execution.state_change_reason
                or execution.error_message
                or ("cancelled (StopQueryExecution)" if state == "CANCELLED" else "no reason given")
            )
            category = execution.error_category
            retryable = bool(execution.retryable)
            kind = {1: "system error", 2: "user error", 3: "other error"}.get(category or 0)
            details = ", ".join(p for p in (kind, "retryable" if retryable else "") if p)
            message = f"Athena query {execution.query_id} {state}: {reason}" + (
                f" ({details})" if details else ""
            )
            return QueryFailedError(
                message, query_id=execution.query_id, state=state, category=category, retryable=retryable
            )
        cause = error.__cause__ or error.__context__
        if isinstance(cause, Exception) and type(cause).__name__ == "NoCredentialsError":
            from smtrail_sql.aws.session import aws_error

            return aws_error("start the Athena query", cause)
        text = str(error)
        if "output location" in text.lower() or "s3_staging_dir" in text:
            text += " (pass --output-location s3://..., or use a workgroup that sets a result location)"
        return EngineError(f"Athena refused the query: {text}")

    def with_status(self, status: StatusCallback | None) -> AthenaEngine:
        """The same engine reporting to another status callback."""
        engine = AthenaEngine(replace(self.settings), status=status, session=self._session)
        engine._connection = self._connection
        return engine

    def close(self) -> None:
        """Close the pyathena connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _sql_type(athena_type: str) -> str:
    """Athena's result type names (``varchar``, ``bigint``...) as the upper-case names of :mod:`schema`."""
    return athena_type.upper()
