"""Commands over your own SQL and the views' columns: ``sql``, ``columns`` and ``export``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from smtrail_sql.cli.app import app
from smtrail_sql.cli.options import (
    DEFAULT_VIEW,
    AllTime,
    Database,
    DataCatalog,
    DeliveryLag,
    Engine,
    Format,
    Logs,
    MaxRows,
    MaxScan,
    NoCache,
    NoPager,
    OptionalAccounts,
    OptionalBucket,
    OptionalRegions,
    OrgId,
    OutputLocation,
    Prefix,
    Profile,
    Quiet,
    Region,
    RowsOutput,
    Since,
    Source,
    Strict,
    Until,
    Verbose,
    View,
    Wide,
    Workgroup,
)
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE

SqlText = Annotated[str, typer.Argument(
    help="One read-only query in Athena (Trino) SQL over sagemaker_metrics and sagemaker_metric_calls; "
    "- reads it from stdin (put text that begins with - after --).", show_default=False)]
ExportTo = Annotated[str, typer.Option(
    "--to", help="Where to write: FILE.duckdb, FILE.db/.sqlite/.sqlite3 (SQLite), or a folder (or NAME.parquet) "
    "for Parquet, sagemaker_metrics.parquet and sagemaker_metric_calls.parquet.", show_default=False)]
ExportFormat = Annotated[str | None, typer.Option(
    "--format", "-f", metavar="[duckdb|sqlite|parquet]", help="The format (default: from --to's extension; a "
    "folder is Parquet).")]
Force = Annotated[bool, typer.Option("--force", help="Replace the export's files if they exist.")]


@app.command("sql")
def run_sql(
    text: SqlText,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    engine: Engine = None,
    source: Source = None,
    logs: Logs = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    fmt: Format = None,
    output: RowsOutput = None,
    wide: Wide = False,
    max_rows: MaxRows = None,
    no_pager: NoPager = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    strict: Strict = False,
    no_cache: NoCache = False,
    database: Database = DEFAULT_DATABASE,
    view: View = DEFAULT_VIEW,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
    catalog: DataCatalog = DEFAULT_CATALOG,
    max_scan: MaxScan = None,
    bucket: OptionalBucket = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
) -> None:
    """Run your own read-only SQL over the views and print its rows, on either engine.

    The time window and the deduplication of copies apply exactly as for a canned query (each view read
    becomes a CTE that keeps the window's rows, each event once). One query only: anything that writes, reads
    a file or reads cloudtrail_events is refused (exit 2). `smtrail-sql columns` lists what you can read.

    \b
    Example: smtrail-sql sql "SELECT metric_name, count(*) AS n FROM sagemaker_metrics GROUP BY 1" --logs logs
    """
    from smtrail_sql.api import Toolkit
    from smtrail_sql.cli.console import live_progress, note, report, write_rows
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.output import resolve_format

    resolve_format(fmt, output)  # a bad --format fails before any file is read
    if text.strip() == "-":
        text = sys.stdin.read()
    settings = EngineSettings(
        engine=engine, database=database, logs=logs, strict=strict, use_cache=not no_cache, workgroup=workgroup,
        output_location=output_location, region=region, profile=profile, catalog=catalog, bucket=bucket,
        prefix=prefix, org_id=org_id, accounts=accounts, regions=regions, max_scan=max_scan)
    kit = Toolkit.open(settings, view=view)
    query = kit.sql_query(text, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag)
    choice = kit.choose_source(source, query.window)  # (after every value is checked: it may ask Athena)
    if choice.source != "trail":
        query = kit.sql_query(text, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag,
                              source=choice.source)
    if choice.note:
        note(choice.note, quiet=quiet)
    with live_progress() as progress:
        result = kit.execute(query, progress=progress)
    write_rows(result, fmt, output, wide=wide, max_rows=max_rows, no_pager=no_pager, quiet=quiet)
    report(result.stats, quiet=quiet, verbose=verbose)


@app.command("columns")
def list_columns(fmt: Format = None, output: RowsOutput = None) -> None:
    """List the relations your SQL and templates read, and their columns: type and what each holds.

    \b
    Example: smtrail-sql columns
    """
    from smtrail_sql.adhoc import columns_result, describe_relations
    from smtrail_sql.output import resolve_format, write_result

    if resolve_format(fmt, output) == "table" and output is None:
        for relation, description in describe_relations():
            typer.echo(f"{relation}: {description}")
        typer.echo("")
    write_result(columns_result(), fmt, output)


@app.command("export")
def export(
    to: ExportTo,
    fmt: ExportFormat = None,
    force: Force = False,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    engine: Engine = None,
    source: Source = None,
    logs: Logs = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    strict: Strict = False,
    no_cache: NoCache = False,
    database: Database = DEFAULT_DATABASE,
    view: View = DEFAULT_VIEW,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
    catalog: DataCatalog = DEFAULT_CATALOG,
    max_scan: MaxScan = None,
    bucket: OptionalBucket = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
) -> None:
    """Export a window of both views, each event once, to a DuckDB file, an SQLite file or Parquet.

    The rows are those queries see (the window, one copy of each event). The format follows --to's extension
    (.duckdb; .db, .sqlite, .sqlite3; a folder or NAME.parquet for Parquet) or --format. An existing file is
    replaced only with --force. `duckdb FILE`, `datasette FILE` and any Parquet reader open the result.

    \b
    Example: smtrail-sql export --to metrics.duckdb --logs smtrail-demo --all-time
    """
    from smtrail_sql.api import Toolkit
    from smtrail_sql.cli.console import live_progress
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.export import check_target, export_format
    from smtrail_sql.window import api_window

    check_target(to, export_format(to, fmt), force=force)  # (before any file is read)
    window = api_window(since, until, all_time=all_time, delivery_lag=delivery_lag)
    settings = EngineSettings(
        engine=engine, database=database, logs=logs, strict=strict, use_cache=not no_cache, workgroup=workgroup,
        output_location=output_location, region=region, profile=profile, catalog=catalog, bucket=bucket,
        prefix=prefix, org_id=org_id, accounts=accounts, regions=regions, max_scan=max_scan)
    kit = Toolkit.open(settings, view=view)
    choice = kit.choose_source(source, window)  # (after every value is checked: it may ask Athena)
    if choice.note:
        typer.echo(choice.note, err=True)
    with live_progress() as progress:
        summary = kit.export(to, fmt=fmt, force=force, since=since, until=until, all_time=all_time,
                             delivery_lag=delivery_lag, source=choice.source, progress=progress)
    # (both queries read the same files: each line once)
    for line in dict.fromkeys(line for stats in summary.stats for line in stats.describe()):
        typer.echo(line, err=True)
    typer.echo(summary.describe(), err=True)
