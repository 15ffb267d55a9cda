"""The views' Athena SQL on a real Trino server (the engine Athena v3 is built on), over the fixture bucket."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.render import Naming, render
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.athena_shape import athena_shaped_duckdb
from tests.sample_params import required_params
from tests.trino_server import TRINO_VERSION, TrinoServer
from tests.trino_shape import TrinoShape, athena_shaped_trino

pytestmark = pytest.mark.trino


@pytest.fixture(scope="module")
def trino_views(trino: TrinoServer, metric_logs: tuple[Path, list[Path]]) -> TrinoShape:
    """hive.tier_views: the fixture bucket in the Athena table's shape, with every DDL view."""
    return athena_shaped_trino(trino, metric_logs[1], schema="tier_views")


def _duckdb_rows(files: list[Path], sql: str) -> list[tuple[Any, ...]]:
    con = athena_shaped_duckdb(files)
    try:
        return [tuple(row) for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def test_the_server_answers_and_is_the_pinned_release(trino: TrinoServer) -> None:
    assert trino.execute("SELECT node_version FROM system.runtime.nodes", catalog="system") == [(TRINO_VERSION,)]
    assert trino.execute("SELECT current_timezone()", catalog="system") == [("UTC",)]


def test_the_table_holds_every_raw_event_and_the_views_return_rows(
    trino_views: TrinoShape, metric_logs: tuple[Path, list[Path]]
) -> None:
    counted = "SELECT count(*) FROM {}.cloudtrail_events"
    expected = _duckdb_rows(metric_logs[1], counted.format("smtrail"))
    assert expected[0][0] > 0
    assert trino_views.execute(counted.format(trino_views.schema)) == expected
    for view in (trino_views.settings.view, trino_views.settings.calls_view):
        assert trino_views.execute(f"SELECT count(*) FROM {view}")[0][0] > 0, view


def test_a_gzipped_table_reads_the_same_rows(trino_views: TrinoShape, metric_logs: tuple[Path, list[Path]]) -> None:
    """``compress=True`` (the store bench's trail, billed as Athena bills it) writes part-N.json.gz files, which
    Trino inflates by their extension: the same events and the same view rows."""
    gzipped = athena_shaped_trino(trino_views.server, metric_logs[1], schema="tier_gzipped", compress=True)
    written = sorted(gzipped.location.rglob("part-*"))
    assert written and all(p.name.endswith(".json.gz") for p in written)
    counted = f"SELECT count(*) FROM {gzipped.settings.table}"
    assert gzipped.execute(counted) == trino_views.execute(counted)
    for view in (gzipped.settings.view, gzipped.settings.calls_view):
        rows = Counter(gzipped.execute(f"SELECT * FROM {view}"))
        assert rows and rows == Counter(trino_views.execute(f"SELECT * FROM {view}")), view


def _partition_domain(plan: str, table: str, column: str) -> str:
    """The values the scan of ``table`` reads of partition ``column``, as EXPLAIN prints them under the scan node.

    Trino 476 prints, for a Hive table with registered partitions, e.g.::

        ScanFilterProject[table = hive:tier_views:cloudtrail_events, filterPredicate = ...]
            day_26 := day:string:PARTITION_KEY
                :: [[2024/05/02]]
    """
    lines = plan.splitlines()
    scan = next(i for i, line in enumerate(lines) if re.search(rf"Scan\w*\[table = {re.escape(table)}[,\]]", line))
    for i in range(scan + 1, len(lines) - 1):
        if re.search(rf"(^|:= ){column}:string:PARTITION_KEY$", lines[i].strip()):
            return lines[i + 1].strip()
    raise AssertionError(f"no {column} partition column under the scan of {table}:\n{plan}")


def test_a_day_predicate_reaches_the_table_scan(trino_views: TrinoShape) -> None:
    view = f"{trino_views.schema}.{trino_views.settings.view}"
    table = f"hive:{trino_views.schema}:{trino_views.settings.table}"

    def plan(sql: str) -> str:
        return "\n".join(row[0] for row in trino_views.execute(f"EXPLAIN {sql}"))

    everything = plan(f"SELECT count(*) FROM {view}")
    assert _partition_domain(everything, table, "day") == ":: [[2024/05/01], [2024/05/02]]"
    pruned = plan(f"SELECT count(*) FROM {view} WHERE day >= '2024/05/02'")
    assert _partition_domain(pruned, table, "day") == ":: [[2024/05/02]]"

    days = trino_views.execute(f"SELECT day, count(*) FROM {view} WHERE day >= '2024/05/02' GROUP BY day")
    assert days == [("2024/05/02", 1)]


@pytest.mark.parametrize("template", list(TemplateLibrary.load()), ids=lambda t: t.name)
def test_every_rendered_template_prunes_delivery_days_at_the_scan(trino_views: TrinoShape, template: Template
                                                                 ) -> None:
    """The window's day predicate, put before the deduplication of copies, reaches the table scan."""
    window = TimeWindow.parse(since="2024-05-02T00:00:00Z", until="2024-05-02T12:00:00Z")
    query = render(template, required_params(template), window=window,
                   naming=Naming(database=trino_views.schema))
    table = f"hive:{trino_views.schema}:{trino_views.settings.table}"
    plan = "\n".join(row[0] for row in trino_views.execute(f"EXPLAIN {query.sql}"))
    assert _partition_domain(plan, table, "day") == ":: [[2024/05/02]]"


@pytest.mark.parametrize("view", ["view", "calls_view"])
def test_the_views_give_the_same_rows_on_trino_and_duckdb(
    trino_views: TrinoShape, metric_logs: tuple[Path, list[Path]], view: str
) -> None:
    name = getattr(trino_views.settings, view)
    on_trino = trino_views.execute(f"SELECT * FROM {name}")
    on_duckdb = _duckdb_rows(metric_logs[1], f"SELECT * FROM smtrail.{name}")
    assert len(on_trino) >= 9
    assert sorted(on_trino, key=repr) == sorted(on_duckdb, key=repr)
