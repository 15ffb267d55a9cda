"""The CloudTrail reader: discovery and pruning, skip reasons, extraction rules, timestamps."""

from __future__ import annotations

import gzip
import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from smtrail_sql.errors import LogReadError
from smtrail_sql.reader import batch, decode, generic, lists, rules, tables, vectorised
from smtrail_sql.reader import workers as pool
from smtrail_sql.reader.layout import LogFile, discover_log_files
from smtrail_sql.reader.pipeline import read_log_files
from smtrail_sql.window import TimeWindow
from tests.events import (
    ACCOUNT,
    OTHER_ACCOUNT,
    REGION,
    batch_put_metrics,
    log_key,
    metric_bucket,
    sample_files,
    write_log_file,
)
from tests.test_equivalence import edge_cases

POINT = {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.9}


def _points(root: Path, **kwargs: Any) -> list[dict[str, Any]]:
    found = discover_log_files(root, kwargs.pop("window", None), kwargs.pop("accounts", None),
                               kwargs.pop("regions", None))
    return read_log_files(found.files, **kwargs).points.to_pylist()


def _bucket(root: Path, prefix: str = "", org: str = "") -> dict[str, Path]:
    """Three partitions: (ACCOUNT, us-east-1, 05/01), (ACCOUNT, eu-west-1, 05/02), (OTHER, us-east-1, 05/10)."""
    base = root / prefix if prefix else root
    files = {}
    for name, account, region, day, stamp in (
        ("a", ACCOUNT, REGION, "2024/05/01", "20240501T1205Z"),
        ("b", ACCOUNT, "eu-west-1", "2024/05/02", "20240502T0005Z"),
        ("c", OTHER_ACCOUNT, REGION, "2024/05/10", "20240510T0005Z"),
    ):
        key = log_key(account, region, day, stamp)
        if org:
            key = key.replace("AWSLogs/", f"AWSLogs/{org}/")
        files[name] = write_log_file(base / key, [
            batch_put_metrics(f"e-{name}", day.replace("/", "-") + "T00:01:00Z", [POINT], account=account,
                              region=region)])
    return files


@pytest.mark.parametrize(("prefix", "org"), [("", ""), ("audit/trails", ""), ("x", "o-abcdefghij")])
def test_bucket_layout_gives_partitions_from_folders(tmp_path: Path, prefix: str, org: str) -> None:
    _bucket(tmp_path, prefix, org)
    rows = _points(tmp_path)
    assert sorted((r["event_id"], r["account_id"], r["region"], r["day"]) for r in rows) == [
        ("e-a", ACCOUNT, REGION, "2024/05/01"),
        ("e-b", ACCOUNT, "eu-west-1", "2024/05/02"),
        ("e-c", OTHER_ACCOUNT, REGION, "2024/05/10"),
    ]


def test_window_accounts_and_regions_prune_before_opening(tmp_path: Path) -> None:
    files = _bucket(tmp_path)
    # poison every file that must not be opened: strict mode would fail on it
    files["b"].write_bytes(b"not gzip at all")
    files["c"].write_bytes(b"")
    window = TimeWindow.parse(since="2024-05-01", until="2024-05-01T06:00:00Z")  # days 05/01..05/02
    found = discover_log_files(tmp_path, window, accounts=(ACCOUNT,), regions=(REGION,))
    assert [Path(f.path) for f in found.files] == [files["a"]]
    assert [r["event_id"] for r in read_log_files(found.files, strict=True).points.to_pylist()] == ["e-a"]
    # the delivery-lag rule: a window ending on 05/01 still reads the folder of 05/02
    lagged = discover_log_files(tmp_path, window, accounts=(ACCOUNT,))
    assert sorted(Path(f.path).name[:12] + f.day for f in lagged.files) == [  # type: ignore[operator]
        f"{ACCOUNT}2024/05/01", f"{ACCOUNT}2024/05/02"]


