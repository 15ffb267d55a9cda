"""The Athena engine against moto's Athena over HTTP: exact SQL, typed rows, FAILED, CANCELLED, Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import sqlglot

from smtrail_sql.engines import EngineSettings, QueryStatus
from smtrail_sql.engines.athena import AthenaEngine, AthenaSettings
from smtrail_sql.errors import EngineError, QueryFailedError, SettingError
from smtrail_sql.render import Naming, RenderedQuery, render
from smtrail_sql.templates import TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.aws.conftest import MotoAws

SUMMARY_COLUMNS = [
    ("trial_component", "varchar"),
    ("metric_name", "varchar"),
    ("points", "bigint"),
    ("min_value", "double"),
    ("max_value", "double"),
    ("avg_value", "double"),
    ("first_value", "double"),
    ("last_value", "double"),
    ("last_step", "bigint"),
    ("first_metric_time", "timestamp"),
    ("last_metric_time", "timestamp"),
]


def rendered(name: str = "metric-summary", **params: Any) -> RenderedQuery:
    window = TimeWindow.parse(since="2024-05-01", until="2024-05-03")
    return render(TemplateLibrary.load().get(name), params, window=window, naming=Naming(database="smtrail"))


def result_set(columns: list[tuple[str, str]], rows: list[list[str | None]]) -> dict[str, Any]:
    """A result as Athena returns it for a SELECT: a header row of column names, then VarCharValues
    (a NULL is a Datum without VarCharValue)."""

    def datum(value: str | None) -> dict[str, str]:
        return {} if value is None else {"VarCharValue": value}

    return {
        "rows": [{"Data": [datum(name) for name, _ in columns]}] + [{"Data": [datum(v) for v in row]} for row in rows],
        "column_info": [
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": name,
                "Label": name,
                "Type": kind,
                "Precision": 0,
                "Scale": 0,
                "Nullable": "UNKNOWN",
                "CaseSensitive": kind == "varchar",
            }
            for name, kind in columns
        ],
    }


def engine(**kwargs: Any) -> AthenaEngine:
    return AthenaEngine.from_settings(EngineSettings(poll_interval=0.01, **kwargs))


class Polls:
    """A run's progress that hands every poll of the query to ``on_status``."""

    def __init__(self, on_status: Callable[[QueryStatus], object]) -> None:
        self.on_status = on_status

    def start(self, files: int, total_bytes: int) -> None: ...
    def advance(self, files: int, nbytes: int) -> None: ...
    def finish(self) -> None: ...

    def status(self, status: QueryStatus) -> None:
        self.on_status(status)


def test_runs_the_rendered_sql_unchanged_and_returns_typed_rows(moto: MotoAws) -> None:
    query = rendered(metrics="loss", limit=5)
    moto.seed_athena_results(
        result_set(
            SUMMARY_COLUMNS,
            [
                [
                    "tc-1",
                    "loss",
                    "3",
                    "0.25",
                    "1.0",
                    "0.5",
                    "1.0",
                    "0.25",
                    "2",
                    "2024-05-01 12:00:00.000",
                    "2024-05-01 12:02:30.500",
                ],
                [
                    "tc-2",
                    "loss",
                    "1",
                    "0.5",
                    "0.5",
                    "0.5",
                    "0.5",
                    "0.5",
                    None,
                    "2024-05-02 00:00:00.000",
                    None,
                ],
            ],
        )
    )
    seen: list[QueryStatus] = []
    athena = engine()
    result = athena.execute(query, progress=Polls(seen.append))

    assert moto.athena_queries() == [query.sql]
    sqlglot.parse_one(moto.athena_queries()[0], read="athena")  # what reached Athena parses as Athena SQL
    assert result.columns == [name for name, _ in SUMMARY_COLUMNS]
    assert result.column_types[:4] == ["VARCHAR", "VARCHAR", "BIGINT", "DOUBLE"]
    assert result.rows[0] == (
        "tc-1",
        "loss",
        3,
        0.25,
        1.0,
        0.5,
        1.0,
        0.25,
        2,
        datetime(2024, 5, 1, 12),
        datetime(2024, 5, 1, 12, 2, 30, 500000),
    )
    assert result.rows[1][8] is None and result.rows[1][10] is None
    assert result.sql == query.sql
    assert result.stats is not None and result.stats.engine == "athena"
    assert result.stats.query_id and result.stats.bytes_scanned == 0
    assert result.stats.cost_usd == pytest.approx(10 * 2**20 / 2**40 * 5)  # the 10 MB minimum
    assert seen and seen[-1].state == "SUCCEEDED" and seen[-1].query_id == result.stats.query_id
    assert "10 MiB minimum" in result.stats.describe()[0]


