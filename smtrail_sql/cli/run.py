"""Commands that run a query and print its rows: ``run`` (on either engine) and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    Params,
    Prefix,
    Profile,
    QueriesDir,
    QueryMetrics,
    QueryName,
    QueryTrialComponents,
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

if TYPE_CHECKING:
    pass

#: Where ``demo`` writes when no folder is given (README's quick start uses it).
DEFAULT_DEMO_DIR = Path("smtrail-demo")


@app.command("run")
def run_query(
    name: QueryName,
    trial_component: QueryTrialComponents = None,
    metric: QueryMetrics = None,
    param: Params = None,
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
    queries_dir: QueriesDir = None,
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
    """Run a canned (or your own) query and print its rows: locally with DuckDB over --logs, or on Athena.

    \b
    Example: smtrail-sql run metric-summary --logs smtrail-demo -m train:loss --since 3d
    """
    from smtrail_sql.api import Toolkit
    from smtrail_sql.cli.console import live_progress, note, report, write_rows
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.output import resolve_format
    from smtrail_sql.params import parse_assignments, with_name_options

    resolve_format(fmt, output)  # a bad --format fails before any file is read
    settings = EngineSettings(
        engine=engine, database=database, logs=logs, strict=strict, use_cache=not no_cache, workgroup=workgroup,
        output_location=output_location, region=region, profile=profile, catalog=catalog, bucket=bucket,
        prefix=prefix, org_id=org_id, accounts=accounts, regions=regions, max_scan=max_scan)
    kit = Toolkit.open(settings, queries_dirs=queries_dir, view=view)
    query = kit.prepare(name, parse_assignments(param), trial_component, metric, since=since, until=until,
                        all_time=all_time, delivery_lag=delivery_lag)
    choice = kit.choose_source(source, query.window)  # (after every value is checked: it may ask Athena)
    if choice.source != "trail":
        values = with_name_options(kit.describe(name), parse_assignments(param), trial_component, metric)
        query = kit.query(name, values, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag,
                          source=choice.source)
    if choice.note:
        note(choice.note, quiet=quiet)
    with live_progress() as progress:
        result = kit.execute(query, progress=progress)
    write_rows(result, fmt, output, wide=wide, max_rows=max_rows, no_pager=no_pager, quiet=quiet)
    report(result.stats, quiet=quiet, verbose=verbose)
    if not result.rows:
        from smtrail_sql.explain import explain_empty, names_present

        note(explain_empty(query, names_present(kit.engine, query, kit.execute)), quiet=quiet)


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the sample bucket copy.")] = DEFAULT_DEMO_DIR,
    seed: Annotated[int, typer.Option(help="Seed of the generator: the same seed, the same sample.")] = 7,
    wide: Wide = False,
    no_pager: NoPager = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Write a realistic sample CloudTrail bucket copy and run a first query on it.

    \b
    Example: smtrail-sql demo ./smtrail-demo
    """
    from smtrail_sql.api import Toolkit
    from smtrail_sql.aws.pricing import format_bytes
    from smtrail_sql.cli.console import live_progress, note, report, write_rows
    from smtrail_sql.demo import write_sample_bucket
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.wording import plural

    summary = write_sample_bucket(directory, seed=seed)
    note(f"wrote {plural(summary.log_files, 'CloudTrail file')} ({format_bytes(summary.uncompressed_bytes)} of "
         f"JSON, {plural(summary.metric_calls, 'BatchPutMetrics call')}, {plural(summary.points, 'metric point')}, "
         f"{plural(summary.failed_calls, 'failed call')}, {plural(summary.digest_files, 'digest')}) to {directory}/",
         quiet=quiet)
    note(f"$ smtrail-sql run runs --logs {directory}", quiet=quiet)
    kit = Toolkit.open(EngineSettings(engine="local", logs=directory))
    with live_progress() as progress:
        result = kit.execute(kit.query("runs"), progress=progress)
    write_rows(result, wide=wide, no_pager=no_pager, quiet=quiet)
    report(result.stats, quiet=quiet, verbose=verbose)
    note(f"\nNext:\n  smtrail-sql queries\n  smtrail-sql run metric-summary --logs {directory} -m train:loss"
         f"\n  smtrail-sql run metrics --logs {directory}", quiet=quiet)
