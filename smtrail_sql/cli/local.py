"""Commands that run queries: ``run`` (local or Athena), ``demo``, and ``cache info`` / ``cache clear``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smtrail_sql.cli.app import app
from smtrail_sql.cli.options import (
    AllTime,
    Catalog,
    Database,
    DeliveryLag,
    Engine,
    Logs,
    MaxScan,
    OptionalAccounts,
    OptionalBucket,
    OptionalRegions,
    OrgId,
    OutputLocation,
    Params,
    Prefix,
    Profile,
    QueriesDir,
    Region,
    Since,
    Until,
    View,
    Workgroup,
)
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE

if TYPE_CHECKING:
    from smtrail_sql.result import QueryResult

#: Where ``demo`` writes when no folder is given (README's quick start uses it).
DEFAULT_DEMO_DIR = Path("smtrail-demo")
#: Settings that mean the user set up Athena: with any of them and no --logs, ``run`` goes to Athena.
ATHENA_SETTINGS_VARIABLES = ("SMTRAIL_WORKGROUP", "SMTRAIL_OUTPUT_LOCATION", "AWS_ATHENA_S3_STAGING_DIR",
                             "AWS_ATHENA_WORK_GROUP")

Format = Annotated[
    str | None,
    typer.Option("--format", "-f", help="table, csv, tsv, json, jsonl, markdown or parquet "
                 "(default: from --output's extension, else table)."),
]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write the rows to this file.")]
Strict = Annotated[bool, typer.Option("--strict", help="A bad log file (corrupt gzip, truncated, foreign or too "
                                      "deep JSON, empty, too large, not a regular file, a link loop) or a folder "
                                      "that cannot be read is an error instead of being skipped and counted.")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Read every log file again; neither use nor fill "
                                       "the extraction cache.")]


def choose_engine(engine: str | None, logs: Path | None, environ: dict[str, str] | None = None,
                  *, athena_options: bool = False) -> str:
    """``local`` or ``athena``: the one asked for, else athena when Athena is configured (an Athena option
    or variable) and no --logs given.

    >>> choose_engine(None, None, {}), choose_engine(None, None, {"SMTRAIL_WORKGROUP": "primary"})
    ('local', 'athena')
    """
    from smtrail_sql.engines import ENGINE_NAMES
    from smtrail_sql.errors import SettingError

    if engine is not None:
        name = engine.strip().lower()
        if name not in ENGINE_NAMES:
            raise SettingError("engine", engine, f"one of {', '.join(ENGINE_NAMES)}")
        return name
    env = os.environ if environ is None else environ
    if logs is None and (athena_options or any(env.get(name) for name in ATHENA_SETTINGS_VARIABLES)):
        return "athena"
    return "local"


class FileProgress:
    """A rich progress bar over log files (files, MB, rate) on stderr; only built for a terminal."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        # the bar advances by bytes (gzipped, as on disk); files are counted beside it
        self._progress = Progress(
            TextColumn("reading logs"), BarColumn(), TextColumn("{task.fields[done]}/{task.fields[files]} files"),
            DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=console if console is not None else Console(stderr=True), transient=True,
        )
        self._task: Any = None

    def start(self, files: int, total_bytes: int) -> None:
        if files == 0:
            return
        self._progress.start()
        self._done = 0
        self._task = self._progress.add_task("read", total=total_bytes, done=0, files=files)

    def advance(self, files: int, nbytes: int) -> None:
        if self._task is not None:
            self._done += files
            self._progress.update(self._task, advance=nbytes, done=self._done)

    def finish(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


def progress_for_terminal() -> FileProgress | None:
    """A progress bar when stderr is a terminal; None (silence) for a pipe or a file."""
    return FileProgress() if sys.stderr.isatty() else None


def skipped_summary(result: QueryResult) -> str | None:
    """The one line that reports skipped files, or None when none was skipped.

    >>> from smtrail_sql.result import QueryResult, QueryStats
    >>> stats = QueryStats("local", 0.1, files_skipped=3, skipped_reasons={"digest": 2, "corrupt-gzip": 1})
    >>> skipped_summary(QueryResult([], [], [], stats))
    'skipped 3 files: 2 digest, 1 corrupt-gzip'
    """
    stats = result.stats
    if stats is None or not stats.files_skipped:
        return None
    reasons = ", ".join(f"{count} {reason}" for reason, count in
                        sorted(stats.skipped_reasons.items(), key=lambda item: (-item[1], item[0])))
    return f"skipped {stats.files_skipped} files: {reasons}"


def local_engine(logs: Path | None, accounts: str | None, regions: str | None, *, strict: bool,
                 no_cache: bool, progress: bool = True) -> Any:
    """The local engine the options describe (``--logs`` is required)."""
    from smtrail_sql.engines.local import LocalEngine
    from smtrail_sql.errors import SettingError

    if logs is None:
        raise SettingError("--logs", None, "a folder of CloudTrail files (or set SMTRAIL_LOGS); "
                           "`smtrail-sql demo` writes a sample one to ./smtrail-demo")
    return LocalEngine(logs, accounts=accounts, regions=regions, use_cache=not no_cache, strict=strict,
                       progress=progress_for_terminal() if progress else None)


@app.command("run")
def run_query(
    name: Annotated[str, typer.Argument(help="The query's name, as `smtrail-sql queries` lists it.")],
    param: Params = None,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    engine: Engine = None,
    logs: Logs = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    fmt: Format = None,
    output: Output = None,
    strict: Strict = False,
    no_cache: NoCache = False,
    queries_dir: QueriesDir = None,
    database: Database = DEFAULT_DATABASE,
    view: View = "sagemaker_metrics",
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
    catalog: Catalog = DEFAULT_CATALOG,
    max_scan: MaxScan = None,
    bucket: OptionalBucket = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
) -> None:
    """Run a canned (or your own) query and print its rows: locally with DuckDB over --logs, or on Athena.

    \b
    Example: smtrail-sql run metric-summary --logs smtrail-demo -p metrics=train:loss --since 3d
    """
    from smtrail_sql.catalog import Catalog as TemplateCatalog
    from smtrail_sql.output import resolve_format, write_result
    from smtrail_sql.params import parse_assignments
    from smtrail_sql.render import Naming, render
    from smtrail_sql.schema import calls_view_for
    from smtrail_sql.window import TimeWindow

    resolve_format(fmt, output)  # a bad --format fails before any file is read
    template = TemplateCatalog.load(queries_dir).get(name)
    window = TimeWindow.parse(since, until, all_time=all_time, delivery_lag=delivery_lag)
    naming = Naming(database=database, view=view, calls_view=calls_view_for(view))
    query = render(template, parse_assignments(param), window=window, naming=naming)
    if choose_engine(engine, logs, athena_options=bool(workgroup or output_location)) == "athena":
        from smtrail_sql.cli.athena import run_on_athena

        result = run_on_athena(query, database=database, workgroup=workgroup, output_location=output_location,
                               region=region, profile=profile, catalog=catalog, max_scan=max_scan,
                               bucket=bucket, prefix=prefix, org_id=org_id, accounts=accounts, regions=regions)
    else:
        result = local_engine(logs, accounts, regions, strict=strict, no_cache=no_cache).execute(query)
    write_result(result, fmt, output)
    summary = skipped_summary(result)
    if summary:
        typer.echo(summary, err=True)


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the sample bucket copy.")] = DEFAULT_DEMO_DIR,
    seed: Annotated[int, typer.Option(help="Seed of the generator: the same seed, the same sample.")] = 7,
) -> None:
    """Write a realistic sample CloudTrail bucket copy and run a first query on it.

    \b
    Example: smtrail-sql demo ./smtrail-demo
    """
    from smtrail_sql.catalog import Catalog
    from smtrail_sql.demo import write_sample_bucket
    from smtrail_sql.output import write_result
    from smtrail_sql.render import render
    from smtrail_sql.window import TimeWindow

    summary = write_sample_bucket(directory, seed=seed)
    typer.echo(
        f"wrote {summary.log_files} CloudTrail files ({summary.uncompressed_bytes / 1e6:.1f} MB of JSON, "
        f"{summary.metric_calls} BatchPutMetrics calls, {summary.points} metric points, "
        f"{summary.failed_calls} failed calls, {summary.digest_files} digests) to {directory}/", err=True)
    typer.echo(f"$ smtrail-sql run runs --logs {directory}", err=True)
    engine = local_engine(directory, None, None, strict=False, no_cache=False)
    result = engine.execute(render(Catalog.load().get("runs"), window=TimeWindow.parse()))
    write_result(result)
    line = skipped_summary(result)
    if line:
        typer.echo(line, err=True)
    typer.echo(
        "\nNext: smtrail-sql queries   |   smtrail-sql run metric-summary --logs "
        f"{directory} -p metrics=train:loss   |   smtrail-sql run failed-calls --logs {directory}", err=True)


cache_app = typer.Typer(help="The extraction cache of the local engine.\n\nExample: smtrail-sql cache info",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info() -> None:
    """Show where the cache is and how much it holds.

    \b
    Example: smtrail-sql cache info
    """
    from smtrail_sql.reader.cache import ExtractCache

    info = ExtractCache().info()
    typer.echo(f"{info.path}: {info.entries} file entries, {info.snapshots} snapshots, "
               f"{info.bytes / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear() -> None:
    """Empty the cache (the next query reads its log files again).

    \b
    Example: smtrail-sql cache clear
    """
    from smtrail_sql.reader.cache import ExtractCache

    removed = ExtractCache().clear()
    typer.echo(f"removed {removed.entries} file entries and {removed.snapshots} snapshots "
               f"({removed.bytes / 1e6:.1f} MB) from {removed.path}")
