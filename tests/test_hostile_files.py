"""No input file can fail a query, and memory stays bounded: hostile files, folders and links, generated here.

Each case is read through :mod:`smtrail_sql.reader` and through the CLI (a subprocess with a timeout wherever
the bug was a hang or unbounded memory): the file is skipped and counted with its reason, or its value NULL;
the good file's rows are unchanged; ``--strict`` fails naming the bad file.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smtrail_sql.cli import app
from smtrail_sql.errors import LogReadError, SettingError
from smtrail_sql.reader import batch, decode, discover_log_files, layout, memory, read_log_files, workers
from smtrail_sql.reader.layout import LogFile
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE, validate_max_log_size
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, write_log_file
from tests.hostile_files import DENSE, write_gzip_bomb

POINT = {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.5}
GOOD_ROW = ("e-good", "train:loss", 0.5, 1)
STRICT_TAIL = "; without --strict such files are skipped and counted"


@pytest.fixture()
def bucket(tmp_path: Path) -> Path:
    """A bucket copy with one good file; returns its day folder (tests put the hostile file beside it)."""
    good = write_log_file(tmp_path / "logs" / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z"),
                          [batch_put_metrics("e-good", "2024-05-01T12:00:00Z", [POINT])])
    return good.parent


def _root(day: Path) -> Path:
    return day.parents[6]


def _read(root: Path, **kwargs: Any) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Skip counts (discovery's and reading's together) and the points' (event, name, value, step)."""
    found = discover_log_files(root)
    result = read_log_files(found.files, **kwargs)
    skipped = dict(found.skipped)
    for reason, count in result.skipped.items():
        skipped[reason] = skipped.get(reason, 0) + count
    points = sorted((p["event_id"], p["metric_name"], p["value"], p["step"]) for p in result.points.to_pylist())
    return skipped, points