def test_pointing_below_awslogs_keeps_the_partitions(tmp_path: Path) -> None:
    _bucket(tmp_path)
    region_folder = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail" / "eu-west-1"
    assert [(r["account_id"], r["region"], r["day"]) for r in _points(region_folder)] == [
        (ACCOUNT, "eu-west-1", "2024/05/02")]


def test_plain_folder_takes_partitions_from_file_names_then_events(tmp_path: Path) -> None:
    named = f"{ACCOUNT}_CloudTrail_{REGION}_20240502T0005Z_abcDEF123.json.gz"
    write_log_file(tmp_path / named, [batch_put_metrics("e-named", "2024-05-01T23:59:00Z", [POINT])])
    (tmp_path / "export.json").write_text(json.dumps({"Records": [
        batch_put_metrics("e-plain", "2024-05-03T10:00:00Z", [POINT], account=OTHER_ACCOUNT, region="eu-west-1")]}))
    rows = {r["event_id"]: (r["account_id"], r["region"], r["day"]) for r in _points(tmp_path)}
    assert rows == {"e-named": (ACCOUNT, REGION, "2024/05/02"),
                    "e-plain": (OTHER_ACCOUNT, "eu-west-1", "2024/05/03")}
    # a CloudTrail name outside the window is pruned without being opened
    window = TimeWindow.parse(since="2024-05-05", until="2024-05-06")
    assert [Path(f.path).name for f in discover_log_files(tmp_path, window).files] == ["export.json"]


def test_every_skip_reason_is_counted(tmp_path: Path) -> None:
    files = _bucket(tmp_path)
    folder = files["a"].parent
    digest = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / REGION / "2024/05/01"
    digest.mkdir(parents=True)
    (digest / f"{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_20240501T120000Z.json.gz").write_bytes(
        gzip.compress(b'{"digestPublicKeyFingerprint": "ab", "logFiles": []}'))
    good = gzip.compress(json.dumps({"Records": [batch_put_metrics("e-x", "2024-05-01T00:00:00Z", [POINT])]})
                         .encode())
    (folder / "corrupt.json.gz").write_bytes(good[:10] + bytes(40) + good[50:])
    (folder / "cut.json.gz").write_bytes(good[: len(good) // 2])
    (folder / "truncated.json.gz").write_bytes(gzip.compress(b'{"Records": [{"eventName": "BatchPutMetr'))
    (folder / "foreign.json.gz").write_bytes(gzip.compress(b'{"items": [1, 2, 3]}'))
    (folder / "digest-content.json.gz").write_bytes(gzip.compress(b'{"digestPublicKeyFingerprint": "x"}'))
    (folder / "empty.json.gz").write_bytes(b"")
    (folder / "empty-inside.json").write_text("  \n")
    found = discover_log_files(tmp_path)
    result = read_log_files(found.files)
    counts = dict(result.skipped)
    counts["digest"] = counts.get("digest", 0) + found.skipped["digest"]
    assert counts == {"digest": 2, "corrupt-gzip": 2, "truncated-json": 1, "foreign-json": 1, "empty": 2}
    assert sorted(r["event_id"] for r in result.points.to_pylist()) == ["e-a", "e-b", "e-c"]
    with pytest.raises(LogReadError, match="without --strict"):
        read_log_files(found.files, strict=True)


def test_real_records_of_other_services_give_nothing_and_do_not_crash(tmp_path: Path) -> None:
    samples = sample_files()
    assert len(samples) > 30
    for sample in samples:
        (tmp_path / sample.name).write_bytes(sample.read_bytes())
    found = discover_log_files(tmp_path)
    result = read_log_files(found.files, strict=True)
    assert len(found.files) == len(samples)
    assert result.points.num_rows == 0 and result.calls.num_rows == 0


def test_points_rules(tmp_path: Path) -> None:
    write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z"), [
        batch_put_metrics("e-1", "2024-05-01T12:00:00Z", [
            {"metricName": "ms", "timestamp": 1714564790123, "step": 1, "value": 1},
            {"metricName": "seconds", "timestamp": 1714564790, "value": 2.5},
            {"metricName": "float", "timestamp": 1714564790.25, "step": 3, "value": 3},
            {"metricName": "iso", "timestamp": "2024-05-01T13:59:50.5+02:00", "step": 4, "value": "4.5"},
        ]),
        batch_put_metrics("e-failed", "2024-05-01T12:01:00Z", [POINT, POINT], error_code="AccessDenied"),
    ])
    found = discover_log_files(tmp_path)
    result = read_log_files(found.files)
    points = {r["metric_name"]: r for r in result.points.to_pylist()}
    assert {name: (p["metric_time"], p["step"], p["value"], p["point_index"]) for name, p in points.items()} == {
        "ms": (datetime(2024, 5, 1, 11, 59, 50, 123000), 1, 1.0, 1),
        "seconds": (datetime(2024, 5, 1, 11, 59, 50), None, 2.5, 2),
        "float": (datetime(2024, 5, 1, 11, 59, 50, 250000), 3, 3.0, 3),
        "iso": (datetime(2024, 5, 1, 11, 59, 50, 500000), 4, 4.5, 4),
    }
    calls = {c["event_id"]: c for c in result.calls.to_pylist()}
    assert calls["e-failed"]["error_code"] == "AccessDenied" and calls["e-failed"]["point_count"] == 2
    assert calls["e-1"]["error_code"] is None and calls["e-1"]["point_count"] == 4
    assert calls["e-1"]["event_time"] == datetime(2024, 5, 1, 12, 0)


