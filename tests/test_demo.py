"""The demo bucket copy: realistic, deterministic, and read back exactly as it was written."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.demo import DEMO_ACCOUNTS, DEMO_REGIONS, DemoSummary, write_sample_bucket
from smtrail_sql.reader.layout import discover_log_files
from smtrail_sql.reader.pipeline import read_log_files

NOW = datetime(2024, 5, 3, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return write_sample_bucket(tmp_path_factory.mktemp("demo"), seed=11, now=NOW, days=3, files_per_day=2,
                               calls_per_file=25)


def _records(root: Path) -> list[dict[str, Any]]:
    return [r for f in sorted((root / "AWSLogs").rglob("CloudTrail/*/*/*/*/*.json.gz"))
            for r in json.loads(gzip.decompress(f.read_bytes()))["Records"]]


def test_same_seed_same_bytes(tmp_path: Path, demo: DemoSummary) -> None:
    write_sample_bucket(tmp_path, seed=11, now=NOW, days=3, files_per_day=2, calls_per_file=25)
    ours = sorted(p.relative_to(demo.root).as_posix() for p in demo.root.rglob("*.json.gz"))
    theirs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json.gz"))
    assert ours == theirs
    assert all((demo.root / name).read_bytes() == (tmp_path / name).read_bytes() for name in ours)
    other = write_sample_bucket(tmp_path / "other", seed=12, now=NOW, days=1, files_per_day=1, calls_per_file=5)
    assert other.trial_components != demo.trial_components


def test_layout_accounts_regions_days_and_digests(demo: DemoSummary) -> None:
    found = discover_log_files(demo.root)
    assert {(f.account_id, f.region) for f in found.files} == {(a, r) for a in DEMO_ACCOUNTS for r in DEMO_REGIONS}
    assert {f.day for f in found.files} == {"2024/05/01", "2024/05/02", "2024/05/03"}  # ending today (NOW)
    assert found.skipped["digest"] == demo.digest_files == len(DEMO_ACCOUNTS) * len(DEMO_REGIONS) * 3
    assert len(found.files) == demo.log_files == 4 * 3 * 2 + demo.duplicate_files


def test_reader_finds_what_was_written(demo: DemoSummary) -> None:
    result = read_log_files(discover_log_files(demo.root).files)
    # one file delivered twice: the reader keeps every copy (the rendered SQL keeps one per eventID)
    event_ids = result.calls.column("event_id").to_pylist()
    assert len(set(event_ids)) == demo.metric_calls and len(event_ids) == demo.metric_calls + 25
    point_keys = set(zip(result.points.column("event_id").to_pylist(),
                         result.points.column("point_index").to_pylist(), strict=True))
    assert len(point_keys) == demo.points < result.points.num_rows
    failed = [c for c in result.calls.to_pylist() if c["error_code"]]
    assert len(failed) == demo.failed_calls > 0
    assert {p["trial_component"] for p in result.points.to_pylist()} <= demo.trial_components


def test_realistic_content(demo: DemoSummary) -> None:
    records = _records(demo.root)
    sources = Counter(r["eventSource"] for r in records)
    assert len(sources) >= 6 and sources["metrics-sagemaker.amazonaws.com"] * 3 < len(records) * 2
    points = [p for r in records if r["eventName"] == "BatchPutMetrics"
              for p in r["requestParameters"]["metricData"]]
    kinds = Counter(type(p["timestamp"]).__name__ + ("-ms" if isinstance(p["timestamp"], int)
                                                     and p["timestamp"] >= 1e11 else "") for p in points)
    assert set(kinds) == {"int-ms", "int", "float", "str"}
    assert any("step" not in p for p in points) and any("step" in p for p in points)
    per_call = Counter(len(r["requestParameters"]["metricData"]) for r in records
                       if r["eventName"] == "BatchPutMetrics")
    assert min(per_call) >= 1 and max(per_call) <= 10
    assert any(isinstance(r.get("requestParameters"), str) for r in records)


def test_curves_are_plausible(demo: DemoSummary) -> None:
    result = read_log_files(discover_log_files(demo.root).files)
    by_series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for p in result.points.to_pylist():
        if p["step"] is not None:
            by_series.setdefault((p["trial_component"], p["metric_name"]), []).append((p["step"], p["value"]))
    losses = [sorted(v) for (_, m), v in by_series.items() if m == "train:loss" and len(v) > 5]
    accuracies = [sorted(v) for (_, m), v in by_series.items() if m == "train:accuracy" and len(v) > 5]
    assert losses and accuracies
    assert all(series[0][1] > series[-1][1] for series in losses)  # loss falls
    assert all(series[0][1] < series[-1][1] for series in accuracies)  # accuracy rises


def test_an_earlier_sample_is_replaced_and_other_folders_are_refused(tmp_path: Path) -> None:
    from smtrail_sql.errors import SettingError

    first = write_sample_bucket(tmp_path / "s", seed=1, now=NOW, days=1, files_per_day=1, calls_per_file=3)
    later = write_sample_bucket(tmp_path / "s", seed=1, now=datetime(2024, 6, 1, tzinfo=UTC), days=1,
                                files_per_day=1, calls_per_file=3)
    days = {f.day for f in discover_log_files(tmp_path / "s").files}
    assert days == {"2024/06/01"} and first.log_files == later.log_files  # nothing left of the first one
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my data")
    with pytest.raises(SettingError, match="demo folder"):
        write_sample_bucket(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my data"


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path, demo: DemoSummary) -> None:
    from smtrail_sql.reader.cache import ExtractCache

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    result = read_log_files(discover_log_files(demo.root).files, cache=ExtractCache(blocker / "cache"))
    assert result.calls.num_rows == demo.metric_calls + 25 and result.files_read == demo.log_files  # (25 copies)
