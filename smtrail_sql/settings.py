"""Settings of the Athena objects and of the log location, validated before any SQL exists.

Every value that ends up in DDL or in an S3 key is checked here against what AWS accepts, so that an invalid
one is an error naming the setting rather than a broken table.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from smtrail_sql.errors import SettingError
from smtrail_sql.schema import (
    EVENTS_RELATION,
    METRIC_CALLS_RELATION,
    METRIC_POINTS_RELATION,
    calls_view_for,
    store_names_for,
)
from smtrail_sql.window import EARLIEST_TIME

#: The one home of the S3, AWS Organizations and account name rules (the Athena engine's output location and
#: the reader's layout use them too).
BUCKET_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*()/-]+$")
ORG_ID_PATTERN: Final = re.compile(r"^o-[a-z0-9]{10,32}$")
ACCOUNT_PATTERN: Final = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2,5}(-[a-z]+)+-\d{1,2}[a-z]?$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
_CATALOG = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")

#: Athena's reserved keywords ("Escape reserved keywords in queries", Athena user guide): the list for DDL
#: (Hive: a name in it must be in backticks) and the list for SELECT and views (Trino: in double quotes).
ATHENA_DDL_RESERVED: Final = frozenset("""
    ALL ALTER AND ARRAY AS AUTHORIZATION BETWEEN BIGINT BINARY BOOLEAN BOTH BY CASE CASHE CAST CHAR COLUMN CONF
    CONSTRAINT COMMIT CREATE CROSS CUBE CURRENT CURRENT_DATE CURRENT_TIMESTAMP CURSOR DATABASE DATE DAYOFWEEK
    DECIMAL DELETE DESCRIBE DISTINCT DIV DOUBLE DROP ELSE END EXCHANGE EXISTS EXTENDED EXTERNAL EXTRACT FALSE
    FETCH FLOAT FLOOR FOLLOWING FOR FOREIGN FROM FULL FUNCTION GRANT GROUP GROUPING HAVING IF IMPORT IN INNER
    INSERT INT INTEGER INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LESS LIKE LOCAL MACRO MAP MORE NONE NOT NULL
    NUMERIC OF ON ONLY OR ORDER OUT OUTER OVER PARTIALSCAN PARTITION PERCENT PRECEDING PRECISION PRESERVE PRIMARY
    PROCEDURE RANGE READS REDUCE REGEXP REFERENCES REVOKE RIGHT RLIKE ROLLBACK ROLLUP ROW ROWS SELECT SET
    SMALLINT START TABLE TABLESAMPLE THEN TIME TIMESTAMP TO TRANSFORM TRIGGER TRUE TRUNCATE UNBOUNDED UNION
    UNIQUEJOIN UPDATE USER USING UTC_TIMESTAMP VALUES VARCHAR VIEWS WHEN WHERE WINDOW WITH
""".split())
ATHENA_SELECT_RESERVED: Final = frozenset("""
    ALTER AND AS BETWEEN BY CASE CAST CONSTRAINT CREATE CROSS CUBE CURRENT_DATE CURRENT_PATH CURRENT_TIME
    CURRENT_TIMESTAMP CURRENT_USER DEALLOCATE DELETE DESCRIBE DISTINCT DROP ELSE END ESCAPE EXCEPT EXECUTE EXISTS
    EXTRACT FALSE FIRST FOR FROM FULL GROUP GROUPING HAVING IN INNER INSERT INTERSECT INTO IS JOIN LAST LEFT LIKE
    LOCALTIME LOCALTIMESTAMP NATURAL NORMALIZE NOT NULL ON OR ORDER OUTER PREPARE RECURSIVE RIGHT ROLLUP SELECT
    TABLE THEN TRUE UNESCAPE UNION UNNEST USING VALUES WHEN WHERE WITH
