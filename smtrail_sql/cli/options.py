"""Option types shared by the commands, each with its ``SMTRAIL_...`` environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from smtrail_sql.schema import METRIC_POINTS_RELATION

#: The metric-point view's name unless --view says otherwise (the calls view's follows it).
DEFAULT_VIEW = METRIC_POINTS_RELATION



# Shell completion (smtrail-sql --install-completion): each function gets the command's context, with the
# arguments typed so far parsed into ctx.params, and the word being typed; it answers (value, help) pairs.
def _queries(ctx: typer.Context) -> list[Any]:
    """The QueryInfo of every query the command sees (its --queries-dir too); none if they cannot be loaded."""
    from smtrail_sql.api import Toolkit
    from smtrail_sql.errors import SmtrailError

    try:
        return Toolkit(queries_dirs=ctx.params.get("queries_dir") or None).queries()
    except (SmtrailError, OSError):
        return []


def complete_query_name(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """The query names that start with what is typed, each with its summary."""
    return [(info.name, info.summary) for info in _queries(ctx) if info.name.startswith(incomplete)]


def complete_param(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """``NAME=`` for each parameter of the query already given (``-p`` then TAB), with its help."""
    # while -p waits for its value, click's lenient parse stops and leaves the query name among the args
    name = ctx.params.get("name") or next((arg for arg in ctx.args if not arg.startswith("-")), None)
    if "=" in incomplete or not name:
        return []
    return [(f"{param.name}=", param.help) for info in _queries(ctx) if info.name == name
            for param in info.params if param.name.startswith(incomplete)]


def complete_format(incomplete: str) -> list[str]:
    """The output formats that start with what is typed."""
    from smtrail_sql.output import FORMATS

    return [name for name in FORMATS if name.startswith(incomplete)]


QueryName = Annotated[str, typer.Argument(help="The query's name, as `smtrail-sql queries` lists it.",
                                          autocompletion=complete_query_name)]

Params = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A template parameter as key=value; repeat for more (lists: a,b,c).",
                 autocompletion=complete_param),
]
QueryTrialComponents = Annotated[
    list[str] | None,
    typer.Option("--trial-component", "-t", help="Only this trial component (the query's trial_components "
                 "parameter); repeat or comma-separate."),
]
QueryMetrics = Annotated[
    list[str] | None,
    typer.Option("--metric", "-m", help="Only this metric (the query's metrics parameter); repeat or "
                 "comma-separate."),
]
Since = Annotated[
    str | None,
    typer.Option(help="Start of the event-time window: ISO date/datetime or an age such as 7d, 12h.",
                 envvar="SMTRAIL_SINCE"),
]
Until = Annotated[
    str | None,
    typer.Option(help="End (exclusive) of the window: ISO date/datetime or an age. Default: now.",
                 envvar="SMTRAIL_UNTIL"),
]
DeliveryLag = Annotated[
    str | None,
    typer.Option("--delivery-lag", help="How long after --until a log file may still be delivered: the window "
                 "reads delivery days up to until + this (90m, 36h, 4d, 2w; 0 to 31d). Default: 1d; the "
                 "delivery-lag query measures yours.", envvar="SMTRAIL_DELIVERY_LAG"),
]
AllTime = Annotated[
    bool, typer.Option("--all-time", help="No time window: read every delivery day (default: the last 7 days).")
]
QueriesDir = Annotated[
    list[Path] | None,
    typer.Option("--queries-dir", help="A folder of your own templates (same format); repeatable.",
                 envvar="SMTRAIL_QUERIES_DIR"),
]
Bucket = Annotated[str, typer.Option(help="The trail's S3 bucket.", envvar="SMTRAIL_BUCKET")]
OptionalBucket = Annotated[str | None, typer.Option("--bucket", help="The trail's S3 bucket.",
                                                    envvar="SMTRAIL_BUCKET")]
Prefix = Annotated[str | None, typer.Option(help="Key prefix above AWSLogs/, if the trail has one.",
                                            envvar="SMTRAIL_PREFIX")]
OrgId = Annotated[str | None, typer.Option("--org-id", help="Organisation id (o-...) of an organisation trail.",
                                           envvar="SMTRAIL_ORG_ID")]
Accounts = Annotated[str, typer.Option(help="Comma-separated 12-digit account ids to project.",
                                       envvar="SMTRAIL_ACCOUNTS")]
OptionalAccounts = Annotated[str | None, typer.Option("--accounts", help="Comma-separated account ids: the "
                                                      "partitions read (-p account_ids= filters a query's rows).",
                                                      envvar="SMTRAIL_ACCOUNTS")]
Regions = Annotated[str, typer.Option(help="Comma-separated regions to project, e.g. us-east-1,eu-west-1.",
                                      envvar="SMTRAIL_REGIONS")]
OptionalRegions = Annotated[str | None, typer.Option("--regions", help="Comma-separated regions: the partitions "
                                                     "read (-p region_codes= filters a query's rows).",
                                                     envvar="SMTRAIL_REGIONS")]
StartDate = Annotated[str | None, typer.Option(help="First delivery day the table projects (ISO date).",
                                               envvar="SMTRAIL_START_DATE")]
Database = Annotated[str, typer.Option(help="Athena database.", envvar="SMTRAIL_DATABASE")]
Table = Annotated[str, typer.Option(help="Name of the CloudTrail table.", envvar="SMTRAIL_TABLE")]
View = Annotated[str, typer.Option(help="Name of the metric-point view.", envvar="SMTRAIL_VIEW")]
StoreLocation = Annotated[
    str | None,
    typer.Option("--store-location", help="s3:// folder of the metric store's Iceberg tables (DDL version 3). "
                 "Default: s3://BUCKET/smtrail-sql/DATABASE/.", envvar="SMTRAIL_STORE_LOCATION"),
]
Adopt = Annotated[bool, typer.Option("--adopt", help="Take over a table of that name that smtrail-sql did not "
                                      "create (it records no schema version): apply every DDL version to it and "
                                      "set its partition projection to these settings.")]
DataCatalog = Annotated[str, typer.Option("--catalog", help="Athena data catalog.", envvar="SMTRAIL_CATALOG")]

# Engines
Source = Annotated[
    str | None,
    typer.Option("--source", metavar="[auto|store|trail]",
                 help="On Athena, what the query reads: the metric store (see refresh) or the trail's views. "
                 "Default auto: the store when it is deployed and holds the window, else the trail (a note says "
                 "why). The local engine always reads its log files.", envvar="SMTRAIL_SOURCE"),
]
Engine = Annotated[
    str | None,
    typer.Option("--engine", "-e", metavar="[local|athena]",
                 help="local (DuckDB over --logs) or athena. Default: athena when Athena "
                 "settings are given (SMTRAIL_WORKGROUP, SMTRAIL_OUTPUT_LOCATION...), else local.",
                 envvar="SMTRAIL_ENGINE"),
]
Logs = Annotated[
    Path | None,
    typer.Option("--logs", help="Folder of CloudTrail files for the local engine: a bucket copy "
                 "(AWSLogs/...) or a plain folder of .json.gz files.", envvar="SMTRAIL_LOGS"),
]

# Athena and AWS settings
Workgroup = Annotated[
    str | None,
    typer.Option(help="Athena workgroup (default: AWS_ATHENA_WORK_GROUP, else 'primary').", envvar="SMTRAIL_WORKGROUP"),
]
OutputLocation = Annotated[
    str | None,
    typer.Option(
        help="s3:// URI for query results; optional when the workgroup sets one (default: AWS_ATHENA_S3_STAGING_DIR).",
        envvar="SMTRAIL_OUTPUT_LOCATION",
    ),
]
Region = Annotated[
    str | None,
    typer.Option(help="AWS region (default: the profile's or AWS_REGION).", envvar="SMTRAIL_REGION"),
]
Profile = Annotated[
    str | None,
    typer.Option(help="AWS profile (default: AWS_PROFILE or the default chain).", envvar="SMTRAIL_PROFILE"),
]
MaxScan = Annotated[
    str | None,
    typer.Option(
        "--max-scan",
        help="Refuse to run when the S3 estimate of the scan exceeds this size "
        "(e.g. 500MiB, 2GiB); needs the location options.",
        envvar="SMTRAIL_MAX_SCAN",
    ),
]

# Output of the rows, and the local engine's reading
Format = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="[table|csv|tsv|json|jsonl|markdown|parquet]",
                 help="How the rows are written (default: from --output's extension, else table).",
                 autocompletion=complete_format),
]
RowsOutput = Annotated[Path | None, typer.Option("--output", "-o", help="Write the rows to this file.")]
Wide = Annotated[bool, typer.Option("--wide", help="Keep every table column whole, however wide the terminal: "
                                    "by default long text ends in ... and ARN, user-agent, caller and source-IP "
                                    "columns go first when the table does not fit.")]
MaxRows = Annotated[
    int | None,
    typer.Option("--max-rows", min=0, help="Rows a table on a terminal shows: the first and last halves "
                 "(default 40; 0 for all). Files, pipes and other formats get every row.",
                 envvar="SMTRAIL_MAX_ROWS"),
]
NoPager = Annotated[bool, typer.Option("--no-pager", help="Print a table straight to the terminal, not through "
                                       "the pager (SMTRAIL_PAGER, else PAGER, else less -R; empty: none).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print no notes on stderr (scan and cost, files "
                                     "skipped, columns left out...): only the rows, and errors.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Report the routine too: the CloudTrail digest "
                                       "files skipped (always present in a trail, never read).")]
Strict = Annotated[bool, typer.Option("--strict", help="A bad log file (corrupt gzip, truncated, foreign or too "
                                      "deep JSON, empty, too large, not a regular file, a link loop) or a folder "
                                      "that cannot be read is an error instead of being skipped and counted.")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Read every log file again; neither use nor fill "
                                       "the extraction cache.")]