def test_query_context_and_workgroup_reach_athena(moto: MotoAws) -> None:
    moto.client("athena").create_work_group(Name="analysts", Configuration={})
    moto.client("s3").create_bucket(Bucket="athena-results")
    athena = engine(database="metrics", workgroup="analysts", output_location="s3://athena-results/q/")
    result = athena.run_sql("SELECT 1")
    execution = moto.client("athena").get_query_execution(QueryExecutionId=result.stats.query_id)  # type: ignore[union-attr]
    q = execution["QueryExecution"]
    assert q["WorkGroup"] == "analysts"
    assert q["QueryExecutionContext"]["Database"] == "metrics"
    assert q["ResultConfiguration"]["OutputLocation"].startswith("s3://athena-results/q/")


def test_a_failed_query_carries_athenas_reason(moto: MotoAws) -> None:
    moto.fail_next_athena_query("COLUMN_NOT_FOUND: line 3:5: Column 'stepp' cannot be resolved", category=2)
    with pytest.raises(QueryFailedError) as failed:
        engine().execute(rendered())
    error = failed.value
    assert error.state == "FAILED"
    assert "COLUMN_NOT_FOUND: line 3:5: Column 'stepp' cannot be resolved" in str(error)
    assert "user error" in str(error)
    assert error.category == 2 and error.retryable is False
    assert error.query_id and moto.athena_state(error.query_id) == "FAILED"


def test_a_query_cancelled_elsewhere_is_an_error(moto: MotoAws) -> None:
    moto.hold_athena_queries(polls=1000)

    def cancel_it(status: QueryStatus) -> None:
        moto.client("athena").stop_query_execution(QueryExecutionId=status.query_id)

    with pytest.raises(QueryFailedError) as cancelled:
        engine().execute(rendered(), progress=Polls(cancel_it))
    assert cancelled.value.state == "CANCELLED"
    assert "CANCELLED" in str(cancelled.value)


def test_ctrl_c_stops_the_query_in_athena(moto: MotoAws) -> None:
    moto.hold_athena_queries(polls=1000)
    polls: list[QueryStatus] = []

    def interrupt(status: QueryStatus) -> None:
        polls.append(status)
        if len(polls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine().execute(rendered(), progress=Polls(interrupt))
    assert polls[0].state == "QUEUED"
    assert moto.athena_state(polls[0].query_id) == "CANCELLED"


def test_live_status_follows_the_states(moto: MotoAws) -> None:
    moto.hold_athena_queries(polls=2)
    seen: list[str] = []
    engine().run_sql("SELECT 1", progress=Polls(lambda s: seen.append(s.state)))
    assert seen[0] == "QUEUED" and "RUNNING" in seen and seen[-1] == "SUCCEEDED"


def test_throttled_status_calls_are_retried(moto: MotoAws) -> None:
    moto.throttle_athena(1)
    started = time.monotonic()
    result = engine().run_sql("SELECT 1")
    assert moto.throttled_calls_left == 0  # a GetQueryExecution call was refused, then retried
    assert result.stats is not None and moto.athena_state(result.stats.query_id or "") == "SUCCEEDED"
    assert time.monotonic() - started < 30


def test_an_unknown_workgroup_is_a_clear_error(moto: MotoAws) -> None:
    with pytest.raises(EngineError, match="WorkGroup does not exist"):
        engine(workgroup="nope").run_sql("SELECT 1")


def test_settings_come_from_our_variables_then_pyathenas(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "AWS_ATHENA_S3_STAGING_DIR": "s3://pyathena-dir/",
        "AWS_ATHENA_WORK_GROUP": "theirs",
        "SMTRAIL_WORKGROUP": "ours",
        "SMTRAIL_DATABASE": "metrics",
        "SMTRAIL_CATALOG": "Other",
    }
    settings = AthenaSettings.resolve(environ=env)
    assert (settings.workgroup, settings.output_location, settings.database, settings.catalog) == (
        "ours",
        "s3://pyathena-dir/",
        "metrics",
        "Other",
    )
    assert AthenaSettings.resolve(workgroup="given", environ=env).workgroup == "given"
    with pytest.raises(SettingError, match="output location"):
        AthenaSettings.resolve(output_location="results/", environ={})
    with pytest.raises(SettingError, match="database"):
        AthenaSettings.resolve(database="Bad-Name", environ={})
