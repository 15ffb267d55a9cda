"""``smtrail-sql export`` / ``Toolkit.export``: a window of both views, each event once, to DuckDB, SQLite or
Parquet; opened here as their own tools open them (the duckdb module, sqlite3, pyarrow), with the row counts
of the same window's queries on the local engine."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.api import Toolkit
from smtrail_sql.cli import main
from smtrail_sql.errors import SettingError
from smtrail_sql.export import check_target, export_format
from smtrail_sql.result import QueryResult, QueryStats
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS

Cli = Callable[..., tuple[int, str, str]]
RELATION_COLUMNS = {"sagemaker_metrics": METRIC_POINT_COLUMNS, "sagemaker_metric_calls": METRIC_CALL_COLUMNS}
WINDOW = ["--since", "2024-05-01T12:01:00Z", "--until", "2024-05-02T00:00:00Z"]


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    for name in list(os.environ):
        if name.startswith(("SMTRAIL_", "AWS_ATHENA")) and name != "SMTRAIL_CACHE_DIR":
            monkeypatch.delenv(name)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def run(*argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["smtrail-sql", *argv])
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    yield run
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smtrail_sql.demo import write_sample_bucket

    root = tmp_path_factory.mktemp("demo")
    write_sample_bucket(root)
    return root


def expected_counts(logs: Path, window: list[str]) -> dict[str, int]:
    """Each view's rows over the window, as the local engine's queries count them."""
    since, until = (window[1], window[3]) if window else (None, None)
    kit = Toolkit.local(logs)
    try:
        return {relation: kit.sql(f"SELECT count(*) AS n FROM {relation}", since=since, until=until,
                                  all_time=not window).rows[0][0] for relation in RELATION_COLUMNS}
    finally:
        kit.close()


def read_duckdb(path: Path) -> tuple[dict[str, int], dict[str, list[tuple[str, str]]]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = {r: con.execute(f'SELECT count(*) FROM "{r}"').fetchone()[0] for r in RELATION_COLUMNS}  # type: ignore[index]
        types = {r: [(d[0], str(d[1])) for d in con.execute(f'SELECT * FROM "{r}" LIMIT 0').description]
                 for r in RELATION_COLUMNS}
    finally:
        con.close()
    return counts, types


def read_sqlite(path: Path) -> tuple[dict[str, int], dict[str, list[tuple[str, str]]]]:
    con = sqlite3.connect(path)
    try:
        counts = {r: con.execute(f'SELECT count(*) FROM "{r}"').fetchone()[0] for r in RELATION_COLUMNS}
        types = {r: [(row[1], row[2]) for row in con.execute(f'PRAGMA table_info("{r}")')] for r in RELATION_COLUMNS}
    finally:
        con.close()
    return counts, types


def read_parquet(folder: Path) -> tuple[dict[str, int], dict[str, list[tuple[str, str]]]]:
    import pyarrow.parquet as pq

    tables = {r: pq.read_table(folder / f"{r}.parquet") for r in RELATION_COLUMNS}
    return ({r: t.num_rows for r, t in tables.items()},
            {r: [(f.name, str(f.type)) for f in t.schema] for r, t in tables.items()})


EXPECTED_TYPES = {
    "duckdb": {"VARCHAR": "VARCHAR", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "TIMESTAMP": "TIMESTAMP"},
    "sqlite": {"VARCHAR": "TEXT", "BIGINT": "INTEGER", "DOUBLE": "REAL", "TIMESTAMP": "TEXT"},
    "parquet": {"VARCHAR": "string", "BIGINT": "int64", "DOUBLE": "double", "TIMESTAMP": "timestamp[us]"},
}
READERS = {"duckdb": read_duckdb, "sqlite": read_sqlite, "parquet": read_parquet}


@pytest.mark.parametrize("window", [[], WINDOW], ids=["all-time", "window"])
@pytest.mark.parametrize(("target", "fmt"), [
    ("m.duckdb", "duckdb"), ("m.db", "sqlite"), ("m.sqlite", "sqlite"), ("out/", "parquet"),
    ("m.parquet", "parquet"),
])
def test_an_export_holds_what_queries_see(cli: Cli, metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                          target: str, fmt: str, window: list[str]) -> None:
    logs = metric_logs[0]
    to = tmp_path / target
    code, out, err = cli("export", "--to", f"{to}{'/' if target.endswith('/') else ''}", "--logs", str(logs),
                         *(window or ["--all-time"]))
    assert code == 0, err
    assert err.splitlines()[-1].endswith(f"({fmt})") and out == ""
    counts, types = READERS[fmt](to)
    expected = expected_counts(logs, window)
    assert counts == expected
    assert expected["sagemaker_metrics"] == (9 if not window else 7)  # (all time: e-ms read twice, counted once)
    for relation, columns in RELATION_COLUMNS.items():
        assert types[relation] == [(c, EXPECTED_TYPES[fmt][t]) for c, t in columns.items()]
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_the_demo_exports_alike_in_every_format(demo: Path, tmp_path: Path) -> None:
    kit = Toolkit.local(demo)
    try:
        summaries = [kit.export(tmp_path / name, all_time=True) for name in ("d.duckdb", "s.sqlite", "pq")]
    finally:
        kit.close()
    expected = expected_counts(demo, [])
    assert expected["sagemaker_metrics"] > 4000
    for summary, reader in zip(summaries, (read_duckdb, read_sqlite, read_parquet), strict=True):
        assert summary.rows == expected == reader(summary.path)[0]


def test_values_survive_each_format(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    import duckdb
    import pyarrow.parquet as pq

    kit = Toolkit.local(metric_logs[0], use_cache=False)
    for name in ("v.duckdb", "v.sqlite", "v"):
        kit.export(tmp_path / name, all_time=True)
    query = ("SELECT event_id, point_index, step, value, metric_time FROM sagemaker_metrics "
             "WHERE event_id = 'e-seconds' ORDER BY point_index")
    expected = kit.sql(query, all_time=True).rows
    kit.close()
    assert expected == [("e-seconds", 1, 1, 0.5, dt.datetime(2024, 5, 1, 12, 0, 50)),
                        ("e-seconds", 2, None, 0.6, dt.datetime(2024, 5, 1, 12, 0, 55, 250000))]
    with duckdb.connect(str(tmp_path / "v.duckdb"), read_only=True) as con:
        assert con.execute(query).fetchall() == expected
    with sqlite3.connect(tmp_path / "v.sqlite") as lite:
        assert lite.execute(query).fetchall() == [
            ("e-seconds", 1, 1, 0.5, "2024-05-01 12:00:50.000"), ("e-seconds", 2, None, 0.6, "2024-05-01 12:00:55.250")]
        # (ISO text that SQLite's own date functions read)
        assert lite.execute("SELECT min(datetime(metric_time)) FROM sagemaker_metrics").fetchone() == (
            "2024-04-21 11:46:40",)
    table = pq.read_table(tmp_path / "v" / "sagemaker_metrics.parquet").to_pylist()
    assert [(r["event_id"], r["point_index"], r["step"], r["value"], r["metric_time"]) for r in table
            if r["event_id"] == "e-seconds"] == expected


# -- nothing is overwritten without --force --------------------------------------------------------------


@pytest.mark.parametrize("name", ["m.duckdb", "m.sqlite", "pq/sagemaker_metric_calls.parquet"])
def test_an_existing_file_needs_force(cli: Cli, metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                      name: str) -> None:
    existing = tmp_path / name
    existing.parent.mkdir(exist_ok=True)
    existing.write_text("mine")
    to = str(existing.parent if name.startswith("pq/") else existing)
    code, out, err = cli("export", "--to", to, "--logs", str(metric_logs[0]), "--all-time")
    assert code == 2 and out == "", err
    assert err.splitlines() == [f"error: invalid --to {to!r}: {existing} exists; --force replaces it"]
    assert existing.read_text() == "mine"
    code, _, err = cli("export", "--to", to, "--logs", str(metric_logs[0]), "--all-time", "--force")
    assert code == 0, err
    assert existing.read_bytes() != b"mine"


@pytest.mark.parametrize(("argv", "message"), [
    (["--to", "m.csv"], "invalid --to 'm.csv': a file ending in .duckdb"),
    (["--to", "m.json"], "invalid --to 'm.json'"),
    (["--to", "m.duckdb", "--format", "xlsx"], "invalid --format 'xlsx': one of duckdb, sqlite, parquet"),
    (["--to", "no/such/folder/m.duckdb"], "does not exist"),
    (["--to", "m.duckdb", "--since", "1969-01-01"], "invalid --since"),
])
def test_bad_targets_are_usage_errors(cli: Cli, metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("export", *argv, "--logs", str(metric_logs[0]))
    assert code == 2 and out == "", err
    assert len(err.splitlines()) == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_the_format_can_be_given(tmp_path: Path) -> None:
    assert export_format(tmp_path / "m.db") == "sqlite"
    assert export_format(tmp_path / "m.db", "duckdb") == "duckdb"
    assert export_format(tmp_path) == "parquet"
    (tmp_path / "file.duckdb").write_text("x")
    with pytest.raises(SettingError, match="a folder for Parquet"):
        check_target(tmp_path / "file.duckdb", "parquet", force=True)
    with pytest.raises(SettingError, match="not a folder"):
        check_target(tmp_path, "duckdb", force=True)


# -- any engine: the rows are written here, typed as the views -------------------------------------------


class AthenaLike:
    """An engine that answers as Athena does (lower-case type names, ``timestamp(3)``): what export writes
    does not depend on the engine's type names."""

    name = "athena-like"
    dialect = "athena"
    bills_scans = False

    def __init__(self) -> None:
        self.queries: list[str] = []

    def execute(self, query: Any, *, progress: Any = None) -> QueryResult:
        self.queries.append(query.sql)
        points = "point_index" in query.sql
        columns = METRIC_POINT_COLUMNS if points else METRIC_CALL_COLUMNS
        row = {"account_id": "123456789012", "region": "us-east-1", "day": "2024/05/01",
               "event_time": dt.datetime(2024, 5, 1, 12), "event_id": "e-1", "point_index": 1,
               "trial_component": "job", "trial_component_arn": None, "metric_name": "loss", "step": 3,
               "value": 0.25, "metric_time": dt.datetime(2024, 5, 1, 11, 59, 59, 500000), "caller_arn": None,
               "user_agent": None, "source_ip": None, "point_count": 1, "error_code": None,
               "error_message": None}
        types = {"VARCHAR": "varchar", "BIGINT": "bigint", "DOUBLE": "double", "TIMESTAMP": "timestamp(3)"}
        return QueryResult(columns=list(columns), column_types=[types[t] for t in columns.values()],
                           rows=[tuple(row[c] for c in columns)], stats=QueryStats(self.name, 0.0))

    def close(self) -> None:
        pass


