"""The Athena engine: runs the rendered Athena SQL unchanged with pyathena, over boto3's credential chain.

While a query runs, an optional progress (``RunProgress.status``) receives the state, the elapsed time and the
data scanned on every poll (the CLI turns it into a live line on a terminal; the library never prints). A FAILED or
CANCELLED query raises :class:`~smtrail_sql.errors.QueryFailedError` with Athena's own reason; Ctrl-C stops
the query in Athena (``StopQueryExecution``, pyathena's ``kill_on_interrupt``) before the
``KeyboardInterrupt`` goes on; throttled API calls are retried with exponential backoff (pyathena's retry
layer on top of botocore's adaptive retries); every page of the result is fetched.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from smtrail_sql.aws.pricing import scan_cost_usd
from smtrail_sql.engines.base import EngineSettings, QueryStatus, RunProgress
from smtrail_sql.errors import EngineError, QueryFailedError, SettingError
from smtrail_sql.result import QueryResult, QueryStats
from smtrail_sql.settings import (
    BUCKET_PATTERN,
    DEFAULT_CATALOG,
    DEFAULT_DATABASE,
    validate_catalog,
    validate_identifier,
)

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
        if resolved_output is not None and not (
            resolved_output.startswith("s3://")
            and BUCKET_PATTERN.match(resolved_output[len("s3://"):].partition("/")[0])
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


class AthenaEngine:
    """Runs rendered queries on Athena with pyathena and returns typed rows.

    >>> # engine = AthenaEngine.from_settings(EngineSettings(database="smtrail", workgroup="primary"))
    >>> # engine.execute(query, progress=...).stats.describe_cost()
    """

    name: ClassVar[str] = "athena"
    dialect: ClassVar[str] = "athena"
    bills_scans: ClassVar[bool] = True

    def __init__(self, settings: AthenaSettings, *, session: Any | None = None) -> None:
        self.settings = settings
        self._session = session
        self._connection: Any | None = None

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> AthenaEngine:
        """An engine from the settings (``None``: from ``SMTRAIL_*`` / pyathena's variables / defaults)."""
        return cls(AthenaSettings.resolve(
            database=settings.database,
            workgroup=settings.workgroup,
            output_location=settings.output_location,
            region=settings.region,
            profile=settings.profile,
            catalog=settings.catalog,
            poll_interval=settings.poll_interval,
        ))

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

    def execute(self, query: RenderedQuery, *, progress: RunProgress | None = None) -> QueryResult:
        """Run a rendered query (its Athena SQL, exactly as ``render`` prints it)."""
        return self.run_sql(query.sql, progress=progress)

    def run_sql(self, sql: str, *, progress: RunProgress | None = None) -> QueryResult:
        """Run one SQL statement (a query or DDL) and return every row, typed; ``progress`` hears every poll.

        Raises :class:`QueryFailedError` when Athena ends it FAILED or CANCELLED, :class:`EngineError` when
        the request itself is refused; Ctrl-C stops the query in Athena and re-raises ``KeyboardInterrupt``.
        """
        from pyathena.error import DatabaseError, Error
        from pyathena.model import AthenaQueryExecution

        started = time.monotonic()
        last: list[AthenaQueryExecution] = []

        def on_poll(execution: Any) -> None:
            last[:] = [execution]
            if progress is not None and isinstance(execution, AthenaQueryExecution):
                progress.status(
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
        stats = QueryStats(
            engine=self.name,
            elapsed_seconds=elapsed,
            query_id=query_id,
            state=state,
            bytes_scanned=scanned,
            cost_usd=scan_cost_usd(scanned),
            engine_seconds=engine_millis / 1000,
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

    def close(self) -> None:
        """Close the pyathena connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _sql_type(athena_type: str) -> str:
    """Athena's result type names (``varchar``, ``bigint``...) as the upper-case names of :mod:`schema`."""
    return athena_type.upper()
