"""Ad-hoc SQL (``smtrail-sql sql``, ``Toolkit.sql``) and ``smtrail-sql columns``.

The text is held to a template's rules (one read-only query over the two views, Athena SQL) and gets the same
window and deduplication of copies; anything else is refused with one line and exit 2, before any engine runs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from smtrail_sql.adhoc import RELATIONS, adhoc_template, columns_result
from smtrail_sql.api import Toolkit
from smtrail_sql.cli import main
from smtrail_sql.errors import AdHocQueryError
from smtrail_sql.render import Naming
from smtrail_sql.schema import COLUMN_DESCRIPTIONS, METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS
from smtrail_sql.window import TimeWindow

#: Runs the entry point on argv: (exit code, stdout, stderr).
Cli = Callable[..., tuple[int, str, str]]
#: The points of tests/events.py's bucket: 9 distinct, 11 rows read (e-ms is delivered twice).
DISTINCT_POINTS, POINT_ROWS_READ = 9, 11


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    for name in list(os.environ):
        if name.startswith(("SMTRAIL_", "AWS_ATHENA")) and name != "SMTRAIL_CACHE_DIR":
            monkeypatch.delenv(name)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["smtrail-sql", *argv])
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    yield run
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@pytest.fixture()
def kit(metric_logs: tuple[Path, list[Path]]) -> Iterator[Toolkit]:
    toolkit = Toolkit.local(metric_logs[0], use_cache=False)
    yield toolkit
    toolkit.close()


# -- refused: one line, exit 2, nothing run ----------------------------------------------------------------

REFUSED = [
    ("SELECT 1; DROP TABLE x", "one query only", None),
    ("SELECT 1 /* */; DROP TABLE x -- */", "one query only", None),
    ("SELECT metric_name FROM sagemaker_metrics; DELETE FROM sagemaker_metrics", "one query only", None),
    ("DELETE FROM sagemaker_metrics", "not DELETE", 1),
    ("DROP TABLE sagemaker_metrics", "not DROP", 1),
    ("INSERT INTO sagemaker_metrics SELECT * FROM sagemaker_metrics", "not INSERT", 1),
    ("UPDATE sagemaker_metrics SET value = 1", "not UPDATE", 1),
    ("CREATE TABLE t AS SELECT * FROM sagemaker_metrics", "not CREATE", 1),
    ("COPY (SELECT 1) TO 'pwned.csv'", "not COPY", 1),
    ("SET x = 1", "not SET", 1),
    ("SELECT value INTO t FROM sagemaker_metrics", "INTO is refused", 1),
    ("SELECT eventname\nFROM cloudtrail_events", "not cloudtrail_events", 2),
    ("SELECT * FROM smtrail.cloudtrail_events", "not 'smtrail.cloudtrail_events'", 1),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "not \"READ_CSV_AUTO('/etc/passwd')\"", 1),
    ("SELECT * FROM 'data.csv'", "not 'data.csv'", 1),
    ("SELECT * FROM information_schema.tables", "not 'information_schema.tables'", 1),
    ("-- a comment\nSELECT *\nFROM other_table", "not 'other_table'", 3),
    ("SELECT metric_name FROM sagemaker_metrics WHERE step > :step", "ad-hoc SQL takes no parameters", 1),
    ("-- param: step int = 1\nSELECT metric_name FROM sagemaker_metrics WHERE step > :step",
     "undeclared parameter :step", 2),
    ("SELECT FROM WHERE", "does not parse as Athena SQL", 1),
    ("SELECT\n  metric_name,\n  bogus\nFROM sagemaker_metrics", "Column 'bogus' could not be resolved", 3),
    ("SELECT error_code FROM sagemaker_metrics", "Column 'error_code' could not be resolved", 1),
    ("   ;  ", "empty", None),
]


@pytest.mark.parametrize(("text", "message", "line"), REFUSED)
def test_anything_but_one_query_over_the_views_is_refused(text: str, message: str, line: int | None) -> None:
    with pytest.raises(AdHocQueryError) as error:
        adhoc_template(text)
    assert message in str(error.value)
    assert error.value.line == line
    assert str(error.value).startswith(f"ad-hoc query, line {line}: " if line else "ad-hoc query: ")
    assert error.value.exit_code == 2


@pytest.mark.parametrize(("text", "message"), [(t, m) for t, m, _ in REFUSED])
def test_the_command_refuses_it_in_one_line_with_exit_2(cli: Cli, tmp_path: Path, text: str, message: str) -> None:
    code, out, err = cli("sql", "--logs", str(tmp_path), "--all-time", "--", text)  # (-- : text may start with -)
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ad-hoc query") and message in lines[0], err
    assert not (tmp_path / "pwned.csv").exists()


def test_header_lines_in_the_text_declare_nothing() -> None:
    """``--`` lines at the start of the text are comments: they can neither rename the query nor declare."""
    template = adhoc_template("-- name: evil\n-- param: x int = 1\nSELECT 1 AS one")
    assert (template.name, template.params) == ("sql", {})
    assert "evil" not in template.statement.sql(dialect="athena")  # (comments are not sent)


# -- the window and the deduplication, as for a template ---------------------------------------------------


def test_the_rendered_sql_has_the_window_and_the_deduplication() -> None:
    query = Toolkit().sql_query("SELECT metric_name, count(*) AS n FROM sagemaker_metrics GROUP BY 1",
                                since="2024-05-01", until="2024-05-02")
    sql = query.sql
    assert "day >= '2024/05/01'" in sql and "ROW_NUMBER()" in sql and "copy_number = 1" in sql
    assert "smtrail.sagemaker_metrics" in sql
    assert len(sqlglot.parse(sql, read="athena")) == 1
    assert "sagemaker_metrics" in Toolkit(view="points").sql_query("SELECT 1 AS x FROM sagemaker_metrics").sql
    assert "smtrail.points" in Toolkit(view="points").sql_query("SELECT 1 AS x FROM sagemaker_metrics").sql


def test_each_point_counts_once(kit: Toolkit, metric_logs: tuple[Path, list[Path]]) -> None:
    result = kit.sql("SELECT count(*) AS points FROM sagemaker_metrics", all_time=True)
    assert result.rows == [(DISTINCT_POINTS,)]
    # (the relations hold every copy read: the deduplication is what made it 9)
    con, _ = kit.engine.connect(TimeWindow.all_time(), Naming())  # type: ignore[attr-defined]
    assert con.execute("SELECT count(*) FROM smtrail.sagemaker_metrics").fetchall() == [(POINT_ROWS_READ,)]
    con.close()
    calls = kit.sql("SELECT count(*) AS calls, count(error_code) AS failed FROM sagemaker_metric_calls",
                    all_time=True)
    assert calls.rows == [(9, 2)]


def test_the_window_limits_the_rows(kit: Toolkit) -> None:
    text = "SELECT DISTINCT event_id FROM sagemaker_metrics ORDER BY event_id"
    result = kit.sql(text, since="2024-05-01T12:01:00Z", until="2024-05-01T12:03:00Z")
    assert result.rows == [("e-iso",), ("e-seconds",)]


def test_an_average_of_anything_trino_averages_runs(kit: Toolkit) -> None:
    """Your own AVG stays AVG on DuckDB (the built-ins' compensated FAVG takes numbers only): an interval's
    average runs, as it does on Athena."""
    text = ("SELECT AVG(last_time - first_time) AS span, AVG(step) AS step FROM (SELECT trial_component, "
            "MIN(event_time) AS first_time, MAX(event_time) AS last_time, MAX(step) AS step FROM sagemaker_metrics "
            "GROUP BY trial_component)")
    query = kit.sql_query(text, all_time=True)
    assert "FAVG(" not in query.to_sql("duckdb")
    (row,) = kit.execute(query).rows
    assert row[0] is not None and row[1] is not None


def test_it_gives_the_rows_a_template_gives(kit: Toolkit, tmp_path: Path) -> None:
    body = "SELECT trial_component, metric_name, count(*) AS points FROM sagemaker_metrics GROUP BY 1, 2 ORDER BY 1, 2"
    (tmp_path / "mine.sql").write_text(f"-- name: mine\n-- description: mine\n{body}\n")
    templated = Toolkit.local(kit.engine.logs, queries_dirs=[tmp_path], use_cache=False)  # type: ignore[attr-defined]
    expected = templated.run("mine", all_time=True).rows
    assert expected and kit.sql(body, all_time=True).rows == expected
    templated.close()


def test_the_athena_views_give_the_same_rows(athena_duckdb: Any, kit: Toolkit) -> None:
    """The Athena view SQL (on an Athena-shaped table in DuckDB) and the local engine agree on ad-hoc SQL."""
    from tests.test_api import ViewsOnDuckDB

    text = ("SELECT p.trial_component, count(*) AS points, count(DISTINCT c.event_id) AS calls FROM sagemaker_metrics "
            "AS p JOIN sagemaker_metric_calls AS c ON p.event_id = c.event_id GROUP BY 1 ORDER BY 1")
    on_views = Toolkit(ViewsOnDuckDB(athena_duckdb)).sql(text, all_time=True).rows
    assert on_views and on_views == kit.sql(text, all_time=True).rows


# -- the command ---------------------------------------------------------------------------------------------


def test_the_command_prints_rows_in_any_format(cli: Cli, metric_logs: tuple[Path, list[Path]]) -> None:
    code, out, err = cli("sql", "SELECT metric_name, count(*) AS n FROM sagemaker_metrics GROUP BY 1 ORDER BY 1",
                         "--logs", str(metric_logs[0]), "--all-time", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert {"metric_name": "train:loss", "n": 5} in rows and sum(r["n"] for r in rows) == DISTINCT_POINTS


def test_the_command_reads_stdin(cli: Cli, metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    code, _, err = cli("sql", "-", "--logs", str(metric_logs[0]), "--all-time", "-o", str(output),
                       stdin="SELECT count(*) AS points FROM sagemaker_metrics;\n")
    assert code == 0, err
    assert output.read_text().splitlines() == ["points", str(DISTINCT_POINTS)]


def test_a_bad_format_fails_first(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("sql", "SELECT 1 AS x", "--logs", str(tmp_path), "--format", "xml")
    assert code == 2 and err.startswith("error: invalid format 'xml'"), err


def test_the_store_is_for_athena(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("sql", "SELECT 1 AS x", "--logs", str(tmp_path), "--source", "store")
    assert code == 2 and "--source" in err, err


# -- columns -------------------------------------------------------------------------------------------------


def test_every_column_is_described_once() -> None:
    assert set(COLUMN_DESCRIPTIONS) == set(RELATIONS)
    assert set(COLUMN_DESCRIPTIONS["sagemaker_metrics"]) == set(METRIC_POINT_COLUMNS)
    assert set(COLUMN_DESCRIPTIONS["sagemaker_metric_calls"]) == set(METRIC_CALL_COLUMNS)
    assert all(text and "\n" not in text for c in COLUMN_DESCRIPTIONS.values() for text in c.values())


def test_columns_lists_every_column_with_its_type(cli: Cli) -> None:
    assert len(columns_result().rows) == len(METRIC_POINT_COLUMNS) + len(METRIC_CALL_COLUMNS)
    code, out, err = cli("columns", "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {"relation": "sagemaker_metrics", "column": "metric_time", "type": "TIMESTAMP",
            "description": COLUMN_DESCRIPTIONS["sagemaker_metrics"]["metric_time"]} in rows
    assert [(r["relation"], r["column"]) for r in rows] == [
        (relation, column) for relation, columns in RELATIONS.items() for column in columns]
    code, out, _ = cli("columns")
    assert code == 0 and out.startswith("sagemaker_metrics: one row per metric point") and "point_count" in out


def test_sql_prints_notes_as_run_does_and_quiet_silences_them(cli: Cli, metric_logs: tuple[Path, list[Path]],
                                                               tmp_path: Path) -> None:
    import shutil

    logs = tmp_path / "logs"
    shutil.copytree(metric_logs[0], logs)  # (the session's folder stays as it is)
    (logs / "corrupt.json.gz").write_bytes(b"not gzip")  # a bad file: skipped and counted, as run says
    text = "SELECT count(*) AS points FROM sagemaker_metrics"
    code, out, err = cli("sql", text, "--logs", str(logs), "--all-time", "--no-cache", "-f", "csv")
    assert code == 0 and out.splitlines()[0] == "points"
    assert "skipped 1 file: 1 corrupt-gzip" in err
    code, quiet_out, quiet_err = cli("sql", text, "--logs", str(logs), "--all-time", "--no-cache", "-f", "csv", "-q")
    assert (code, quiet_out, quiet_err) == (0, out, "")