def test_export_runs_the_views_queries_on_any_engine(tmp_path: Path) -> None:
    engine = AthenaLike()
    summary = Toolkit(engine).export(tmp_path / "a.sqlite", since="2024-05-01", until="2024-05-02")
    assert summary.rows == {"sagemaker_metrics": 1, "sagemaker_metric_calls": 1}
    assert len(engine.queries) == 2
    assert all("day >= '2024/05/01'" in sql and "copy_number = 1" in sql for sql in engine.queries)
    with sqlite3.connect(tmp_path / "a.sqlite") as con:
        assert con.execute("SELECT metric_time, step FROM sagemaker_metrics").fetchall() == [
            ("2024-05-01 11:59:59.500", 3)]


# -- the local engine streams: the same files as from whole rows ------------------------------------------


def _contents(path: Path, fmt: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of both views in an export, in the file's order."""
    import duckdb
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return {r: [tuple(row.values()) for row in pq.read_table(path / f"{r}.parquet").to_pylist()]
                for r in RELATION_COLUMNS}
    if fmt == "sqlite":
        with sqlite3.connect(path) as lite:
            return {r: lite.execute(f'SELECT * FROM "{r}" ORDER BY rowid').fetchall() for r in RELATION_COLUMNS}
    with duckdb.connect(str(path), read_only=True) as con:
        return {r: con.execute(f'SELECT * FROM "{r}"').fetchall() for r in RELATION_COLUMNS}


@pytest.mark.parametrize(("name", "fmt"), [("s.duckdb", "duckdb"), ("s.sqlite", "sqlite"), ("pq", "parquet")])
@pytest.mark.parametrize("window", [{"all_time": True}, {"since": "2020-01-01", "until": "2020-01-02"}],
                         ids=["all", "empty"])
def test_a_streamed_export_writes_what_whole_rows_would(demo: Path, tmp_path: Path, name: str, fmt: str,
                                                        window: dict[str, Any]) -> None:
    from smtrail_sql.export import export_relations
    from smtrail_sql.window import api_window

    (tmp_path / "streamed").mkdir()
    (tmp_path / "whole").mkdir()
    kit = Toolkit.local(demo)
    try:
        streamed = kit.export(tmp_path / "streamed" / name, **window)
        span = api_window(window.get("since"), window.get("until"), all_time=bool(window.get("all_time")))
        whole = export_relations(tmp_path / "whole" / name, build=lambda t: kit._build(t, {}, span, "auto"),
                                 execute=kit.execute)  # (no batches: the rows whole, as from Athena)
    finally:
        kit.close()
    assert streamed.rows == whole.rows == {r: len(rows) for r, rows in _contents(streamed.path, fmt).items()}
    assert (streamed.rows["sagemaker_metrics"] > 4000) is bool(window.get("all_time"))
    assert _contents(streamed.path, fmt) == _contents(whole.path, fmt)
    reader = {"duckdb": read_duckdb, "sqlite": read_sqlite, "parquet": read_parquet}[fmt]
    assert reader(streamed.path)[1] == reader(whole.path)[1]  # the same types, rows or none
    assert [s.files_read + s.files_cached for s in streamed.stats] == [s.files_read + s.files_cached
                                                                       for s in whole.stats]


@pytest.mark.parametrize("name", ["f.duckdb", "f.sqlite", "f_parquet"])
def test_a_failed_export_leaves_nothing(demo: Path, tmp_path: Path, name: str) -> None:
    """The rows are streamed to the file as the views are read: a read that fails (here --strict on a corrupt
    file) leaves no file, no folder and no temporary behind."""
    import shutil

    from smtrail_sql.errors import LogReadError

    logs = tmp_path / "logs"
    shutil.copytree(demo, logs)
    first = sorted(p for p in logs.rglob("*.json.gz") if "Digest" not in str(p))[0]
    (first.parent / first.name.replace(".json.gz", "X.json.gz")).write_bytes(first.read_bytes()[:200])
    target = tmp_path / "out"
    target.mkdir()
    kit = Toolkit.local(logs, use_cache=False, strict=True)
    try:
        with pytest.raises(LogReadError, match="corrupt or truncated gzip"):
            kit.export(target / name, all_time=True)
    finally:
        kit.close()
    assert list(target.iterdir()) == []