""".split())

DEFAULT_DATABASE = "smtrail"
DEFAULT_TABLE = EVENTS_RELATION
DEFAULT_CATALOG = "AwsDataCatalog"
DEFAULT_START_DATE = date(2022, 1, 1)
#: Delivery days per chunk. Athena writes at most 100 partitions of a table per statement; the store is
#: partitioned by the day of event_time, and a chunk's events fall on its delivery days and the few days
#: before them, so 30 leaves room for the lag of CloudTrail's delivery (up to 30 days for a retried file).
DEFAULT_CHUNK_DAYS = 30
MAX_CHUNK_DAYS = 60


def validate_bucket(value: str) -> str:
    """An S3 bucket name (3-63 lowercase letters, digits, dots, hyphens); ``s3://`` is accepted and dropped."""
    name = value.strip()
    if name.startswith("s3://"):
        name = name[5:].rstrip("/")
    valid = "3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit"
    if not BUCKET_PATTERN.match(name) or ".." in name or name.startswith("xn--"):
        raise SettingError("bucket", value, valid)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    raise SettingError("bucket", value, valid + ", not an IP address")


def validate_prefix(value: str | None) -> str | None:
    """A key prefix above ``AWSLogs/`` (slashes at either end are dropped); ``None``/empty means none."""
    if value is None:
        return None
    prefix = value.strip().strip("/")
    if not prefix:
        return None
    segments = prefix.split("/")
    if not _PREFIX.match(prefix) or any(s in ("", ".", "..") for s in segments):
        raise SettingError("prefix", value, "S3 key segments of letters, digits and !_.*()- separated by '/'")
    if segments[-1] == "AWSLogs":
        raise SettingError("prefix", value, "the part above AWSLogs/, without AWSLogs itself")
    return prefix


def validate_org_id(value: str | None) -> str | None:
    """An AWS Organizations id, ``o-`` and 10-32 lowercase letters or digits; ``None`` for an account trail."""
    if value is None or not value.strip():
        return None
    if not ORG_ID_PATTERN.match(value.strip()):
        raise SettingError("org id", value, "'o-' followed by 10 to 32 lowercase letters or digits")
    return value.strip()


def split_commas(values: str | Iterable[str]) -> list[str]:
    """Comma-separated values (in one string or several) as a list, stripped, empty ones and repeats left out.

    >>> split_commas(["a, b", "b,,c"])
    ['a', 'b', 'c']
    """
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def required_names(values: str | Iterable[str], setting: str = "names") -> list[str]:
    """:func:`split_commas`, where at least one name is needed (a :class:`SettingError` otherwise).

    >>> required_names("train:loss,val:loss")
    ['train:loss', 'val:loss']
    """
    names = split_commas(values)
    if not names:
        raise SettingError(setting, values, "at least one name")
    return names


def validate_accounts(values: str | Iterable[str]) -> tuple[str, ...]:
    """One or more 12-digit account ids, as a list or comma-separated."""
    accounts = split_commas(values)
    if not accounts:
        raise SettingError("accounts", "", "at least one 12-digit AWS account id")
    for account in accounts:
        if not ACCOUNT_PATTERN.match(account):
            raise SettingError("account", account, "a 12-digit AWS account id such as 123456789012")
    return tuple(accounts)


def validate_regions(values: str | Iterable[str]) -> tuple[str, ...]:
    """One or more region names such as ``us-east-1``, as a list or comma-separated."""
    regions = split_commas(values)
    if not regions:
        raise SettingError("regions", "", "at least one AWS region name such as us-east-1")
    for region in regions:
        if not _REGION.match(region):
            raise SettingError("region", region, "an AWS region name such as us-east-1 or eu-central-2")
    return tuple(regions)


def validate_identifier(setting: str, value: str) -> str:
    """An Athena database, table or view name: lowercase letters, digits and '_', not starting with a digit."""
    if not _IDENTIFIER.match(value):
        raise SettingError(setting, value, "lowercase letters, digits and '_', not starting with a digit")
    return value


def needs_quotes(name: str) -> bool:
    """Whether Athena needs a database, table or view name quoted: backticks in DDL, double quotes in queries.

    Athena's rules: a name that begins with an underscore, and a reserved keyword (either list), must be
    quoted. The renderer quotes exactly these names, so the SQL of the usual names stays unquoted.

    >>> needs_quotes("smtrail"), needs_quotes("_staging"), needs_quotes("select"), needs_quotes("partition")
    (False, True, True, True)
    """
    upper = name.upper()
    return name.startswith("_") or upper in ATHENA_DDL_RESERVED or upper in ATHENA_SELECT_RESERVED


def validate_catalog(value: str) -> str:
    """An Athena data catalog name such as ``AwsDataCatalog``."""
    if not _CATALOG.match(value):
        raise SettingError("catalog", value, "letters, digits, '_' or '-', such as AwsDataCatalog")
    return value


