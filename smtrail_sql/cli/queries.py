"""Commands over the templates: queries, show, render (no engine needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from smtrail_sql.cli.app import app
from smtrail_sql.cli.options import (
    DEFAULT_VIEW,
    AllTime,
    Database,
    DeliveryLag,
    Params,
    QueriesDir,
    QueryMetrics,
    QueryName,
    QueryTrialComponents,
    Since,
    Until,
    View,
)
from smtrail_sql.settings import DEFAULT_DATABASE

Dialect = Annotated[str, typer.Option(help="SQL dialect to print: athena (console) or duckdb (local engine).")]


@app.command("queries")
def list_queries(queries_dir: QueriesDir = None) -> None:
    """List the canned queries (and yours from --queries-dir) with what each one answers.

    \b
    Example: smtrail-sql queries
    """
    from smtrail_sql.api import Toolkit

    for info in Toolkit(queries_dirs=queries_dir).queries():
        origin = "" if info.source == "built-in" else f"  [{info.source}]"
        typer.echo(f"{info.name:<18} {info.summary}{origin}")


@app.command("show")
def show_query(name: QueryName, queries_dir: QueriesDir = None) -> None:
    """Describe one query: what it answers, its parameters, and its SQL template.

    \b
    Example: smtrail-sql show metric-history
    """
    from smtrail_sql.api import Toolkit

    info = Toolkit(queries_dirs=queries_dir).describe(name)
    typer.echo(f"{info.name}: {info.description}\n")
    typer.echo("Parameters:" if info.params else "Parameters: none")
    for param in info.params:
        typer.echo(f"  {param.name:<20} {param.summary:<28} {param.help}")
    typer.echo("\nEvery query also takes --since/--until (default: the last 7 days) or --all-time, "
               "and --delivery-lag (default 1d).")
    typer.echo(f"\nTemplate ({info.path}):\n")
    typer.echo(info.sql)


@app.command("render")
def render_query(
    name: QueryName,
    trial_component: QueryTrialComponents = None,
    metric: QueryMetrics = None,
    param: Params = None,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    dialect: Dialect = "athena",
    database: Database = DEFAULT_DATABASE,
    view: View = DEFAULT_VIEW,
    queries_dir: QueriesDir = None,
) -> None:
    """Print a query's SQL with its parameters filled in, ready to paste into the Athena console.

    A comment header says which query it is, what it answers, the values it was given and the time window
    that was added.

    \b
    Example: smtrail-sql render metric-history -t my-job -m train:loss --since 3d
    """
    from smtrail_sql.api import Toolkit
    from smtrail_sql.params import parse_assignments, with_name_options

    kit = Toolkit(queries_dirs=queries_dir, database=database, view=view)
    values = with_name_options(kit.describe(name), parse_assignments(param), trial_component, metric)
    query = kit.query(name, values, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag)
    typer.echo(kit.console_sql(query, dialect))
