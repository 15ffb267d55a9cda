"""Commands that talk to AWS: create-table, status, migrate, estimate, sync (check-trail: :mod:`.trail`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from smtrail_sql.cli.app import app
from smtrail_sql.cli.options import (
    DEFAULT_VIEW,
    Adopt,
    AllTime,
    Database,
    DataCatalog,
    DeliveryLag,
    OptionalAccounts,
    OptionalBucket,
    OptionalRegions,
    OrgId,
    OutputLocation,
    Params,
    Prefix,
    Profile,
    QueriesDir,
    QueryMetrics,
    QueryName,
    QueryTrialComponents,
    Region,
    Since,
    StartDate,
    StoreLocation,
    Table,
    Until,
    View,
    Workgroup,
)
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE, DEFAULT_TABLE


def _stderr_is_tty() -> bool:
    return sys.stderr.isatty()


def _print_statement(version: Any, sql: str) -> None:
    first = sql.strip().splitlines()[0]
    label = (f"version {version.number}" if version is not None
             else "database" if first.startswith("CREATE DATABASE") else "table")
    typer.echo(f"  [{label}] {first}", err=True)


def _deploy(
    *,
    print_only: bool,
    migrate_only: bool,
    adopt: bool,
    workgroup: str | None,
    output_location: str | None,
    region: str | None,
    profile: str | None,
    **table: Any,
) -> None:
    """create-table and migrate: what is not given is read back from the deployed table; validate the settings,
    then print the DDL or apply it on Athena (the table then follows them)."""
    from smtrail_sql import ddl, deploy
    from smtrail_sql.aws.session import make_session
    from smtrail_sql.projection import LOCATION_SETTINGS, resolve_location
    from smtrail_sql.settings import TableSettings, validate_catalog, validate_identifier

    ref = deploy.DeployedTable(validate_identifier("database", table["database"]),
                               validate_identifier("table", table["table"]), validate_catalog(table["catalog"]))
    given = {key: table.pop(key) for key in LOCATION_SETTINGS}
    settings = TableSettings.create(**table, **resolve_location(make_session(profile, region), ref, given,
                                                                always=not print_only))
    if print_only:
        typer.echo(ddl.script(ddl.render_all(settings, comments=True)), nl=False)
        return
    from smtrail_sql.cli.console import live_progress
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.engines.athena import AthenaEngine

    engine = AthenaEngine.from_settings(EngineSettings(
        database=settings.database, workgroup=workgroup, output_location=output_location, region=region,
        profile=profile, catalog=settings.catalog))
    action = deploy.migrate if migrate_only else deploy.create_table
    with live_progress() as progress:
        result = action(engine, settings, on_statement=_print_statement, progress=progress, adopt=adopt)
    typer.echo(result.describe())


@app.command("create-table")
def create_table(
    bucket: OptionalBucket = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
    start_date: StartDate = None,
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    view: View = DEFAULT_VIEW,
    catalog: DataCatalog = DEFAULT_CATALOG,
    store_location: StoreLocation = None,
    print_only: Annotated[bool, typer.Option("--print", help="Print the DDL of every version instead of "
                                                             "running it.")] = False,
    adopt: Adopt = False,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Create the partitioned CloudTrail table and the metric views on Athena (every DDL version, in order).

    Safe to re-run: a table already at the newest version is left alone; one deployed with other accounts,
    regions, prefix or start date is changed to follow these (ALTER TABLE ... SET TBLPROPERTIES), and views
    dropped by hand are created again. What is not given (flag, SMTRAIL_*, config profile) stays as deployed.
    A table of that name that smtrail-sql did not create is refused unless --adopt. With --print, only print
    the DDL.

    \b
    Example: smtrail-sql create-table --bucket my-trail-bucket --accounts 123456789012 --regions us-east-1 --print
    """
    _deploy(
        bucket=bucket, accounts=accounts, regions=regions, prefix=prefix, org_id=org_id, start_date=start_date,
        database=database, table=table, view=view, catalog=catalog, store_location=store_location,
        print_only=print_only, migrate_only=False, adopt=adopt,
        workgroup=workgroup, output_location=output_location, region=region, profile=profile,
    )