def validate_s3_folder(setting: str, value: str) -> str:
    """An ``s3://bucket/folder/`` URI (a trailing ``/`` is added); the folder's keys keep to S3's safe characters.

    >>> validate_s3_folder("store location", "s3://my-bucket/smtrail")
    's3://my-bucket/smtrail/'
    """
    text = value.strip()
    bucket, _, folder = text.removeprefix("s3://").partition("/")
    folder = folder.strip("/")
    if not text.startswith("s3://") or not BUCKET_PATTERN.match(bucket) or (folder and not _PREFIX.match(folder)):
        raise SettingError(setting, value, "an S3 URI such as s3://my-bucket/smtrail-sql/")
    return f"s3://{bucket}/{folder}/" if folder else f"s3://{bucket}/"


def validate_start_date(value: str | date | None) -> date:
    """The first delivery day the table projects: an ISO date from 1970-01-01 (a four-digit year, as the
    projection's ``yyyy/MM/dd`` needs), not in the future.

    >>> validate_start_date("2024-01-31")
    datetime.date(2024, 1, 31)
    """
    if value is None:
        return DEFAULT_START_DATE
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            raise SettingError("start date", value, "an ISO date such as 2024-01-31, from 1970-01-01 to today"
                               ) from None
    if parsed < EARLIEST_TIME.date():
        raise SettingError("start date", str(value), "a date from 1970-01-01 to today")
    if parsed > datetime.now(UTC).date():
        raise SettingError("start date", str(value), "a date that is not in the future")
    return parsed


@dataclass(frozen=True)
class LogLocation:
    """Where a trail delivers: ``s3://BUCKET/[PREFIX/]AWSLogs/[ORG_ID/]``.

    >>> LogLocation.create("my-trail-bucket", prefix="audit", org_id=None).account_root("123456789012")
    'audit/AWSLogs/123456789012/CloudTrail/'
    """

    bucket: str
    prefix: str | None = None
    org_id: str | None = None

    @classmethod
    def create(cls, bucket: str, prefix: str | None = None, org_id: str | None = None) -> LogLocation:
        """Validate and build a location."""
        return cls(validate_bucket(bucket), validate_prefix(prefix), validate_org_id(org_id))

    @property
    def logs_root(self) -> str:
        """The key prefix of ``AWSLogs/[ORG_ID/]`` (never used as a table root: digests live below it)."""
        parts = [p for p in (self.prefix, "AWSLogs", self.org_id) if p]
        return "/".join(parts) + "/"

    def account_root(self, account: str) -> str:
        """The key prefix of one account's CloudTrail folder (events only, digests are beside it)."""
        return f"{self.logs_root}{account}/CloudTrail/"

    def partition_prefix(self, account: str, region: str, day: date) -> str:
        """The key prefix of one partition: an account, a region and a delivery day."""
        return f"{self.account_root(account)}{region}/{day:%Y/%m/%d}/"

    @property
    def location_template(self) -> str:
        """Athena's ``storage.location.template`` for partition projection."""
        return f"s3://{self.bucket}/{self.logs_root}${{account_id}}/CloudTrail/${{region}}/${{day}}"


