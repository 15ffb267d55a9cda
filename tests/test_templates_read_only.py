"""A template is one read-only query over the two views: refused at load otherwise, naming the file and line; and
the local engine's DuckDB cannot read or write a file or change a setting, whatever SQL reaches it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.errors import QueryFailedError, TemplateError
from smtrail_sql.render import render
from smtrail_sql.templates import TemplateLibrary, parse_template
from smtrail_sql.window import TimeWindow

HEADER = "-- name: t\n-- description: a user's template\n"


@pytest.mark.parametrize(("body", "message"), [
    ("COPY (SELECT 1) TO 'pwned.csv'", "not COPY"),
    ("CREATE TABLE t AS SELECT * FROM sagemaker_metrics", "not CREATE"),
    ("DROP VIEW sagemaker_metric_calls", "not DROP"),
    ("DELETE FROM sagemaker_metrics", "not DELETE"),
    ("INSERT INTO sagemaker_metrics SELECT * FROM sagemaker_metrics", "not INSERT"),
    ("UPDATE sagemaker_metrics SET value = 1", "not UPDATE"),
    ("SELECT value INTO t FROM sagemaker_metrics", "INTO is refused"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "not \"READ_CSV_AUTO('/etc/passwd')\""),
    ("SELECT *\nFROM\n  read_text('/etc/hostname')", "not \"READ_TEXT('/etc/hostname')\""),
    ("SELECT * FROM 'data.csv'", "not 'data.csv'"),
    ("SELECT * FROM information_schema.tables", "not 'information_schema.tables'"),
    ("SELECT * FROM smtrail.sagemaker_metrics", "not 'smtrail.sagemaker_metrics'"),
    ("SELECT * FROM other_table", "not 'other_table'"),
    ("SELECT eventname FROM cloudtrail_events", "not cloudtrail_events"),
    ("SELECT * FROM TABLE(sequence(1, 2))", "not 'TABLE(SEQUENCE(1, 2))'"),
    ("SET x = 1", "not SET"),
])
def test_anything_but_a_query_over_the_views_is_refused_at_load(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "t.sql"
    path.write_text(HEADER + body + "\n")
    with pytest.raises(TemplateError, match="read-only query|reads only|templates read") as error:
        parse_template(path.read_text(), path, source="test")
    assert message in str(error.value)
    assert str(error.value).startswith(f"{path}:{3 + body.count(chr(10)) if 'read_text' in body else 3}: ")


@pytest.mark.parametrize("body", [
    "SELECT * FROM sagemaker_metrics",
    "WITH s AS (SELECT trial_component FROM sagemaker_metrics) SELECT * FROM s",
    "SELECT 1 AS one UNION ALL SELECT 2",
    "VALUES (1), (2)",
    "SELECT p.value, c.error_code FROM sagemaker_metrics AS p JOIN sagemaker_metric_calls AS c "
    "ON p.event_id = c.event_id",
    "SELECT x FROM sagemaker_metrics CROSS JOIN UNNEST(ARRAY[1, 2]) AS u(x)",
    "SELECT * FROM (VALUES (1)) AS v(x)",
])
def test_queries_over_the_views_load_render_and_run(tmp_path: Path, body: str) -> None:
    path = tmp_path / "t.sql"
    path.write_text(HEADER + body + "\n")
    query = render(parse_template(path.read_text(), path, source="test"), window=TimeWindow.all_time())
    assert sqlglot.parse_one(query.sql, read="athena")
    engine = LocalEngine(tmp_path, use_cache=False)
    engine.execute(query)
    engine.close()


def test_every_shipped_template_is_a_read_only_query() -> None:
    assert len(list(TemplateLibrary.load())) >= 12  # (each one parsed, so checked)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "COPY (SELECT 1 AS x) TO '{target}'",
    "SELECT * FROM glob('/etc/*')",
    "ATTACH '{target}' AS other",
    "SET enable_external_access = true",
    "SET TimeZone = 'Asia/Tokyo'",
    "INSTALL httpfs",
])
def test_the_local_engine_cannot_touch_files_or_settings(tmp_path: Path, sql: str) -> None:
    """Even SQL that never came through the catalog (a bug, a future path) is stopped by DuckDB itself."""
    target = tmp_path / "written.out"
    good = render(TemplateLibrary.load().get("runs"), window=TimeWindow.all_time())
    query = type(good)(good.template, sqlglot.parse_one(sql.format(target=target), read="duckdb"), {},
                       good.window, good.naming)
    engine = LocalEngine(tmp_path, use_cache=False)
    with pytest.raises(QueryFailedError, match="Permission Error|configuration|disabled"):
        engine.execute(query)
    assert not target.exists()
    assert engine.execute(good).rows == []  # and the engine still runs queries, in UTC
    engine.close()


def test_a_refused_template_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pwn.sql").write_text("-- name: pwn\n-- description: writes a file\nCOPY (SELECT 1) TO 'pwned.csv'\n")
    done = subprocess.run([sys.executable, "-m", "smtrail_sql", "run", "pwn", "--queries-dir", str(tmp_path),
                           "--logs", str(tmp_path), "--all-time"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'pwn.sql'}:3: a template is one read-only "
                                                "query (SELECT, WITH, UNION, VALUES), not COPY"]
    assert not (tmp_path / "pwned.csv").exists()