def test_an_event_in_two_files_gives_both_copies(tmp_path: Path) -> None:
    event = batch_put_metrics("e-dup", "2024-05-01T12:00:00Z", [POINT, {**POINT, "step": 2}])
    for suffix in ("first", "copy"):
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z", suffix),
                       [event, batch_put_metrics(f"e-{suffix}", "2024-05-01T12:00:00Z", [POINT])])
    result = read_log_files(discover_log_files(tmp_path).files)
    # the reader deduplicates nothing (the rendered SQL keeps one copy, on every engine)
    assert sorted(r["event_id"] for r in result.calls.to_pylist()) == ["e-copy", "e-dup", "e-dup", "e-first"]
    assert sorted((r["event_id"], r["point_index"]) for r in result.points.to_pylist()) == [
        ("e-copy", 1), ("e-dup", 1), ("e-dup", 1), ("e-dup", 2), ("e-dup", 2), ("e-first", 1)]


@pytest.mark.parametrize("cached", [False, True])
def test_an_event_read_twice_by_two_workers_or_from_the_cache_gives_both_copies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cached: bool) -> None:
    from smtrail_sql.reader.cache import ExtractCache

    event = batch_put_metrics("e-dup", "2024-05-01T12:00:00Z", [POINT, {**POINT, "step": 2}])
    for index in range(6):
        extra = [batch_put_metrics(f"e-{index}", "2024-05-01T12:00:00Z", [POINT])]
        write_log_file(tmp_path / "logs" / log_key(ACCOUNT, REGION, "2024/05/01", f"20240501T12{index:02d}Z",
                                                   f"s{index}"), [event, *extra] if index in (0, 5) else extra)
    files = discover_log_files(tmp_path / "logs").files
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pool, "GROUP_SIZE", 1)  # the two copies in two groups, on two workers
    cache = ExtractCache(tmp_path / "cache") if cached else None
    if cache is not None:
        read_log_files(files[:1], cache=cache)  # the first copy comes from its cache entry, the other is read
    result = read_log_files(files, cache=cache, workers=2)
    assert result.files_cached == (1 if cached else 0)
    assert sorted(r["event_id"] for r in result.calls.to_pylist()) == ["e-0", "e-1", "e-2", "e-3", "e-4",
                                                                       "e-5", "e-dup", "e-dup"]
    assert result.points.num_rows == 6 + 2 * 2


