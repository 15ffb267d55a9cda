"""The local engine: the relations DuckDB sees, stats, pruning options, errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.engines import Engine
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.errors import LogReadError, QueryFailedError, SettingError
from smtrail_sql.reader.cache import ExtractCache
from smtrail_sql.render import Naming, render
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS
from smtrail_sql.templates import TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.events import ACCOUNT, OTHER_ACCOUNT, REGION, batch_put_metrics, log_key, write_log_file

TEMPLATES = TemplateLibrary.load()
WINDOW = TimeWindow.parse(since="2024-04-30", until="2024-05-03")


def _engine(metric_logs: tuple[Path, list[Path]], tmp_path: Path, **kwargs: Any) -> LocalEngine:
    return LocalEngine(metric_logs[0], cache=ExtractCache(tmp_path / "cache"), **kwargs)


def test_is_an_engine(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    engine: Engine = _engine(metric_logs, tmp_path)
    assert (engine.name, engine.dialect) == ("local", "duckdb")


@pytest.mark.parametrize(("view", "columns"), [("sagemaker_metrics", METRIC_POINT_COLUMNS),
                                               ("sagemaker_metric_calls", METRIC_CALL_COLUMNS)])
def test_relations_have_exactly_the_view_columns(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                 view: str, columns: dict[str, str]) -> None:
    con, _ = _engine(metric_logs, tmp_path).connect(WINDOW, Naming(database="ml_metrics"))
    described = con.execute(f"DESCRIBE ml_metrics.{view}").fetchall()
    assert [(name, kind) for name, kind, *_ in described] == list(columns.items())
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)


def test_configured_view_names_are_used(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    naming = Naming(database="analytics", view="points", calls_view="calls")
    query = render(TEMPLATES.get("runs"), window=WINDOW, naming=naming)
    result = _engine(metric_logs, tmp_path).execute(query)
    assert "analytics.points" in (result.sql or "")
    assert {row[0] for row in result.rows} >= {"resnet-training-job-aws-training-job"}


def test_execute_returns_python_values_and_stats(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    engine = _engine(metric_logs, tmp_path)
    query = render(TEMPLATES.get("metric-history"),
                   {"trial_components": "resnet-training-job-aws-training-job", "metrics": "train:loss"},
                   window=WINDOW)
    cold = engine.execute(query)
    assert cold.stats is not None and cold.stats.engine == "local"
    assert (cold.stats.files_read, cold.stats.files_cached, cold.stats.files_skipped) == (3, 0, 0)
    steps = [row[cold.columns.index("step")] for row in cold.rows]
    assert steps[:3] == [0, 1, 2] and isinstance(cold.rows[0][cold.columns.index("metric_time")], datetime)
    assert "BIGINT" in cold.column_types
    warm = engine.execute(query)
    assert warm.stats is not None and (warm.stats.files_read, warm.stats.files_cached) == (0, 3)
    assert warm.rows == cold.rows


def test_accounts_and_regions_narrow_the_files(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    query = render(TEMPLATES.get("runs"), window=WINDOW)
    only_other = _engine(metric_logs, tmp_path, accounts=OTHER_ACCOUNT).execute(query)
    assert only_other.stats is not None and only_other.stats.files_read == 1
    assert [row[0] for row in only_other.rows] == ["xgboost-aws-training-job"]
    nothing = _engine(metric_logs, tmp_path, regions="ap-south-1").execute(query)
    assert nothing.rows == [] and nothing.stats is not None and nothing.stats.files_read == 0
    with pytest.raises(SettingError, match="account"):
        LocalEngine(metric_logs[0], accounts="12345")


def test_the_window_prunes_delivery_days(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    query = render(TEMPLATES.get("runs"), window=TimeWindow.parse(since="2024-05-02T01:00:00Z",
                                                               until="2024-05-02T02:00:00Z"))
    result = _engine(metric_logs, tmp_path).execute(query)
    assert result.stats is not None and result.stats.files_read == 1  # only the 05/02 folder


def test_skips_are_reported_and_strict_raises(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "broken.json.gz").write_bytes(b"\x1f\x8bnope")
    query = render(TEMPLATES.get("runs"), window=TimeWindow.all_time())
    result = LocalEngine(tmp_path / "logs", use_cache=False).execute(query)
    assert result.stats is not None and result.stats.skipped_reasons == {"corrupt-gzip": 1}
    with pytest.raises(LogReadError, match="broken.json.gz: corrupt"):
        LocalEngine(tmp_path / "logs", use_cache=False, strict=True).execute(query)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="invalid logs folder .*nowhere': it does not exist"):
        LocalEngine(tmp_path / "nowhere", use_cache=False)  # a usage error, before any query
    # a folder removed once the engine exists fails the query that needs it, as a file that cannot be read does
    gone = tmp_path / "gone"
    gone.mkdir()
    engine = LocalEngine(gone, use_cache=False)
    gone.rmdir()
    with pytest.raises(LogReadError, match="does not exist"):
        engine.execute(render(TEMPLATES.get("runs"), window=TimeWindow.all_time()))


def _settled(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with floats to 12 significant digits: an average's last bits follow the order DuckDB's threads added
    the values in, which the deduplication of copies (a window function) leaves free."""
    return [tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row) for row in rows]