@app.command("status")
def status_command(
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    view: View = DEFAULT_VIEW,
    catalog: DataCatalog = DEFAULT_CATALOG,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Show the deployed schema version against the newest DDL, what each newer version changes, and what the
    metric store holds (read from its refresh log: one small Athena query).

    \b
    Example: smtrail-sql status --database smtrail --region us-east-1
    """
    from smtrail_sql import deploy
    from smtrail_sql.aws.session import make_session
    from smtrail_sql.settings import validate_catalog, validate_identifier

    ref = deploy.DeployedTable(
        validate_identifier("database", database),
        validate_identifier("table", table),
        validate_catalog(catalog),
        validate_identifier("view", view),
    )
    current = deploy.status(make_session(profile, region), ref)
    for line in current.describe():
        typer.echo(line)
    from smtrail_sql.store import STORE_VERSION

    if current.deployed is not None and current.deployed >= STORE_VERSION and not current.missing:
        from smtrail_sql.engines import EngineSettings
        from smtrail_sql.engines.athena import AthenaEngine
        from smtrail_sql.source import describe_store
        from smtrail_sql.store import naming_for

        engine = AthenaEngine.from_settings(EngineSettings(
            engine="athena", database=ref.database, workgroup=workgroup, output_location=output_location,
            region=region, profile=profile, catalog=ref.catalog))
        naming = naming_for(ref.database, view, ref.table)
        for line in describe_store(engine, naming):
            typer.echo(line)


@app.command("migrate")
def migrate_command(
    bucket: OptionalBucket = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
    start_date: StartDate = None,
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    view: View = DEFAULT_VIEW,
    catalog: DataCatalog = DEFAULT_CATALOG,
    store_location: StoreLocation = None,
    adopt: Adopt = False,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Apply the DDL versions newer than the deployed one (same options as create-table; the bucket, accounts
    and regions default to the deployed table's).

    \b
    Example: smtrail-sql migrate --database smtrail
    """
    _deploy(
        bucket=bucket, accounts=accounts, regions=regions, prefix=prefix, org_id=org_id, start_date=start_date,
        database=database, table=table, view=view, catalog=catalog, store_location=store_location,
        print_only=False, migrate_only=True, adopt=adopt,
        workgroup=workgroup, output_location=output_location, region=region, profile=profile,
    )


@app.command("estimate")
def estimate_command(
    name: QueryName,
    bucket: OptionalBucket = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
    trial_component: QueryTrialComponents = None,
    metric: QueryMetrics = None,
    param: Params = None,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    queries_dir: QueriesDir = None,
    store_location: StoreLocation = None,
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    view: View = DEFAULT_VIEW,
    catalog: DataCatalog = DEFAULT_CATALOG,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """List, with S3, the log files the query would read on Athena and print files, bytes and the scan cost;
    then the metric store's Parquet files for the same window (an upper bound: Athena reads only some columns).
    The bucket, accounts and regions not given are read from the deployed table (Glue, free).

    \b
    Example: smtrail-sql estimate metric-summary --bucket trails --accounts 123456789012 --regions us-east-1
    """
    from smtrail_sql.api import Toolkit
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.params import parse_assignments, with_name_options
    from smtrail_sql.wording import plural

    location = _location(database, table, catalog, region, profile, bucket=bucket, prefix=prefix, org_id=org_id,
                         accounts=accounts, regions=regions)
    settings = EngineSettings(engine="athena", bucket=location["bucket"], prefix=location["prefix"],
                              org_id=location["org_id"], accounts=location["accounts"], regions=location["regions"],
                              region=region, profile=profile, database=database, store_location=store_location)
    kit = Toolkit.open(settings, queries_dirs=queries_dir, view=view)
    values = with_name_options(kit.describe(name), parse_assignments(param), trial_component, metric)
    query = kit.query(name, values, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag)
    estimate = kit.estimate(query)
    typer.echo(plural(estimate.files, "file"))
    typer.echo(f"{estimate.bytes} bytes")
    typer.echo(f"{estimate.partitions_with_data} of {estimate.partitions} partitions hold data")
    typer.echo(f"about ${estimate.cost_usd:.6f} to scan on Athena at $5/TB (10 MiB minimum per query)")
    stored = kit.estimate(kit.query(name, values, since=since, until=until, all_time=all_time,
                                    delivery_lag=delivery_lag, source="store"))
    if stored.files:
        ratio = f"; the trail's files are {estimate.bytes / stored.bytes:,.0f}x larger" if stored.bytes else ""
        typer.echo(f"from the metric store: {stored.files} Parquet files, {stored.bytes} bytes at most{ratio}")
    else:
        typer.echo("from the metric store: no files for this window (not deployed or not refreshed: see refresh)")


def _location(database: str, table: str, catalog: str, region: str | None, profile: str | None,
              **given: str | None) -> dict[str, str | None]:
    """The log location given, what is missing read back from the deployed table."""
    from smtrail_sql.aws.session import make_session
    from smtrail_sql.deploy import DeployedTable
    from smtrail_sql.projection import needs_table, resolve_location
    from smtrail_sql.settings import validate_catalog, validate_identifier

    if not needs_table(given):
        return dict(given)
    ref = DeployedTable(validate_identifier("database", database), validate_identifier("table", table),
                        validate_catalog(catalog))
    return resolve_location(make_session(profile, region), ref, given)


class _SyncBar:
    """A rich progress bar (bytes, and files done of files planned) fed by the sync's progress callbacks."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.task = progress.add_task("listing", total=None)
        self.files = self.done = 0

    def planned(self, files: int, total_bytes: int) -> None:
        self.files = files
        self.progress.update(self.task, total=total_bytes, description=f"0/{files} files")

    def advanced(self, nbytes: int) -> None:
        self.progress.advance(self.task, nbytes)

    def file_done(self, obj: Any, skipped: bool) -> None:
        self.done += 1
        self.progress.update(self.task, description=f"{self.done}/{self.files} files")


@app.command("sync")
def sync_command(
    directory: Annotated[Path, typer.Argument(help="Where to write the files (it mirrors s3://BUCKET/).")],
    bucket: OptionalBucket = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Parallel downloads.")] = 16,
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    catalog: DataCatalog = DEFAULT_CATALOG,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Download the window's log files into DIR (bucket layout) for the local engine; resumable. The bucket,
    accounts and regions not given are read from the deployed table (Glue, free).

    \b
    Example: smtrail-sql sync --bucket trails --accounts 123456789012 --regions us-east-1 --since 3d ./trail
    """
    from smtrail_sql.aws.session import make_client, make_session
    from smtrail_sql.aws.sync import sync_logs
    from smtrail_sql.settings import LogLocation, validate_accounts, validate_regions
    from smtrail_sql.window import TimeWindow

    given = _location(database, table, catalog, region, profile, bucket=bucket, prefix=prefix, org_id=org_id,
                      accounts=accounts, regions=regions)
    location = LogLocation.create(given["bucket"] or "", given["prefix"], given["org_id"])
    account_ids, region_names = validate_accounts(given["accounts"] or ""), validate_regions(given["regions"] or "")
    window = TimeWindow.parse(since, until, all_time=all_time, delivery_lag=delivery_lag)
    s3 = make_client(make_session(profile, region), "s3", max_pool_connections=max(10, workers))
    if _stderr_is_tty():
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            result = sync_logs(
                s3,
                location,
                account_ids,
                region_names,
                window,
                directory,
                progress=_SyncBar(progress),
                workers=workers,
            )
    else:
        result = sync_logs(s3, location, account_ids, region_names, window, directory, workers=workers)
    typer.echo(result.describe())