def test_events_without_an_event_id_are_all_kept(tmp_path: Path) -> None:
    anonymous = batch_put_metrics("x", "2024-05-01T12:00:00Z", [POINT])
    del anonymous["eventID"]
    dup = batch_put_metrics("e-dup", "2024-05-01T12:00:00Z", [POINT])
    for suffix in ("first", "copy"):
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z", suffix),
                       [anonymous, dup])
    result = read_log_files(discover_log_files(tmp_path).files)
    assert sorted(str(r["event_id"]) for r in result.calls.to_pylist()) == ["None", "None", "e-dup", "e-dup"]
    assert result.points.num_rows == 4


@pytest.mark.parametrize("workers", [1, 2])
def test_work_alongside_runs_once_and_its_error_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          workers: int) -> None:
    for index in range(4):
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", f"20240501T12{index:02d}Z", f"s{index}"),
                       [batch_put_metrics(f"e-{index}", "2024-05-01T12:00:00Z", [POINT])])
    files = discover_log_files(tmp_path).files
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pool, "GROUP_SIZE", 1)  # four groups: two workers when asked
    started = threading.Thread.start
    threads: list[str] = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: (threads.append(self.name), started(self))[1])
    runs: list[str] = []
    result = read_log_files(files, workers=workers, alongside=lambda: runs.append("ran"))
    assert runs == ["ran"] and result.points.num_rows == 4
    assert ("smtrail-alongside" in threads) == (workers > 1)  # in a thread only beside worker processes

    def fail() -> None:
        raise ValueError("set-up failed")

    with pytest.raises(ValueError, match="set-up failed"):
        read_log_files(files, workers=workers, alongside=fail)


def test_parallel_workers_give_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(40):
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", f"20240501T12{index:02d}Z", f"s{index}"), [
            batch_put_metrics(f"e-{index}-{n}", "2024-05-01T12:00:00Z", [{**POINT, "step": n}]) for n in range(5)])
    files = discover_log_files(tmp_path).files
    serial = read_log_files(files, workers=1)
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)  # a small sample is worth forking for here
    parallel = read_log_files(files, workers=2)
    assert parallel.points.to_pylist() == serial.points.to_pylist()
    assert parallel.calls.num_rows == serial.calls.num_rows == 200


def test_rows_built_as_they_are_read_are_the_rows_built_at_once(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # a reader turns its plain lists into Arrow rows every FLUSH_VALUES values (a big file's lists take several
    # times its rows); the rows, their order and the skip reasons are the same however often it does
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    for index in range(6):
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", f"20240501T12{index:02d}Z", f"f{index}"), [
            batch_put_metrics(f"e-{index}-{n}", "2024-05-01T12:00:00Z", [{**POINT, "step": n}] * (n + 1))
            for n in range(4)])
    files = discover_log_files(tmp_path).files
    at_once = read_log_files(files, workers=1)
    monkeypatch.setattr(batch, "FLUSH_VALUES", 3)
    flushed = read_log_files(files, workers=1)
    assert flushed.points.to_pylist() == at_once.points.to_pylist()
    assert flushed.calls.to_pylist() == at_once.calls.to_pylist()
    assert flushed.skipped_paths == at_once.skipped_paths and at_once.skipped == {"corrupt-gzip": 1}


