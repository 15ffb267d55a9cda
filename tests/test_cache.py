"""The extraction cache: hits, misses, invalidation, atomic writes, location, housekeeping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smtrail_sql.reader import cache as cache_module
from smtrail_sql.reader.cache import ExtractCache, default_cache_dir, file_key, snapshot_key
from smtrail_sql.reader.layout import discover_log_files
from smtrail_sql.reader.pipeline import ReadResult, read_log_files
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, write_log_file

POINT = {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.9}


def _write(root: Path, name: str, events: int = 2) -> Path:
    return write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z", name), [
        batch_put_metrics(f"{name}-{i}", "2024-05-01T12:00:00Z", [{**POINT, "step": i}]) for i in range(events)])


def _read(root: Path, cache: ExtractCache | None) -> ReadResult:
    return read_log_files(discover_log_files(root).files, cache=cache)


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for name in ("a", "b", "c"):
        _write(root, name)
    return root


def test_second_read_is_answered_by_the_snapshot(logs: Path, tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache")
    cold = _read(logs, cache)
    assert (cold.files_read, cold.files_cached, cold.snapshot_hit) == (3, 0, False)
    warm = _read(logs, cache)
    assert (warm.files_read, warm.files_cached, warm.snapshot_hit) == (0, 3, True)
    assert warm.points.to_pylist() == cold.points.to_pylist()
    assert warm.calls.to_pylist() == cold.calls.to_pylist()


def test_the_last_snapshot_read_is_kept_while_its_file_is_the_same(logs: Path, tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache")
    cold = _read(logs, cache)
    warm = _read(logs, cache)
    # the filling read hands out the snapshot as written, and a read again gets those very tables
    assert warm.points is cold.points and warm.calls is cold.calls
    elsewhere = _read(logs, ExtractCache(tmp_path / "cache"))  # another process: its own mapping, same rows
    assert elsewhere.snapshot_hit and elsewhere.points is not warm.points and elsewhere.points.equals(warm.points)
    key = snapshot_key(discover_log_files(logs).files)
    cache.store_snapshot(key, warm.points.slice(0, 1), warm.calls.slice(0, 1), {})  # replaced, as writes are
    replaced = cache.load_snapshot(key)
    assert replaced is not None and replaced.points is not None and replaced.points.num_rows == 1


def test_a_changed_or_new_file_is_read_again_alone(logs: Path, tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache")
    _read(logs, cache)
    _write(logs, "b", events=5)  # rewritten: another size
    changed = _read(logs, cache)
    assert (changed.files_read, changed.files_cached, changed.snapshot_hit) == (1, 2, False)
    assert changed.calls.num_rows == 2 + 5 + 2
    _write(logs, "d", events=1)
    added = _read(logs, cache)
    assert (added.files_read, added.files_cached) == (1, 3)
    assert added.calls.num_rows == 10
    # the same content with only a new modification time is also a new key
    path = next(logs.rglob("*_a.json.gz"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert _read(logs, cache).files_read == 1


def test_no_cache_reads_everything_and_writes_nothing(logs: Path, tmp_path: Path) -> None:
    assert _read(logs, None).files_read == 3
    assert _read(logs, None).files_read == 3


def test_an_interrupted_write_leaves_no_entry(logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ExtractCache(tmp_path / "cache")
    log = discover_log_files(logs).files[0]

    def interrupted(src: str, dst: str) -> None:  # the process is stopped just before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.store_file(log, b"payload")
    monkeypatch.undo()
    assert cache.load_file(log) is None
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # the temporary file is gone too


def test_a_damaged_entry_is_a_miss_and_is_replaced(logs: Path, tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache")
    cold = _read(logs, cache)
    entries = sorted((tmp_path / "cache" / "files").rglob("*.entry"))
    assert len(entries) == 3
    entries[0].write_bytes(entries[0].read_bytes()[:-7])  # cut short, as a full disk would leave it
    for snapshot in (tmp_path / "cache" / "snapshots").glob("*"):
        # a new file cut short (the snapshot is mapped by ``cold``: cutting it in place would pull its pages
        # from under that mapping, as with any memory-mapped file)
        cut = snapshot.with_suffix(".cut")
        cut.write_bytes(snapshot.read_bytes()[:100])
        cut.replace(snapshot)
    again = _read(logs, cache)
    assert (again.files_read, again.files_cached, again.snapshot_hit) == (1, 2, False)
    assert again.points.to_pylist() == cold.points.to_pylist()


def test_keys_follow_path_size_mtime_and_reader_version(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = discover_log_files(logs).files[0]
    key = file_key(log)
    monkeypatch.setattr(cache_module, "READER_VERSION", cache_module.READER_VERSION + 1)
    assert file_key(log) != key


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SMTRAIL_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "smtrail-sql"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "smtrail-sql"


def test_info_and_clear(logs: Path, tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache")
    _read(logs, cache)
    info = cache.info()
    assert (info.entries, info.snapshots) == (3, 1) and info.bytes > 0
    assert cache.clear().entries == 3
    assert (cache.info().entries, cache.info().snapshots) == (0, 0)
    assert _read(logs, cache).files_read == 3


def test_snapshots_keep_the_rows_grouped_by_series(tmp_path: Path) -> None:
    from smtrail_sql.demo import write_sample_bucket

    write_sample_bucket(tmp_path / "demo", seed=3, days=1, files_per_day=2, calls_per_file=20)
    files = discover_log_files(tmp_path / "demo").files
    plain = read_log_files(files).points.to_pylist()
    ordered = read_log_files(files, cache=ExtractCache(tmp_path / "cache")).points.to_pylist()

    def key(row: dict[str, object]) -> str:
        return repr(sorted(row.items()))

    assert sorted(map(key, ordered)) == sorted(map(key, plain))  # the same rows
    series = [(r["trial_component"], r["metric_name"]) for r in ordered]
    runs = [s for i, s in enumerate(series) if i == 0 or s != series[i - 1]]
    assert len(runs) == len(set(series))  # each series in one contiguous run
    for name in set(series):
        steps = [r["step"] for r in ordered if (r["trial_component"], r["metric_name"]) == name]
        numbered = [s for s in steps if s is not None]
        assert numbered == sorted(numbered) and steps == numbered + [None] * (len(steps) - len(numbered))
