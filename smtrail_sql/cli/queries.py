"""Commands over the template catalog: queries, show, render."""

from __future__ import annotations

from typing import Annotated

import typer

from smtrail_sql.cli.app import app
from smtrail_sql.cli.options import (
    AllTime,
    Database,
    DeliveryLag,
    Params,
    QueriesDir,
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
    from smtrail_sql.catalog import Catalog as TemplateCatalog

    for template in TemplateCatalog.load(queries_dir):
        origin = "" if template.source == "built-in" else f"  [{template.source}]"
        typer.echo(f"{template.name:<18} {template.summary}{origin}")


@app.command("show")
def show_query(
    name: Annotated[str, typer.Argument(help="The query's name, as `smtrail-sql queries` lists it.")],
    queries_dir: QueriesDir = None,
) -> None:
    """Describe one query: what it answers, its parameters, and its SQL template.

    \b
    Example: smtrail-sql show metric-history
    """
    from smtrail_sql.catalog import Catalog as TemplateCatalog

    template = TemplateCatalog.load(queries_dir).get(name)
    typer.echo(f"{template.name}: {template.description}\n")
    typer.echo("Parameters:" if template.params else "Parameters: none")
    for spec in template.params.values():
        typer.echo(f"  {spec.name:<20} {spec.describe():<28} {spec.help}")
    typer.echo("\nEvery query also takes --since/--until (default: the last 7 days) or --all-time, "
               "and --delivery-lag (default 1d).")
    typer.echo(f"\nTemplate ({template.path}):\n")
    typer.echo(template.sql)


@app.command("render")
def render_query(
    name: Annotated[str, typer.Argument(help="The query's name, as `smtrail-sql queries` lists it.")],
    param: Params = None,
    since: Since = None,
    until: Until = None,
    all_time: AllTime = False,
    delivery_lag: DeliveryLag = None,
    dialect: Dialect = "athena",
    database: Database = DEFAULT_DATABASE,
    view: View = "sagemaker_metrics",
    queries_dir: QueriesDir = None,
) -> None:
    """Print a query's SQL with its parameters filled in, ready to paste into the Athena console.

    \b
    Example: smtrail-sql render metric-history -p trial_component=my-job -p metric=train:loss --since 3d
    """
    from smtrail_sql.catalog import Catalog as TemplateCatalog
    from smtrail_sql.errors import SettingError
    from smtrail_sql.params import parse_assignments
    from smtrail_sql.render import DIALECTS, Naming, render
    from smtrail_sql.schema import calls_view_for
    from smtrail_sql.window import TimeWindow

    if dialect not in DIALECTS:
        raise SettingError("dialect", dialect, f"one of {', '.join(DIALECTS)}")
    template = TemplateCatalog.load(queries_dir).get(name)
    window = TimeWindow.parse(since, until, all_time=all_time, delivery_lag=delivery_lag)
    rendered = render(template, parse_assignments(param), window=window,
                      naming=Naming(database=database, view=view, calls_view=calls_view_for(view)))
    typer.echo(rendered.to_sql(dialect) + ";")
