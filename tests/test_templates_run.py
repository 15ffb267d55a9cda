"""Every template, transpiled to DuckDB, runs on the views over real-looking events; key answers checked."""

from __future__ import annotations

from typing import Any

import pytest

from smtrail_sql.render import render
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.sample_params import all_params, required_params

TEMPLATES = TemplateLibrary.load()
WINDOW = TimeWindow.parse(since="2024-04-30", until="2024-05-03")


def run(con: Any, name: str, values: dict[str, Any], window: TimeWindow = WINDOW) -> list[dict[str, Any]]:
    cursor = con.execute(render(TEMPLATES.get(name), values, window=window).to_sql("duckdb"))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("template", list(TEMPLATES), ids=lambda t: t.name)
@pytest.mark.parametrize("params", [required_params, all_params], ids=["required", "all"])
def test_every_template_executes_on_duckdb(athena_duckdb: Any, template: Template, params: Any) -> None:
    assert run(athena_duckdb, template.name, params(template)), f"{template.name} answers nothing on the fixture"


def test_metric_history_in_step_order(athena_duckdb: Any) -> None:
    rows = run(athena_duckdb, "metric-history",
               {"trial_components": "resnet-training-job-aws-training-job", "metrics": "train:loss"})
    assert [(r["step"], r["value"]) for r in rows] == [(0, 2.5), (1, 0.9), (2, 0.7), (2, 0.75)]


def test_metric_summary(athena_duckdb: Any) -> None:
    rows = run(athena_duckdb, "metric-summary", {"metrics": "train:loss"})
    by_run = {r["trial_component"]: r for r in rows}
    resnet = by_run["resnet-training-job-aws-training-job"]
    assert (resnet["points"], resnet["min_value"], resnet["max_value"]) == (4, 0.7, 2.5)
    assert (resnet["first_value"], resnet["last_value"], resnet["last_step"]) == (2.5, 0.75, 2)
    assert by_run["xgboost-aws-training-job"]["points"] == 1


def test_failed_calls_by_principal_and_code(athena_duckdb: Any) -> None:
    rows = run(athena_duckdb, "failed-calls", {})
    assert [(r["caller_arn"], r["error_code"], r["calls"], r["points_lost"]) for r in rows] == [
        ("arn:aws:iam::210987654321:user/bob", "AccessDenied", 1, 2),
        ("arn:aws:sts::123456789012:assumed-role/SageMakerRole/training-job", "ThrottlingException", 1, 1),
    ]


def test_duplicate_points(athena_duckdb: Any) -> None:
    rows = run(athena_duckdb, "duplicate-points", {})
    assert [(r["metric_name"], r["step"], r["distinct_values"]) for r in rows] == [("train:loss", 2, 2)]


def test_late_points(athena_duckdb: Any) -> None:
    rows = run(athena_duckdb, "late-points", {"min_lag_seconds": "86400"})
    assert [(r["step"], round(r["lag_seconds"])) for r in rows] == [(0, 865100)]


def test_ingest_volume_counts_calls_points_and_cost(athena_duckdb: Any) -> None:
    rows = run(athena_duckdb, "ingest-volume", {})
    first = rows[0]
    assert (first["day"], first["account_id"], first["calls"], first["points"], first["failed_calls"]) == (
        "2024/05/01", "123456789012", 7, 8, 1)
    assert first["data_event_cost_usd"] == pytest.approx(7 * 0.10 / 100000)


def test_window_prunes_by_event_time(athena_duckdb: Any) -> None:
    window = TimeWindow.parse(since="2024-05-01T23:00:00Z", until="2024-05-03")
    rows = run(athena_duckdb, "runs", {}, window)
    assert [r["trial_component"] for r in rows] == ["xgboost-aws-training-job"]