def test_point_times_round_like_duckdb_round_to_the_millisecond() -> None:
    rng = random.Random(5)
    values = [rng.uniform(0, 4e9) for _ in range(3000)] + [rng.uniform(1e11, 4e12) for _ in range(3000)]
    values += [1670366870.0000005, 1670366870.0005, 1670366870.0015, 1.5e-3, 2.5e-3, -1.5e-3, 1700000000.9995,
               1e11, 99999999999.9, 0.49999999999999994e-3, 1670366870000.5, 1670366870001.5]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (i INTEGER, v DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    expected = con.execute(
        "SELECT i, CAST(round(CASE WHEN v >= 1e11 THEN v ELSE v * 1000.0 END) AS BIGINT) FROM t ORDER BY i"
    ).fetchall()
    assert [rules.time_millis(repr(v)) for v in values] == [e for _, e in expected]
    assert rules.time_millis("2024-05-01T00:00:00Z") == 1714521600000
    assert rules.time_millis("2024-05-01T00:00:00") == rules.time_millis("2024-05-01T00:00:00Z")
    assert [rules.time_millis(v) for v in (None, "soon", "inf", "NaN")] == [None] * 4


def test_typed_and_generic_paths_agree(tmp_path: Path) -> None:
    files = [*edge_cases(tmp_path), *metric_bucket(tmp_path)]
    typed_files = 0
    for path in files:
        data = gzip.decompress(path.read_bytes())
        log = LogFile(str(path), 0, 0, ACCOUNT, REGION, "2024/05/01")
        typed, loose = decode._extract_json(data, log), generic.extract_generic(data, log)
        typed_files += typed.typed
        for left, right in zip(tables.build_tables([typed]), tables.build_tables([loose]), strict=True):
            assert left.equals(right), path.name
    # all but the two edge-case files of odd types and the one with a null requestParameters (which could be a
    # key in another case: the typed path cannot tell)
    assert typed_files == len(files) - 3


@pytest.mark.parametrize("workers", [1, 2])
def test_lean_reading_keeps_every_read_column_and_leaves_the_optional_ones_null(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    edge_cases(tmp_path / "edge")
    metric_bucket(tmp_path / "bucket")
    files = discover_log_files(tmp_path).files
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pool, "GROUP_SIZE", 2)  # several groups, so that two workers share them
    assert len(files) > 4
    full = read_log_files(files, workers=workers)
    reads = set(tables.POINT_SCHEMA.names) - lists.OPTIONAL_COLUMNS
    lean = read_log_files(files, workers=workers, columns=reads)
    for table in ("points", "calls"):
        expected, got = getattr(full, table), getattr(lean, table)
        assert got.schema == expected.schema and got.num_rows == expected.num_rows > 0
        for name in expected.column_names:
            if name in lists.OPTIONAL_COLUMNS:
                assert got.column(name).null_count == got.num_rows
                if name != "error_message":  # (never set on the points that were stored)
                    assert expected.column(name).null_count < expected.num_rows  # the sample has values
            else:
                assert got.column(name).to_pylist() == expected.column(name).to_pylist(), (table, name)
    assert lean.skipped == full.skipped


def test_a_cache_gets_whole_rows_even_when_few_columns_are_read(tmp_path: Path) -> None:
    from smtrail_sql.reader.cache import ExtractCache

    _bucket(tmp_path / "logs")
    files = discover_log_files(tmp_path / "logs").files
    cache = ExtractCache(tmp_path / "cache")
    first = read_log_files(files, cache=cache, columns={"metric_name", "value"})
    assert first.points.column("event_time").null_count == 0
    cache.clear()
    read_log_files(files, cache=cache, columns={"metric_name"}, workers=1)
    again = read_log_files(files, cache=cache)  # from the per-file entries and the snapshot
    assert again.points.to_pylist() == first.points.to_pylist()


def test_gzip_is_read_as_the_gzip_module_reads_it() -> None:
    document = json.dumps({"Records": []}).encode()
    member = gzip.compress(document)
    cut = bytearray(member)
    cut[-6] ^= 0xFF  # a wrong CRC
    for raw in (member, member + gzip.compress(document), member + b"\0\0\0\0", member[:-3], member + b"junk",
                bytes(cut)):
        try:
            expected: bytes | str = gzip.decompress(raw)
        except (OSError, EOFError):
            expected = "corrupt-gzip"
        assert decode.inflate(raw) == expected


@pytest.mark.parametrize("texts", [False, True])
def test_vectorised_point_times_follow_the_scalar_rule(texts: bool) -> None:
    rng = random.Random(11)
    values: list[Any] = [rng.uniform(0, 4e9) for _ in range(500)] + [rng.uniform(1e11, 4e12) for _ in range(500)]
    values += [None, float("inf"), float("-inf"), 1e300, -1e300, 253402300799.9994, 253402300799.9995,
               253402300800.0, 1e11, -62135596800.0, -62135596800.0005, -62135596801.0, -0.0005, 0.49999999999999994]
    if texts:
        values += ["2024-05-01T00:00:00Z", "2024-05-01T00:00:00z", "2024-02-30T00:00:00Z", "0000-12-31T23:00:00Z",
                   "9999-12-31 23:59:59Z", "2024-05-01T00:00:00+02:00", "1714521600000", "soon", "", None]
    got = vectorised.point_times(values).cast(pa.int64()).to_pylist()
    expected = [rules.time_millis(v if isinstance(v, str) or v is None else repr(v)) for v in values]
    assert got == [m * 1000 if m is not None else None for m in expected]
    event_times = vectorised.event_times([v for v in values if isinstance(v, str) or v is None])
    assert event_times.cast(pa.int64()).to_pylist() == [
        m * 1000 if m is not None else None
        for m, v in zip(expected, values, strict=True) if isinstance(v, str) or v is None]


@pytest.mark.parametrize("column", [
    pa.array(["a", None, "b", None, "a", "c"], vectorised.DICTIONARY).slice(1),
    pa.array([None, datetime(2024, 5, 1), None, datetime(1, 1, 1), datetime(9999, 12, 31), None],
             pa.timestamp("us")).slice(1),
    pa.array(["a", "b", "c", "d", "e", "f"], vectorised.DICTIONARY).slice(1),
])
def test_call_values_spread_over_points_keep_nulls_and_offsets(column: pa.Array) -> None:
    owners = np.array([0, 0, 1, 2, 3, 3, 4, 2], dtype=np.int32)
    spread = tables._spread(column, owners)
    assert spread.type == column.type
    assert spread.to_pylist() == [column[i].as_py() for i in owners]


def _one_point_files(root: Path, count: int = 8) -> list[LogFile]:
    for index in range(count):
        write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", f"20240501T12{index:02d}Z", f"f{index}"),
                       [batch_put_metrics(f"e-{index}", "2024-05-01T12:00:00Z", [POINT])])
    return discover_log_files(root).files


