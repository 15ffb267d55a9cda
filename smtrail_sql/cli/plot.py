"""``smtrail-sql plot``: metric curves as a PNG file, or drawn in the terminal."""

from __future__ import annotations

from pathlib import Path
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
    Logs,
    MaxScan,
    NoCache,
    OptionalAccounts,
    OptionalBucket,
    OptionalRegions,
    OrgId,
    OutputLocation,
    Prefix,
    Profile,
    QueriesDir,
    Quiet,
    Region,
    Since,
    Strict,
    Until,
    Verbose,
    View,
    Workgroup,
)
from smtrail_sql.plot import MAX_PNG_SIDE
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE

TrialComponents = Annotated[
    list[str],
    typer.Option("--trial-component", "-t", help="A trial component to draw; repeat or comma-separate."),
]
Metrics = Annotated[
    list[str], typer.Option("--metric", "-m", help="A metric to draw, one subplot each; repeat for more.")
]
XAxisOption = Annotated[str, typer.Option("--x", help="What the x axis shows: step, or time (the points' own "
                                                      "timestamps).")]
Output = Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False,
                                             help="Write a PNG file instead of drawing in the terminal.")]
MaxSeries = Annotated[int, typer.Option("--max-series", min=1,
                                        help="Most trial components drawn; the others are left out, noted.")]
Width = Annotated[int, typer.Option(help="PNG width in pixels.", min=100, max=MAX_PNG_SIDE)]
Height = Annotated[int | None, typer.Option(help="PNG height in pixels (default: 360 per row of subplots).",
                                            min=100, max=MAX_PNG_SIDE)]
LogY = Annotated[bool, typer.Option("--log-y", help="Logarithmic value axis (when every value is positive).")]

@app.command("plot")
def plot_curves(
    trial_component: TrialComponents,
    metric: Metrics,
    x: XAxisOption = "step",
    output: Output = None,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    max_series: MaxSeries = 20,
    width: Width = 1200,
    height: Height = None,
    log_y: LogY = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    engine: Engine = None,
    logs: Logs = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
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
    """Draw metric curves (value by step or by time) for trial components: a PNG, or text in the terminal
    (in colour; piped or with NO_COLOR, a marker character per trial component).

    \b
    Example: smtrail-sql plot -t job-a -t job-b -m train:loss --logs smtrail-demo --all-time -o loss.png
    """
    import shutil
    import sys

    from smtrail_sql.api import Toolkit
    from smtrail_sql.cli.console import live_progress, note, report
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.errors import SettingError
    from smtrail_sql.plot import X_AXES, save_png
    from smtrail_sql.textplot import color_for, render_text

    # settle every option before the engine reads a single file
    if output is not None and output.suffix.lower() != ".png":
        raise SettingError("output", str(output), "a .png file (or no --output to draw in the terminal)")
    if output is not None:
        from smtrail_sql.output import check_output_path

        check_output_path(output)
    if x not in X_AXES:
        raise SettingError("--x", x, "step or time")
    settings = EngineSettings(
        engine=engine, database=database, logs=logs, strict=strict, use_cache=not no_cache, workgroup=workgroup,
        output_location=output_location, region=region, profile=profile, catalog=catalog, bucket=bucket,
        prefix=prefix, org_id=org_id, accounts=accounts, regions=regions, max_scan=max_scan)
    kit = Toolkit.open(settings, queries_dirs=queries_dir, view=view)
    with live_progress() as progress:
        curves = kit.curves(trial_component, metric, x=x, since=since, until=until, all_time=all_time,
                            delivery_lag=delivery_lag, max_series=max_series, progress=progress)
    report(curves.stats, quiet=quiet, verbose=verbose)
    for line in curves.notes:
        note(f"note: {line}", quiet=quiet)
    if output is not None:
        save_png(curves, output, width=width, height=height, log_y=log_y)
        metrics = len(curves.metrics)
        note(f"wrote {output} ({curves.series_count} curves, {metrics} metric{'s' if metrics != 1 else ''})",
             quiet=quiet)
        return
    columns = shutil.get_terminal_size((100, 40)).columns
    # without colour (piped, NO_COLOR) the curves are told apart by a marker character each
    typer.echo(render_text(curves, width=min(columns, 160), height=12, color=color_for(sys.stdout)))