def _cli(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
         ) -> subprocess.CompletedProcess[str]:
    """``smtrail-sql run runs`` in a new process (a hang fails the test at ``timeout``)."""
    full_env = {**os.environ, "SMTRAIL_CACHE_DIR": str(root.parent / "cache"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "smtrail_sql", "run", "runs", "--logs", str(root), "--all-time",
                           "-f", "csv", *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def _assert_cli(root: Path, summary: str, first_bad: Path, description: str, **kwargs: Any) -> None:
    """Exit 0 with the good rows and the skip line; with --strict, exit 1 naming the first bad file."""
    result = _cli(root, **kwargs)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [summary]
    assert "resnet-training-job-aws-training-job" in result.stdout
    strict = _cli(root, "--strict", **kwargs)
    assert strict.returncode == 1
    line = strict.stderr.strip().splitlines()
    assert len(line) == 1 and line[0].startswith(f"error: {first_bad}: {description}"), strict.stderr
    assert line[0].endswith(STRICT_TAIL)


def _record(event_id: str) -> str:
    return json.dumps({"Records": [batch_put_metrics(event_id, "2024-05-01T12:00:00Z", [POINT])]})


# -- values that overflow: the value is NULL, never the query ------------------------------------------------

@pytest.mark.parametrize(("field", "written"), [("value", "9" * 400), ("value", "-" + "9" * 400),
                                                ("timestamp", "9" * 400), ("step", "9" * 400),
                                                ("value", "1e999999999999")])
def test_a_number_past_every_type_is_null(bucket: Path, field: str, written: str) -> None:
    text = _record("e-big").replace(f'"{field}": {json.dumps(POINT[field])}', f'"{field}": {written}')
    (bucket / "big.json.gz").write_bytes(gzip.compress(text.encode()))
    for columns in (None, {"metric_name", "value", "step", "metric_time"}):  # the full path and the lean one
        found = discover_log_files(_root(bucket))
        result = read_log_files(found.files, columns=columns)
        assert not result.skipped
        rows = {p["event_id"]: p for p in result.points.to_pylist()}
        assert (rows["e-good"]["value"], rows["e-good"]["step"]) == (0.5, 1)
        column = {"value": "value", "step": "step", "timestamp": "metric_time"}[field]
        assert rows["e-big"][column] is None
    result = _cli(_root(bucket), "--strict")
    assert result.returncode == 0 and result.stderr == "", result.stderr


# -- JSON nested too deep ------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["records", "event"])
def test_json_nested_too_deep_is_skipped(bucket: Path, where: str) -> None:
    deep = "[" * 1000 + "]" * 1000
    if where == "records":
        text = '{"Records":[' + deep + "]}"
    else:  # inside a metric call, where the typed decoder goes
        text = _record("e-deep").replace('"responseElements": null', f'"responseElements": {deep}')
    bad = bucket / "deep.json.gz"
    bad.write_bytes(gzip.compress(text.encode()))
    assert len(bad.read_bytes()) < 2048
    assert _read(_root(bucket)) == ({"too-deep": 1}, [GOOD_ROW])
    _assert_cli(_root(bucket), "skipped 1 file: 1 too-deep", bad, "JSON nested too deep")


# -- links, FIFOs, devices -----------------------------------------------------------------------------------

def test_symbolic_link_loops_are_skipped_and_a_link_to_a_file_is_read(bucket: Path) -> None:
    os.symlink("loop.json.gz", bucket / "loop.json.gz")  # a file name linking to itself
    os.symlink("self", bucket / "self")  # anything, anywhere under --logs
    os.symlink("..", bucket / "up")  # a folder above: its files would be listed again and again
    other = write_log_file(_root(bucket).parent / "elsewhere" / "linked.json.gz",
                           [batch_put_metrics("e-linked", "2024-05-01T12:00:00Z", [POINT])])
    os.symlink(other, bucket / "linked.json.gz")
    skipped, points = _read(_root(bucket))
    assert skipped == {"symlink-loop": 3}
    assert points == [GOOD_ROW, ("e-linked", *GOOD_ROW[1:])]
    _assert_cli(_root(bucket), "skipped 3 files: 3 symlink-loop", bucket / "loop.json.gz", "symbolic link loop")


def test_fifo_and_device_are_never_opened(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_log_file(logs / "good.json.gz", [batch_put_metrics("e-good", "2024-05-01T12:00:00Z", [POINT])])
    os.mkfifo(logs / "a-fifo.json.gz")  # opening it for reading would wait for a writer forever
    os.symlink("/dev/zero", logs / "zero.json")  # reading it would never end
    os.mkfifo(logs / "not-a-log")  # not a log file by its name: not counted
    assert _read(logs) == ({"not-a-file": 2}, [GOOD_ROW])
    _assert_cli(logs, "skipped 2 files: 2 not-a-file", logs / "a-fifo.json.gz",
                "not a regular file", timeout=30)


def test_a_fifo_put_where_a_file_was_listed_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "swapped.json.gz"
    os.mkfifo(fifo)
    assert decode.read_log_file(LogFile(str(fifo), 100, 0)).skip_reason == "not-a-file"
    assert decode.read_log_file(LogFile("/dev/zero", 0, 0)).skip_reason == "not-a-file"
    loop = tmp_path / "loop.json"
    os.symlink(loop.name, loop)
    assert decode.read_log_file(LogFile(str(loop), 0, 0)).skip_reason == "symlink-loop"


# -- folders that cannot be read -----------------------------------------------------------------------------

class _Listing(list[Any]):
    """What ``os.scandir`` gives: the entries, usable in a ``with`` (the patched function serves every caller)."""

    def __enter__(self) -> _Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture()
def vanishing_day(bucket: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second day folder, replaced by a file right after its month folder is listed (a sync removing it,
    say): the walk then reads a folder that is no longer one. (Tests run as root, which permission bits do
    not stop: the file system's own error is the real one, only its moment is chosen.)"""
    day = bucket.parent / "02"
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        watched = os.fspath(path) == str(bucket.parent)
        if watched:  # the day folder as it was when the walk started (made again for every walk)
            if day.is_file():
                day.unlink()
            write_log_file(day / f"{ACCOUNT}_CloudTrail_{REGION}_20240502T0005Z_x.json.gz",
                           [batch_put_metrics("e-lost", "2024-05-02T00:00:00Z", [POINT])])
        with real_scandir(path) as listing:
            entries = list(listing)
        if watched:
            for child in day.iterdir():
                child.unlink()
            day.rmdir()
            day.write_text("not a folder any more")
        return _Listing(entries)

    monkeypatch.setattr(layout.os, "scandir", scandir)
    yield day


def test_a_folder_that_cannot_be_read_is_counted(vanishing_day: Path, bucket: Path) -> None:
    assert _read(_root(bucket)) == ({"unreadable": 1}, [GOOD_ROW])
    found = discover_log_files(_root(bucket))
    assert found.skipped_paths == [(str(vanishing_day), "unreadable")]
    with pytest.raises(LogReadError, match=f"^{vanishing_day}: unreadable file or folder"):
        layout.raise_if_bad(found.skipped_paths)


def test_a_folder_that_cannot_be_read_fails_strict_through_the_cli(vanishing_day: Path, bucket: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(bucket.parents[7] / "cache"))
    runner = CliRunner()
    result = runner.invoke(app, ["run", "runs", "--logs", str(_root(bucket)), "--all-time", "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == ["skipped 1 file: 1 unreadable"]
    assert "e-lost" not in result.stdout and "resnet-training-job-aws-training-job" in result.stdout
    strict = runner.invoke(app, ["run", "runs", "--logs", str(_root(bucket)), "--all-time", "--strict"])
    assert isinstance(strict.exception, LogReadError)
    assert str(strict.exception) == f"{vanishing_day}: unreadable file or folder{STRICT_TAIL}"


def test_listing_a_folder_gone_or_replaced_counts_it(tmp_path: Path) -> None:
    found = layout.Discovery()
    (tmp_path / "file").write_text("x")
    os.symlink("nowhere", tmp_path / "dangling")
    for name in ("gone", "file", "dangling"):
        assert layout._entries(str(tmp_path / name), found) == []
    assert found.skipped == {"unreadable": 3}


# -- size: the limit, and a gzip bomb ------------------------------------------------------------------------

def test_inflating_stops_at_the_limit() -> None:
    document = b'{"Records":[' + b" " * 1000 + b"]}"
    member = gzip.compress(document)
    assert decode.inflate(member, max_size=len(document)) == document
    assert decode.inflate(member, max_size=len(document) - 1) == "too-large"
    assert decode.inflate(member * 2, max_size=len(document) * 2) == document * 2
    assert decode.inflate(member * 2, max_size=len(document) * 2 - 1) == "too-large"  # the members together


def test_a_trailer_that_lies_about_the_size_changes_nothing() -> None:
    """The trailer's length is only the first buffer's size: members longer or shorter than they claim,
    several members, padding, damage and cut files give what the gzip module gives, within the limit."""
    import random

    rng = random.Random(1616)
    for _ in range(600):
        parts = [rng.randbytes(rng.randrange(3000)) if rng.random() < 0.3 else b" " * rng.randrange(200_000)
                 for _ in range(rng.randrange(1, 4))]
        raw = b"".join(gzip.compress(part, compresslevel=rng.choice([0, 1, 9])) for part in parts)
        damage = rng.random()
        if damage < 0.25:  # a trailer that says any length (its CRC then fails: corrupt, whatever it says)
            raw = raw[:-4] + rng.randrange(1 << 32).to_bytes(4, "little")
        elif damage < 0.4:
            raw = raw[:rng.randrange(len(raw))]
        elif damage < 0.5:
            raw += b"\0" * rng.randrange(1, 5)
        limit = rng.choice([10, 1000, 150_000, 1 << 30])
        try:
            whole: bytes | str = gzip.decompress(raw)
        except (OSError, EOFError):
            whole = "corrupt-gzip"
        expected = "too-large" if isinstance(whole, bytes) and len(whole) > limit else whole
        got = decode.inflate(raw, max_size=limit)
        assert got == expected or (got == "too-large" and expected == "corrupt-gzip"), (damage, limit)


def test_files_past_the_limit_are_too_large(bucket: Path, tmp_path: Path) -> None:
    limit = 64 * 1024
    bomb = write_gzip_bomb(bucket / "bomb.json.gz", 16 * limit, chunk_size=4096)
    assert bomb.stat().st_size < limit
    plain = _root(bucket) / "plain.json"
    plain.write_text(_record("e-plain") + " " * limit)  # a plain file: its size says so, before reading
    assert _read(_root(bucket), max_size=limit) == ({"too-large": 2}, [GOOD_ROW])
    skipped, points = _read(_root(bucket), max_size=32 * limit)  # within a larger limit, both are read
    assert skipped == {} and points == [GOOD_ROW, ("e-plain", *GOOD_ROW[1:])]
    assert decode.read_log_file(LogFile(str(plain), 0, 0), max_size=limit).skip_reason == "too-large"


def test_a_file_too_large_is_read_again_under_a_larger_limit(bucket: Path, tmp_path: Path) -> None:
    from smtrail_sql.reader.cache import ExtractCache

    cache = ExtractCache(tmp_path / "cache")
    big = bucket / f"{ACCOUNT}_CloudTrail_{REGION}_20240501T1210Z_big.json.gz"
    big.write_bytes(gzip.compress((_record("e-big-file") + " " * 4096).encode()))
    assert _read(_root(bucket), cache=cache, max_size=4096) == ({"too-large": 1}, [GOOD_ROW])
    skipped, points = _read(_root(bucket), cache=cache)  # neither the file's entry nor the snapshot kept it
    assert skipped == {} and [p[0] for p in points] == ["e-big-file", "e-good"]


#: Runs the command in its argv and prints the peak resident memory (KB) of it and its workers.
_PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
         "stderr=subprocess.DEVNULL, timeout=120); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _peak_mb(root: Path, limit: str) -> float:
    """The peak resident memory (MB) of the largest process of ``run runs`` over ``root`` under ``limit``."""
    env = {**os.environ, "SMTRAIL_MAX_LOG_SIZE": limit, "SMTRAIL_CACHE_DIR": str(root.parent / "c")}
    peak = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "smtrail_sql", "run", "runs",
                           "--logs", str(root), "--all-time", "--no-cache"],
                          capture_output=True, text=True, env=env, timeout=150, check=True)
    return int(peak.stdout) / 1024


def test_a_gzip_bomb_is_skipped_within_bounded_memory(bucket: Path) -> None:
    """1 GiB of spaces in a 1 MB file, under a 64 MB limit: the CLI process never holds the gigabyte."""
    bomb = write_gzip_bomb(bucket / "bomb.json.gz", 1 << 30)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    _assert_cli(_root(bucket), "skipped 1 file: 1 too-large", bomb, "larger than the size limit",
                env={"SMTRAIL_MAX_LOG_SIZE": "64MB"}, timeout=120)
    peak_mb = _peak_mb(_root(bucket), "64MB")
    # the interpreter, Arrow and DuckDB take about 200 MB; the bomb read in full took over 1,000 more
    assert 64 < peak_mb < 64 + 400, peak_mb


# -- dense files: small once inflated, huge once decoded -----------------------------------------------------

def _dense(folder: Path, kind: str, size: int, *, level: int = 9) -> Path:
    head, filler, tail = DENSE[kind]
    return write_gzip_bomb(folder / f"{ACCOUNT}_CloudTrail_{REGION}_20240501T1210Z_{kind}.json.gz", size,
                           filler=filler, head=head, tail=tail, level=level)


@pytest.mark.usefixtures("python_paths_only")
@pytest.mark.parametrize("kind", sorted(DENSE))
def test_a_dense_file_is_skipped_within_the_reader_budget(bucket: Path, kind: str) -> None:
    """60 MB of ``{},``, under a 64 MB limit: decoding it would take over a gigabyte (records) or four
    (points, 21 million of them); the reader's budget (4 x 64 MB + 256 MB) stops it, the file is too large."""
    dense = _dense(bucket, kind, 60 << 20)
    _assert_cli(_root(bucket), "skipped 1 file: 1 too-large", dense, "larger than the size limit",
                env={"SMTRAIL_MAX_LOG_SIZE": "64MB"}, timeout=120)
    peak_mb = _peak_mb(_root(bucket), "64MB")
    # the interpreter, Arrow and DuckDB take about 250 MB: the budget's 512 MB beside them, never the 1.3-3.8 GB
    # these files took before it
    assert peak_mb < 250 + memory.reader_budget(64 << 20) / 2**20 + 100, peak_mb


def test_the_c_scanner_reads_a_file_of_millions_of_empty_records_within_the_budget(bucket: Path) -> None:
    """The scanner (when built) makes no object for a record that is not a metric call: the file the Python
    paths give up on as too large is read, and gives no row (what it holds), in the same budget."""
    from smtrail_sql.reader import native

    if native.scanner() is None:
        pytest.skip("the C scanner is not built here")  # (CI builds it: tests/test_native_scan.py fails there)
    _dense(bucket, "records", 60 << 20)
    result = _cli(_root(bucket), env={"SMTRAIL_MAX_LOG_SIZE": "64MB"}, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == _cli(_root(bucket), env={native.NATIVE_ENV: "0"}).stdout  # (the good file's rows)


@pytest.mark.usefixtures("python_paths_only")
def test_the_budget_holds_in_worker_processes_and_in_this_one(bucket: Path) -> None:
    """Read in this process (a small selection), the budget is set for the reading only and then given back;
    read by worker processes (the dense file stored uncompressed makes the selection large), each has it."""
    import resource

    _dense(bucket, "records", 60 << 20, level=0)
    before = resource.getrlimit(resource.RLIMIT_DATA)
    assert _read(_root(bucket), max_size=64 << 20, workers=1) == ({"too-large": 1}, [GOOD_ROW])
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    for index in range(workers.GROUP_SIZE + 1):  # files enough for two groups, and so two workers
        write_log_file(bucket / log_key(ACCOUNT, REGION, "2024/05/01", f"20240501T13{index:02d}Z"),
                       [batch_put_metrics(f"e-{index:02d}", "2024-05-01T12:00:00Z", [POINT])])
    skipped, points = _read(_root(bucket), max_size=64 << 20, workers=2)
    assert skipped == {"too-large": 1} and len(points) == workers.GROUP_SIZE + 2
    skipped, points = _read(_root(bucket), max_size=512 << 20, workers=2)  # a budget of 2.25 GB holds it
    assert skipped == {} and len(points) == workers.GROUP_SIZE + 2


def test_limiting_memory_never_raises_a_lower_limit() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_DATA)
    with memory.data_budget(64 << 20):
        soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
        assert soft - (memory.data_size() or 0) <= 64 << 20
        with memory.data_budget(1 << 30):  # a lower limit already set stays
            assert resource.getrlimit(resource.RLIMIT_DATA)[0] == soft
    assert resource.getrlimit(resource.RLIMIT_DATA) == before


def test_the_limit_setting() -> None:
    assert validate_max_log_size(None) == DEFAULT_MAX_LOG_SIZE == 1 << 30
    assert validate_max_log_size("512MB") == 512 << 20
    assert validate_max_log_size(" ") == DEFAULT_MAX_LOG_SIZE
    for bad in ("lots", "0", "-5MB"):
        with pytest.raises(SettingError, match="SMTRAIL_MAX_LOG_SIZE"):
            validate_max_log_size(bad)


def test_a_bad_limit_is_a_usage_error(bucket: Path) -> None:
    result = _cli(_root(bucket), env={"SMTRAIL_MAX_LOG_SIZE": "lots"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: invalid SMTRAIL_MAX_LOG_SIZE 'lots': a size of at least one byte, such as 512MiB or 2GiB"]


# -- any other error of one file -----------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "reason"), [(MemoryError(), "too-large"), (RecursionError(), "too-deep"),
                                               (OverflowError("int too large"), "undecodable"),
                                               (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate"),
                                                "undecodable")])
def test_any_error_of_one_file_skips_that_file(bucket: Path, monkeypatch: pytest.MonkeyPatch,
                                               error: BaseException, reason: str) -> None:
    """Errors no known file raises any more (they once did), in the file's extraction: the file is skipped."""
    bad = bucket / "bad.json.gz"
    bad.write_bytes(gzip.compress(_record("e-bad").encode()))
    real = decode._extract_json

    def extract_json(data: bytes, log: LogFile, lean: bool = False) -> Any:
        if log.path == str(bad):
            raise error
        return real(data, log, lean)

    monkeypatch.setattr(decode, "_extract_json", extract_json)
    assert _read(_root(bucket)) == ({reason: 1}, [GOOD_ROW])


def test_a_file_whose_rows_arrow_refuses_is_skipped_alone(bucket: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_log_file(bucket / "other.json.gz", [batch_put_metrics("e-other", "2024-05-01T12:00:00Z", [POINT])])
    real = batch.build_tables

    def build_tables(parts: Any, *, lean: bool = False) -> Any:
        if any("e-other" in part.unpacked().calls["event_id"] for part in parts):
            raise OverflowError("a value Arrow refuses")
        return real(parts, lean=lean)

    monkeypatch.setattr(batch, "build_tables", build_tables)
    found = discover_log_files(_root(bucket))
    reasons, (points, _) = batch.extract_group(list(enumerate(found.files)), None)
    assert reasons.count("undecodable") == 1 and reasons.count(None) == 1
    assert points.column("event_id").to_pylist() == ["e-good"]
