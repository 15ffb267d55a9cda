"""The views' own SQL (from sql/ddl, transpiled by sqlglot) on DuckDB shaped like the Athena table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS
from tests.athena_shape import athena_shaped_duckdb
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, sample_files, write_log_file


def _rows(con: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in con.execute(sql).fetchall()]


def test_point_view_has_the_contract_columns_and_types(athena_duckdb: Any) -> None:
    described = _rows(athena_duckdb, "DESCRIBE smtrail.sagemaker_metrics")
    assert [(name, kind) for name, kind, *_ in described] == list(METRIC_POINT_COLUMNS.items())


def test_call_view_has_the_contract_columns_and_types(athena_duckdb: Any) -> None:
    described = _rows(athena_duckdb, "DESCRIBE smtrail.sagemaker_metric_calls")
    assert [(name, kind) for name, kind, *_ in described] == list(METRIC_CALL_COLUMNS.items())


def test_every_timestamp_form_is_normalised_to_utc(athena_duckdb: Any) -> None:
    rows = _rows(athena_duckdb, """
        SELECT DISTINCT event_id, metric_name, step, value, metric_time FROM smtrail.sagemaker_metrics
        WHERE event_id IN ('e-ms', 'e-seconds', 'e-iso') ORDER BY event_id, metric_time""")
    assert rows == [
        ("e-iso", "validation:loss", 1, 1.25, datetime(2024, 5, 1, 11, 59, 30)),
        ("e-iso", "validation:loss", 2, 1.0, datetime(2024, 5, 1, 11, 59, 31, 500000)),
        ("e-ms", "train:loss", 1, 0.9, datetime(2024, 5, 1, 11, 59, 50)),
        ("e-ms", "train:loss", 2, 0.7, datetime(2024, 5, 1, 11, 59, 55, 500000)),
        ("e-seconds", "train:accuracy", 1, 0.5, datetime(2024, 5, 1, 12, 0, 50)),
        ("e-seconds", "train:accuracy", None, 0.6, datetime(2024, 5, 1, 12, 0, 55, 250000)),
    ]


def test_failed_calls_store_no_points_but_are_calls(athena_duckdb: Any) -> None:
    point_events = {r[0] for r in _rows(athena_duckdb, "SELECT DISTINCT event_id FROM smtrail.sagemaker_metrics")}
    assert point_events == {"e-ms", "e-seconds", "e-iso", "e-dup-step", "e-late", "e-other"}
    calls = _rows(athena_duckdb, """
        SELECT event_id, point_count, error_code FROM smtrail.sagemaker_metric_calls
        WHERE error_code IS NOT NULL ORDER BY event_id""")
    assert calls == [("e-denied", 2, "AccessDenied"), ("e-failed", 1, "ThrottlingException")]


def test_the_views_keep_every_copy_and_number_the_points(athena_duckdb: Any) -> None:
    # e-ms is in two files: the views show both copies; a rendered query counts it once (test_render, below)
    assert _rows(athena_duckdb, """
        SELECT point_index, COUNT(*) FROM smtrail.sagemaker_metrics WHERE event_id = 'e-ms'
        GROUP BY point_index ORDER BY point_index""") == [(1, 2), (2, 2)]
    assert _rows(athena_duckdb, "SELECT COUNT(*) FROM smtrail.sagemaker_metric_calls") == [(10,)]
    assert _rows(athena_duckdb, "SELECT COUNT(*) FROM smtrail.sagemaker_metrics") == [(11,)]


def test_a_rendered_query_counts_an_event_read_twice_once(athena_duckdb: Any) -> None:
    from smtrail_sql.render import render
    from smtrail_sql.templates import TemplateLibrary
    from smtrail_sql.window import TimeWindow

    rows = _rows(athena_duckdb, render(TemplateLibrary.load().get("ingest-volume"), {},
                                       window=TimeWindow.all_time()).to_sql("duckdb"))
    assert sum(row[3] for row in rows) == 9  # calls: e-ms once
    assert sum(row[4] for row in rows) == 9  # points


def test_partition_columns_and_identity_pass_through(athena_duckdb: Any) -> None:
    rows = _rows(athena_duckdb, """
        SELECT account_id, region, day, event_time, trial_component, trial_component_arn, caller_arn,
               user_agent, source_ip
        FROM smtrail.sagemaker_metrics WHERE event_id = 'e-other'""")
    assert rows == [(
        "210987654321", "eu-west-1", "2024/05/02", datetime(2024, 5, 1, 23, 58),
        "xgboost-aws-training-job",
        "arn:aws:sagemaker:eu-west-1:210987654321:experiment-trial-component/xgboost-aws-training-job",
        "arn:aws:sts::123456789012:assumed-role/SageMakerRole/training-job",
        "aws-sdk-python/1.34 sagemaker/2.200 command/sm-metrics.batch-put-metrics", "192.0.2.10",
    )]


def test_a_call_without_metric_data_has_no_points(tmp_path: Path) -> None:
    no_data = batch_put_metrics("e-no-data", "2024-05-01T12:00:00Z", [])
    del no_data["requestParameters"]["metricData"]
    empty = batch_put_metrics("e-empty", "2024-05-01T12:01:00Z", [])
    with_point = batch_put_metrics("e-one", "2024-05-01T12:02:00Z", [
        {"metricName": "loss", "timestamp": 1714564920, "step": 1, "value": 0.5}])
    path = write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z"),
                          [no_data, empty, with_point])
    con = athena_shaped_duckdb([(path, ACCOUNT, REGION, "2024/05/01")])
    calls = _rows(con, "SELECT event_id, point_count FROM smtrail.sagemaker_metric_calls ORDER BY event_id")
    assert [event_id for event_id, _ in calls] == ["e-empty", "e-no-data", "e-one"]  # every call is a call
    assert dict(calls)["e-one"] == 1 and not dict(calls)["e-empty"] and not dict(calls)["e-no-data"]
    assert _rows(con, "SELECT event_id FROM smtrail.sagemaker_metrics") == [("e-one",)]  # points of e-one only


def test_real_cloudtrail_records_of_other_services_give_no_rows() -> None:
    files = sample_files()
    assert len(files) >= 30
    con = athena_shaped_duckdb([(path, "123456789012", REGION, "2024/01/01") for path in files])
    assert _rows(con, "SELECT COUNT(*) FROM smtrail.cloudtrail_events")[0][0] > 700
    assert _rows(con, "SELECT COUNT(*) FROM smtrail.sagemaker_metrics") == [(0,)]
    assert _rows(con, "SELECT COUNT(*) FROM smtrail.sagemaker_metric_calls") == [(0,)]
