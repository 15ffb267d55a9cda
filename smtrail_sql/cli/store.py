"""``refresh``: fold new trail data into the metric store on Athena (or print the SQL that does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from smtrail_sql.cli.app import app, fail
from smtrail_sql.cli.options import (
    DEFAULT_VIEW,
    Database,
    DataCatalog,
    DeliveryLag,
    OutputLocation,
    Profile,
    Region,
    Since,
    Table,
    Until,
    View,
    Workgroup,
)
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_CHUNK_DAYS, DEFAULT_DATABASE, DEFAULT_TABLE

if TYPE_CHECKING:
    from smtrail_sql.render import Naming
    from smtrail_sql.store import RefreshChunk

ChunkDays = Annotated[int, typer.Option("--chunk-days", help="Delivery days per chunk of statements (1-60): "
                                        "each chunk is folded in and logged on its own; Athena writes at most "
                                        "100 partitions per statement.")]
PrintOnly = Annotated[bool, typer.Option("--print", help="Print the statements, in order, instead of running "
                                         "them (paste them into the Athena console, one at a time).")]
Compact = Annotated[bool, typer.Option("--compact", help="After the refresh, OPTIMIZE (merge small files) and "
                                       "VACUUM (expire old snapshots) the store's tables.")]


@app.command("refresh")
def refresh_command(
    since: Since = None,
    until: Until = None,
    delivery_lag: DeliveryLag = None,
    chunk_days: ChunkDays = DEFAULT_CHUNK_DAYS,
    print_only: PrintOnly = False,
    compact: Compact = False,
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    view: View = DEFAULT_VIEW,
    catalog: DataCatalog = DEFAULT_CATALOG,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Fold new trail data into the metric store (DDL version 3): MERGE each chunk of delivery days, then log it.

    Without --since: from where the store stops being whole, less the delivery lag (late files, redeliveries),
    to today; a rerun adds nothing. With --since/--until: backfill the delivery days that window reads.

    \b
    Example: smtrail-sql refresh --database smtrail --workgroup primary
    Example: smtrail-sql refresh --since 2024-01-01 --until 2024-07-01      (a backfill, in chunks)
    """
    from datetime import UTC, datetime

    from smtrail_sql import refresh, store
    from smtrail_sql.window import TimeWindow, parse_delivery_lag

    lag = parse_delivery_lag(delivery_lag)
    window = TimeWindow.parse(since, until, delivery_lag=lag) if since or until else None
    naming = store.naming_for(database, view, table)
    if print_only and window is not None:  # nothing to read from AWS: print offline
        chunks = store.plan_chunks(*store.refresh_range(store.StoreCoverage(()), window, lag,
                                                        datetime.now(UTC).date()), chunk_days)
        _print_statements(naming, chunks, compact)
        return

    from smtrail_sql.cli.console import live_progress
    from smtrail_sql.deploy import DeployedTable, read_deployed_version
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.engines.athena import AthenaEngine
    from smtrail_sql.version import package_version

    engine = AthenaEngine.from_settings(EngineSettings(
        engine="athena", database=database, workgroup=workgroup, output_location=output_location, region=region,
        profile=profile, catalog=catalog))
    deployed = read_deployed_version(engine.session, DeployedTable(database, table, engine.settings.catalog))
    if deployed is None or deployed < store.STORE_VERSION:
        state = "no table" if deployed is None else f"schema version {deployed}"
        raise fail(f"the metric store is not deployed in {database} ({state}): run smtrail-sql migrate (or "
                   "create-table) first")
    chunks = refresh.plan_refresh(engine, naming, window=window, delivery_lag=lag, chunk_days=chunk_days)
    if print_only:
        _print_statements(naming, chunks, compact)
        return
    typer.echo(f"refreshing delivery days {chunks[0].first_day:%Y/%m/%d}..{chunks[-1].last_day:%Y/%m/%d} in "
               f"{len(chunks)} chunk(s)", err=True)
    with live_progress() as progress:
        result = refresh.run_refresh(engine, naming, chunks, tool_version=f"smtrail-sql {package_version()}",
                                     on_chunk=lambda done: typer.echo(done.describe(), err=True),
                                     progress=progress)
        typer.echo(result.describe())
        if compact:
            for sql in store.compact_sql(naming):
                typer.echo(f"  {sql}", err=True)
                engine.run_sql(sql, progress=progress)
            typer.echo("compacted the store (OPTIMIZE, VACUUM)")


def _print_statements(naming: Naming, chunks: list[RefreshChunk], compact: bool) -> None:
    """Every statement of the refresh, as a script, chunk by chunk: the log row's times are those of the printing
    (a row that claims less than the store will hold, never more)."""
    from datetime import UTC, datetime

    from smtrail_sql import ddl, store
    from smtrail_sql.version import package_version

    now = datetime.now(UTC)
    parts: list[str] = []
    for chunk in chunks:
        statements = store.chunk_statements(naming, chunk)
        statements.append(store.log_sql(naming, chunk, now, now, f"smtrail-sql {package_version()}"))
        parts.append(f"-- delivery days {chunk}: {len(statements)} statements, in order\n" + ddl.script(statements))
    if compact:
        parts.append("-- upkeep: merge small files, expire old snapshots\n" + ddl.script(store.compact_sql(naming)))
    typer.echo("\n".join(parts), nl=False)