@dataclass(frozen=True)
class TableSettings:
    """Everything the DDL needs: the log location, the projected partitions and the object names.

    Build it with :meth:`create`, which validates every value.
    """

    location: LogLocation
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    start_date: date = DEFAULT_START_DATE
    database: str = DEFAULT_DATABASE
    table: str = DEFAULT_TABLE
    view: str = METRIC_POINTS_RELATION
    calls_view: str = METRIC_CALLS_RELATION
    catalog: str = DEFAULT_CATALOG
    #: Where the metric store's Iceberg tables keep their files (DDL version 3): one folder per table below it.
    store_location: str = ""

    @property
    def store_tables(self) -> tuple[str, str, str]:
        """The metric store's points table, calls table and refresh log (named after the views)."""
        return store_names_for(self.view, self.calls_view)

    def store_folder(self, table: str) -> str:
        """The S3 folder of one of the store's tables.

        >>> TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1"
        ...                      ).store_folder("sagemaker_metrics_store")
        's3://trail-logs/smtrail-sql/smtrail/sagemaker_metrics_store/'
        """
        return f"{self.store_location}{table}/"

    @classmethod
    def create(
        cls,
        *,
        bucket: str,
        accounts: str | Iterable[str],
        regions: str | Iterable[str],
        prefix: str | None = None,
        org_id: str | None = None,
        start_date: str | date | None = None,
        database: str = DEFAULT_DATABASE,
        table: str = DEFAULT_TABLE,
        view: str = METRIC_POINTS_RELATION,
        calls_view: str | None = None,
        catalog: str = DEFAULT_CATALOG,
        store_location: str | None = None,
    ) -> TableSettings:
        """Validate every setting and build the settings.

        ``store_location`` defaults to ``s3://BUCKET/smtrail-sql/DATABASE/``: beside the trail's ``AWSLogs/``,
        never inside it.

        >>> s = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1,eu-west-1")
        >>> s.regions
        ('us-east-1', 'eu-west-1')
        """
        view = validate_identifier("view", view)
        if calls_view is None:
            calls_view = calls_view_for(view)
        location = LogLocation.create(bucket, prefix, org_id)
        database = validate_identifier("database", database)
        store = (validate_s3_folder("store location", store_location) if store_location
                 else f"s3://{location.bucket}/smtrail-sql/{database}/")
        return cls(
            location=location,
            accounts=validate_accounts(accounts),
            regions=validate_regions(regions),
            start_date=validate_start_date(start_date),
            database=database,
            table=validate_identifier("table", table),
            view=view,
            calls_view=validate_identifier("calls view", calls_view),
            catalog=validate_catalog(catalog),
            store_location=store,
        )


#: The largest log file, once inflated, that the local reader reads (a larger one is skipped as ``too-large``).
#: CloudTrail documents no largest file; it delivers one about every 5 minutes per account and region (more
#: for a busy one), typically a few KB to tens of MB inflated. 1 GiB leaves room for the busiest trails (data
#: events of busy buckets) while keeping what one file can take (a gzip bomb included) within a laptop's
#: memory: a reader process holds at most one file's bytes at a time.
DEFAULT_MAX_LOG_SIZE = 1 << 30
#: The environment variable that sets it (a size such as ``256MB`` or ``2GiB``).
MAX_LOG_SIZE_VARIABLE = "SMTRAIL_MAX_LOG_SIZE"


def validate_max_log_size(value: str | int | None) -> int:
    """The largest inflated size of a log file to read, in bytes: a size such as ``512MB``; None is the default.

    >>> validate_max_log_size(None) == DEFAULT_MAX_LOG_SIZE, validate_max_log_size("64MB")
    (True, 67108864)
    """
    return _size(value, DEFAULT_MAX_LOG_SIZE, MAX_LOG_SIZE_VARIABLE, 1, "a size of at least one byte")


#: What DuckDB may hold for a local query (DuckDB's own default is 80% of the machine's memory): past it,
#: sorts, joins and aggregations spill to a folder on disk, so a query over a bucket larger than the
#: machine's memory still runs. Every built-in query over the bench's 830,000 points runs in it without spilling.
DEFAULT_DUCKDB_MEMORY = 1 << 30
#: The environment variable that sets it (a size such as ``512MB`` or ``4GiB``).
DUCKDB_MEMORY_VARIABLE = "SMTRAIL_DUCKDB_MEMORY"
_DUCKDB_MEMORY_MIN = 64 << 20


def validate_duckdb_memory(value: str | int | None) -> int:
    """DuckDB's memory for a local query, in bytes: a size such as ``2GiB``; None is the default.

    >>> validate_duckdb_memory(None) == DEFAULT_DUCKDB_MEMORY, validate_duckdb_memory("512MiB")
    (True, 536870912)
    """
    return _size(value, DEFAULT_DUCKDB_MEMORY, DUCKDB_MEMORY_VARIABLE, _DUCKDB_MEMORY_MIN,
                 "a size of at least 64MiB")


def _size(value: str | int | None, default: int, variable: str, least: int, valid: str) -> int:
    """A size in bytes from ``value`` (bytes, or text such as ``512MB``), ``default`` for None or blank text;
    :class:`SettingError` naming ``variable`` when it is below ``least`` or not a size."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, int):
        size = value
    else:
        from smtrail_sql.aws.pricing import parse_size

        try:
            size = parse_size(value)
        except SettingError:
            size = 0
    if size < least:
        raise SettingError(variable, str(value), f"{valid}, such as 512MiB or 2GiB")
    return size