@pytest.mark.parametrize("name", sorted(TEMPLATES.templates))
def test_every_template_gives_the_same_rows_without_a_cache(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                            name: str) -> None:
    """Without a cache the reader may leave columns the query never names NULL: the rows must not change."""
    from tests.sample_params import all_params

    template = TEMPLATES.get(name)
    query = render(template, all_params(template), window=WINDOW)
    whole = _engine(metric_logs, tmp_path).execute(query)
    lean = LocalEngine(metric_logs[0], use_cache=False).execute(query)
    assert _settled(lean.rows) == _settled(whole.rows) and lean.columns == whole.columns


@pytest.mark.parametrize(("sql", "reads"), [
    ("SELECT metric_name, COUNT(*) FROM smtrail.sagemaker_metrics GROUP BY 1", {"metric_name", "smtrail"}),
    ("SELECT * FROM smtrail.sagemaker_metrics", None),
    ("SELECT p.metric_name FROM smtrail.sagemaker_metrics AS p NATURAL JOIN smtrail.sagemaker_metric_calls",
     None),
])
def test_columns_named_is_all_a_query_can_read(sql: str, reads: set[str] | None) -> None:
    import sqlglot

    from smtrail_sql.engines.columns import columns_named

    query = render(TEMPLATES.get("runs"), window=WINDOW)
    query = type(query)(query.template, sqlglot.parse_one(sql, read="trino"), {}, WINDOW, query.naming)
    named = columns_named(query)
    assert named == reads if reads is None else named is not None and reads <= named


def test_connections_of_one_engine_keep_their_own_rows(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """Queries of one engine share a DuckDB database (its views), never their rows."""
    engine = _engine(metric_logs, tmp_path)
    narrow, _ = engine.connect(TimeWindow.parse(since="2024-05-02", until="2024-05-03"), Naming())
    whole, _ = engine.connect(TimeWindow.all_time(), Naming())
    counts = [con.execute("SELECT count(*) FROM smtrail.sagemaker_metrics").fetchone() for con in (narrow, whole)]
    assert counts[0] is not None and counts[1] is not None and 0 < counts[0][0] < counts[1][0]
    narrow.close()
    assert whole.execute("SELECT count(*) FROM smtrail.sagemaker_metrics").fetchone() == counts[1]


def test_a_query_again_over_unchanged_logs_keeps_its_connection(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache hands back the same snapshot tables, still registered on the last query's connection; a
    changed selection gets a new connection with its new rows."""
    import shutil

    import smtrail_sql.engines.local as local

    made: list[Any] = []
    real = local.relations_connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(local, "relations_connection", counted)
    logs = tmp_path / "logs"
    shutil.copytree(metric_logs[0], logs)
    engine = LocalEngine(logs, cache=ExtractCache(tmp_path / "cache"))
    query = render(TEMPLATES.get("metric-summary"), window=WINDOW)
    first, second = engine.execute(query), engine.execute(query)
    assert len(made) == 1 and _settled(second.rows) == _settled(first.rows) and second.stats is not None
    assert second.stats.files_read == 0
    write_log_file(logs / log_key(ACCOUNT, REGION, "2024/05/02", "20240502T0905Z", "new"), [batch_put_metrics(
        "new-call", "2024-05-02T09:00:00Z", [{"metricName": "late:metric", "timestamp": 1714640400, "value": 7.0}],
        trial_component="late-trial")])
    third = engine.execute(query)
    assert len(made) == 2 and ("late-trial", "late:metric") in {row[:2] for row in third.rows}
    assert len(third.rows) == len(first.rows) + 1
    engine.close()  # its connections: used again, it opens new ones
    assert _settled(engine.execute(query).rows) == _settled(third.rows)


def test_a_query_duckdb_cannot_run_is_a_clear_error_and_the_next_one_runs(metric_logs: tuple[Path, list[Path]],
                                                                         tmp_path: Path) -> None:
    import sqlglot

    engine = _engine(metric_logs, tmp_path)
    good = render(TEMPLATES.get("runs"), window=WINDOW)
    sql = "SELECT CAST(metric_name AS BIGINT) AS n FROM smtrail.sagemaker_metrics"
    bad = type(good)(good.template, sqlglot.parse_one(sql, read="trino"), {}, WINDOW, good.naming)
    before = engine.execute(good).rows
    with pytest.raises(QueryFailedError, match="runs: DuckDB could not run the query"):
        engine.execute(bad)
    assert engine.execute(good).rows == before


def test_threads_can_share_an_engine(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """Each query takes the idle connection or a new one, never one in use by another thread."""
    from concurrent.futures import ThreadPoolExecutor

    engine = _engine(metric_logs, tmp_path)
    queries = [render(TEMPLATES.get(name), window=WINDOW) for name in ("metric-summary", "runs", "failed-calls")]
    expected = [engine.execute(query).rows for query in queries]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: (i % 3, engine.execute(queries[i % 3]).rows), range(24)))
    assert all(_settled(rows) == _settled(expected[which]) for which, rows in results)
