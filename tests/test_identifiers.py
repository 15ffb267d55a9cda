"""Database, table and view names Athena needs quoted (a leading underscore, a reserved keyword): the DDL
quotes them with backticks, the queries and views with double quotes, and the usual names stay bare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from smtrail_sql import ddl
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.render import Naming, render
from smtrail_sql.settings import TableSettings, needs_quotes
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.sample_params import required_params

ODD = TableSettings.create(bucket="trail-bucket", accounts="123456789012", regions="us-east-1",
                           database="_x", table="select", view="partition", calls_view="from")
ODD_NAMING = Naming(database="_x", view="order", calls_view="from", table="select")


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("smtrail", False), ("cloudtrail_events", False), ("sagemaker_metrics", False), ("default", False),
     ("x_", False), ("_x", True), ("_", True), ("select", True), ("partition", True), ("date", True),
     ("unnest", True), ("first", True), ("views", True)],
)
def test_needs_quotes(name: str, quoted: bool) -> None:
    assert needs_quotes(name) is quoted


def _parse_athena(sql: str) -> exp.Expr:
    parsed = [s for s in sqlglot.parse(sql, read="athena", error_level=ErrorLevel.RAISE) if s]
    assert len(parsed) == 1
    return parsed[0]


def test_ddl_quotes_names_athena_would_refuse() -> None:
    statements = ddl.render_all(ODD)
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `_x`"
    assert statements[1].startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `_x`.`select` (")
    views = [s for s in statements if s.startswith("CREATE OR REPLACE VIEW")]
    view_versions = sum(1 for v in ddl.versions() if any(s.expression.args.get("kind") == "VIEW" for s in v.statements))
    assert [v.split(" AS", 1)[0] for v in views] == ['CREATE OR REPLACE VIEW "_x"."partition"',
                                                     'CREATE OR REPLACE VIEW "_x"."from"'] * view_versions
    stores = [s.split(" (", 1)[0] for s in statements if s.startswith("CREATE TABLE")]
    assert stores == ["CREATE TABLE IF NOT EXISTS `_x`.partition_store", "CREATE TABLE IF NOT EXISTS "
                      "`_x`.from_store", "CREATE TABLE IF NOT EXISTS `_x`.partition_refreshes"]
    assert all('FROM "_x"."select" AS e' in v for v in views)
    assert statements[-1] == ("ALTER TABLE `_x`.`select` SET TBLPROPERTIES "
                              f"('smtrail.schema_version'='{ddl.latest_version()}')")
    for sql in statements:
        tables = {(t.db, t.name) for t in _parse_athena(sql).find_all(exp.Table)}
        assert tables & {("_x", "select"), ("_x", "partition"), ("_x", "from"), ("", "_x"), ("_x", "partition_store"),
                         ("_x", "from_store"), ("_x", "partition_refreshes")}, sql
        outside_strings = re.sub(r"'[^']*'", "''", sql)  # (the store's S3 folder is named after the database)
        assert not re.search(r"(?<![`\"\w])_x(?![`\"\w])", outside_strings), sql  # never bare


def test_usual_names_stay_bare() -> None:
    settings = TableSettings.create(bucket="trail-bucket", accounts="123456789012", regions="us-east-1")
    statements = ddl.render_all(settings)
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS smtrail"
    assert "`smtrail`" not in "".join(statements) and '"smtrail"' not in "".join(statements)
    runs = TemplateLibrary.load().get("runs")
    assert "FROM smtrail.sagemaker_metrics" in render(runs, window=TimeWindow.all_time()).sql


@pytest.mark.parametrize("template", list(TemplateLibrary.load()), ids=lambda t: t.name)
def test_every_query_quotes_the_names_and_parses(template: Template) -> None:
    query = render(template, required_params(template), window=TimeWindow.parse(since="2024-05-01",
                                                                                 until="2024-05-02"),
                   naming=ODD_NAMING)
    tree = _parse_athena(query.sql)
    read = {(t.db, t.name) for t in tree.find_all(exp.Table) if t.db}
    assert read and read <= {("_x", "order"), ("_x", "from")}
    assert '"_x"."order"' in query.sql or '"_x"."from"' in query.sql
    sqlglot.parse_one(query.to_sql("duckdb"), read="duckdb", error_level=ErrorLevel.RAISE)


def test_quoted_names_run_on_the_local_engine(metric_logs: tuple[Path, list[Path]]) -> None:
    engine = LocalEngine(metric_logs[0], use_cache=False)
    catalog = TemplateLibrary.load()
    runs = engine.execute(render(catalog.get("runs"), window=TimeWindow.all_time(), naming=ODD_NAMING))
    calls = engine.execute(render(catalog.get("ingest-volume"), window=TimeWindow.all_time(), naming=ODD_NAMING))
    assert len(runs.rows) == 3 and sum(r[3] for r in calls.rows) == 9
