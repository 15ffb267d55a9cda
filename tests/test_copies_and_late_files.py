"""Through the CLI as a user runs it: redeliveries straddling midnight count once, a file delivered days late is
read with a wide enough ``--delivery-lag``, and every time comes out in UTC (or NULL when it cannot be one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smtrail_sql.cli import app
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, write_log_file

JOB = "holdout-style-job"


def _bucket(root: Path) -> None:
    straddling = batch_put_metrics("ev-midnight", "2024-05-01T23:59:30Z", [
        {"metricName": "loss", "timestamp": "2024-05-02T01:59:00+02:00", "step": 1, "value": 0.9},  # 23:59 UTC
        {"metricName": "loss", "timestamp": "2024-05-01T23:59:10", "step": 2, "value": 0.8},  # no zone: UTC
        {"metricName": "loss", "timestamp": 253402300800000, "step": 3, "value": 0.7},  # year 10000: NULL
    ], trial_component=JOB)
    late = batch_put_metrics("ev-late", "2024-05-01T12:00:00Z", [
        {"metricName": "loss", "timestamp": 1714564800, "step": 0, "value": 1.5}], trial_component=JOB)
    early = batch_put_metrics("ev-early", "2024-05-01T10:00:00.250Z", [
        {"metricName": "loss", "timestamp": 1714557600250, "step": -1, "value": 2.5}], trial_component=JOB)
    write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T2359Z", "a"), [early, straddling])
    # the redelivery of the same event into the next day's folder, with another copy of it in the same file
    write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/02", "20240502T0005Z", "b"), [straddling, straddling])
    # delivered three days after its event
    write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/04", "20240504T1200Z", "c"), [late])


@pytest.fixture()
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "bucket"
    _bucket(root)
    return root


EXPECTED = [
    {"step": -1, "value": 2.5, "metric_time": "2024-05-01T10:00:00.250000Z",
     "event_time": "2024-05-01T10:00:00.250000Z"},
    {"step": 0, "value": 1.5, "metric_time": "2024-05-01T12:00:00Z", "event_time": "2024-05-01T12:00:00Z"},
    {"step": 1, "value": 0.9, "metric_time": "2024-05-01T23:59:00Z", "event_time": "2024-05-01T23:59:30Z"},
    {"step": 2, "value": 0.8, "metric_time": "2024-05-01T23:59:10Z", "event_time": "2024-05-01T23:59:30Z"},
    {"step": 3, "value": 0.7, "metric_time": None, "event_time": "2024-05-01T23:59:30Z"},
]


def _curves(bucket: Path, *window: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, [
        "run", "metric-curves", "--logs", str(bucket), "-p", f"trial_components={JOB}", "-p", "metrics=loss",
        *window, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    return [{key: row[key] for key in ("step", "value", "metric_time", "event_time")} for row in rows]


def _normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Times as the JSON output writes them, whatever its number of fractional digits."""
    def time(text: str | None) -> str | None:
        if text is None:
            return None
        stamp = text.rstrip("Z")
        if "." in stamp:
            stamp = stamp.rstrip("0").rstrip(".")
        return stamp + "Z"
    return [{**row, "metric_time": time(row["metric_time"]), "event_time": time(row["event_time"])} for row in rows]


def test_all_time_gives_every_point_once_in_utc(bucket: Path) -> None:
    assert _normalised(_curves(bucket, "--all-time")) == _normalised(EXPECTED)


def test_a_one_day_window_with_a_wide_delivery_lag_reads_the_late_file(bucket: Path) -> None:
    rows = _curves(bucket, "--since", "2024-05-01", "--until", "2024-05-02", "--delivery-lag", "4d")
    assert _normalised(rows) == _normalised(EXPECTED)


def test_the_default_delivery_lag_misses_the_file_three_days_late(bucket: Path) -> None:
    rows = _curves(bucket, "--since", "2024-05-01", "--until", "2024-05-02")
    assert _normalised(rows) == _normalised([row for row in EXPECTED if row["step"] != 0])