def _in_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small reads go to two worker processes, two files a task (patches here are inherited by the fork)."""
    monkeypatch.setattr(pool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pool, "GROUP_SIZE", 2)


@contextmanager
def _hang_fails_after(seconds: int, why: str) -> Iterator[None]:
    """A hang inside becomes a TimeoutError saying ``why`` (an alarm: a hung pool ignores everything else)."""
    import signal

    def hung(signum: int, frame: Any) -> None:
        raise TimeoutError(why)

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_worker_whose_warm_up_fails_still_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _one_point_files(tmp_path)

    def broken(lean: bool) -> None:
        raise RuntimeError("warm-up failed")

    monkeypatch.setattr(pool, "_prime", broken)
    _in_worker_processes(monkeypatch)
    with _hang_fails_after(60, "a worker whose warm-up failed never answered"):
        result = read_log_files(files, workers=2)
    assert result.calls.num_rows == 8


def test_a_worker_that_dies_is_a_clear_error_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead worker's files are never read: the read must fail at once, not wait forever."""
    import os
    import signal

    files = _one_point_files(tmp_path)
    real = batch.extract_group

    def killed_on_the_fifth_file(tasks: Any, *args: Any) -> Any:
        if any(index == 4 for index, _ in tasks):
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
        return real(tasks, *args)

    monkeypatch.setattr(batch, "extract_group", killed_on_the_fifth_file)
    _in_worker_processes(monkeypatch)
    with _hang_fails_after(60, "the read waited forever for the dead worker's files"), \
            pytest.raises(LogReadError, match="log reader process died"):
        read_log_files(files, workers=2)
    monkeypatch.setattr(batch, "extract_group", real)
    assert read_log_files(files, workers=2).calls.num_rows == 8  # and the next read is whole
