"""A cache that is never wrong: changed files are read again, damaged entries are never served (nor crash a
run), and what killed runs leave behind is removed by the next run, never what a live run is using."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.reader import workers
from smtrail_sql.reader.cache import ExtractCache
from smtrail_sql.reader.layout import discover_log_files
from smtrail_sql.reader.pipeline import ReadResult, read_log_files
from tests.events import batch_put_metrics, write_log_file

ROOT = Path(__file__).resolve().parent.parent
TRIALS = 50


def _read(root: Path, cache: ExtractCache | None) -> ReadResult:
    return read_log_files(discover_log_files(root).files, cache=cache)


def _rows(result: ReadResult) -> tuple[Any, Any]:
    """Both relations' rows, in an order that does not depend on the cache (snapshots group by series)."""
    import pyarrow as pa

    def canonical(table: pa.Table) -> pa.Table:
        columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
        plain = pa.table(columns, names=table.column_names)
        return plain.sort_by([(name, "ascending") for name in plain.column_names]).combine_chunks()

    return canonical(result.points), canonical(result.calls)


def _same_rows(one: tuple[Any, Any], other: tuple[Any, Any]) -> bool:
    return bool(one[0].equals(other[0]) and one[1].equals(other[1]) and one[1].num_rows > 0)


def _plain_log(path: Path, value: str) -> Path:
    """A plain (not gzipped) log whose one point has ``value``: same-length values give the same size."""
    record = batch_put_metrics("e-1", "2024-05-01T12:00:00Z",
                               [{"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0}])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Records": [record]}).replace('"value": 0', f'"value": {value}'))
    return path


def test_a_log_rewritten_with_the_same_size_and_mtime_is_read_again(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    path = _plain_log(logs / "metrics.json", "0.25")
    _plain_log(logs / "other.json", "0.75")
    cache = ExtractCache(tmp_path / "cache")
    assert _read(logs, cache).points.column("value").to_pylist() == [0.25, 0.75]
    before = path.stat()
    _plain_log(path, "0.50")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the modification time set back
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    again = _read(logs, cache)
    assert not again.snapshot_hit and (again.files_read, again.files_cached) == (1, 1)
    assert sorted(again.points.column("value").to_pylist()) == [0.5, 0.75]
    # and with no snapshot at all, the file's own entry is not served either
    _plain_log(path, "0.00")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    shutil.rmtree(tmp_path / "cache" / "snapshots")
    fresh = _read(logs, ExtractCache(tmp_path / "cache"))
    assert (fresh.files_read, fresh.files_cached) == (1, 1)
    assert sorted(fresh.points.column("value").to_pylist()) == [0.0, 0.75]


def test_a_log_given_without_its_identity_is_stat_ed_before_it_is_read(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    path = _plain_log(logs / "metrics.json", "0.25")
    cache = ExtractCache(tmp_path / "cache")
    bare = [log._replace(inode=0, ctime_ns=0) for log in discover_log_files(logs).files]
    assert read_log_files(bare, cache=cache).points.column("value").to_pylist() == [0.25]
    before = path.stat()
    _plain_log(path, "0.50")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert read_log_files(bare, cache=cache).points.column("value").to_pylist() == [0.5]


# -- damage ----------------------------------------------------------------------------------------------------

def damage_trials(logs: str, pristine: str, work: str, kind: str, trials: int, seed: int) -> None:
    """Run in a subprocess (a segmentation fault fails the test rather than killing pytest): damage a copy of
    the cache at random, read through it, and check every result against a read with no cache. Prints a summary.
    """
    import duckdb

    rng = random.Random(seed)
    connection = duckdb.connect()
    expected = _rows(_read(Path(logs), None))
    summary: dict[str, Any] = {"trials": 0, "wrong": 0, "served_damaged": 0, "removed": 0}
    for trial in range(trials):
        copy = Path(work) / f"trial-{trial}"
        shutil.copytree(pristine, copy)
        if kind == "snapshot":
            targets = sorted((copy / "snapshots").glob("*.arrows"))
        else:
            shutil.rmtree(copy / "snapshots")
            targets = [rng.choice(sorted((copy / "files").rglob("*.entry")))]
        target = targets[0]
        data = bytearray(target.read_bytes())
        for _ in range(rng.randint(1, 4)):  # a few bytes anywhere, header included, each surely changed
            at = rng.randrange(len(data))
            data[at] = (data[at] + rng.randint(1, 255)) % 256
        target.write_bytes(bytes(data))
        result = _read(Path(logs), ExtractCache(copy))
        _scan(connection, result)
        summary["trials"] += 1
        summary["wrong"] += not _same_rows(_rows(result), expected)
        summary["served_damaged"] += result.snapshot_hit if kind == "snapshot" else result.files_read == 0
        summary["removed"] += not target.exists() or target.read_bytes() != bytes(data)
        shutil.rmtree(copy)
    print(json.dumps(summary))


def _scan(connection: Any, result: ReadResult) -> None:
    """Have DuckDB scan every column of both tables, as a query would."""
    for name, table in (("points", result.points), ("calls", result.calls)):
        connection.register(name, table)
        counts = ", ".join(f'count("{column}")' for column in table.column_names)
        assert connection.execute(f"SELECT count(*), {counts} FROM {name}").fetchall()[0][0] == table.num_rows


@pytest.fixture(scope="module")
def damage_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from smtrail_sql.demo import write_sample_bucket

    base = tmp_path_factory.mktemp("damage")
    write_sample_bucket(base / "logs", seed=11, days=1, files_per_day=2, calls_per_file=20)
    cold = _read(base / "logs", ExtractCache(base / "pristine"))
    assert cold.points.num_rows > 100 and cold.files_read >= 4, cold
    return base / "logs", base / "pristine"


@pytest.mark.parametrize("kind", ["snapshot", "entry"])
def test_random_damage_is_never_served_and_never_crashes(kind: str, damage_setup: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    logs, pristine = damage_setup
    code = ("import sys; from tests.test_cache_safety import damage_trials; "
            "damage_trials(*sys.argv[1:5], int(sys.argv[5]), int(sys.argv[6]))")
    done = subprocess.run([sys.executable, "-c", code, str(logs), str(pristine), str(tmp_path), kind,
                           str(TRIALS), "2024"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"exit {done.returncode} (a negative code is a signal): {done.stderr[-2000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == {"trials": TRIALS, "wrong": 0, "served_damaged": 0, "removed": TRIALS}


# -- what dead runs leave --------------------------------------------------------------------------------------

def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture()
def live() -> Any:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    child.kill()
    child.wait()


def test_a_dead_runs_temporaries_and_spools_are_removed_a_live_runs_are_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live: subprocess.Popen[bytes]) -> None:
    logs = tmp_path / "logs"
    _plain_log(logs / "metrics.json", "0.25")
    shm = tmp_path / "shm"
    monkeypatch.setattr(workers, "SPOOL_PARENT", str(shm))
    temps = tmp_path / "cache" / "tmp"
    dead = _dead_pid()
    made = {
        "dead temporary": temps / f".tmp-{dead}-x1.part",
        "live temporary": temps / f".tmp-{live.pid}-x2.part",
        "dead spool": shm / f"smtrail-rows-{dead}-y1" / "0.arrows",
        "live spool": shm / f"smtrail-rows-{live.pid}-y2" / "0.arrows",
        "fresh unowned spool": shm / "smtrail-rows-abcd1234" / "0.arrows",
        "old unowned spool": shm / "smtrail-rows-efgh5678" / "0.arrows",
        "someone else's": shm / f"other-{dead}-z" / "file",
    }
    for path in made.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
    old = time.time() - 2 * 24 * 3600
    os.utime(made["old unowned spool"].parent, (old, old))
    assert _read(logs, ExtractCache(tmp_path / "cache")).points.num_rows == 1
    left = {name for name, path in made.items() if path.exists()}
    assert left == {"live temporary", "live spool", "fresh unowned spool", "someone else's"}


def test_clearing_the_cache_keeps_what_a_live_run_is_using(logs_and_cache_for_clear: Path,
                                                           live: subprocess.Popen[bytes]) -> None:
    """``cache clear`` beside a query going on: its spooled rows and DuckDB's spill folder stay, a dead run's go,
    and so does every entry."""
    cache_root = logs_and_cache_for_clear
    temps = cache_root / "tmp"
    dead = _dead_pid()
    made = {
        "dead spool": temps / f"smtrail-rows-{dead}-a" / "0.arrows",
        "live spool": temps / f"smtrail-rows-{live.pid}-b" / "0.arrows",
        "dead spill": temps / f"smtrail-duckdb-{dead}-c" / "duckdb_temp_storage.tmp",
        "live spill": temps / f"smtrail-duckdb-{live.pid}-d" / "duckdb_temp_storage.tmp",
        "live temporary": temps / f".tmp-{live.pid}-e.part",
    }
    for path in made.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
    cache = ExtractCache(cache_root)
    assert cache.info().entries == 1  # (the spooled rows are no entries)
    assert cache.clear().entries == 1 and cache.info().entries == 0
    assert {name for name, path in made.items() if path.exists()} == {"live spool", "live spill", "live temporary"}


@pytest.fixture()
def logs_and_cache_for_clear(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    _plain_log(logs / "metrics.json", "0.25")
    _read(logs, ExtractCache(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_dead_pids_spool_still_held_by_a_live_process_is_kept(tmp_path: Path) -> None:
    """A pid means nothing in another PID namespace, and orphaned workers of a killed run still write: the lock
    they hold keeps their folder."""
    from smtrail_sql.runfiles import remove_dead

    spool = tmp_path / f"smtrail-rows-{_dead_pid()}-held"
    spool.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_SH); "
        "print('held', flush=True); time.sleep(120)"), str(spool)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert remove_dead(tmp_path, "smtrail-rows-") == 0 and spool.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_dead(tmp_path, "smtrail-rows-") == 1 and not spool.exists()


# -- killed runs -----------------------------------------------------------------------------------------------

def _big_plain_folder(root: Path, files: int) -> None:
    """Enough to read that workers are started and busy for a second or more: one log, many copies (copies of
    an event count once, but every file is read)."""
    records = [batch_put_metrics(f"e-{i}", "2024-05-01T12:00:00Z", [
        {"metricName": f"m{j}", "timestamp": 1714564790000 + i, "step": i, "value": i * 0.5 + j}
        for j in range(10)]) for i in range(400)]
    first = write_log_file(root / "copy-0000.json.gz", records)
    for n in range(1, files):
        shutil.copyfile(first, root / f"copy-{n:04d}.json.gz")


def _session_alive(sid: int) -> bool:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_bytes()
            except OSError:
                continue
            fields = stat.rpartition(b")")[2].split()
            if int(fields[3]) == sid and fields[0] != b"Z":
                return True
    return False


def _cli(logs: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", (
        "import sys; from smtrail_sql.reader import workers; workers.PARALLEL_MIN_BYTES = 0; "
        "from smtrail_sql.cli import main; sys.argv[0] = 'smtrail-sql'; main()"),
        "run", "metric-summary", "--logs", str(logs), "--all-time", "--format", "csv", *extra]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_run_killed_mid_read_leaves_nothing_the_next_run_does_not_remove(how: str, tmp_path: Path) -> None:
    logs, cache = tmp_path / "logs", tmp_path / "cache"
    _big_plain_folder(logs, 200)
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(cache)}
    run = subprocess.Popen(_cli(logs, cache), cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spool_parent = cache / "tmp"  # (the spool's folder: the cache's, on disk)
    deadline = time.monotonic() + 120

    def spools() -> list[Path]:
        return list(spool_parent.glob(f"smtrail-rows-{run.pid}-*"))

    while not any(any(s.iterdir()) for s in spools() if s.exists()):  # workers busy, rows spooled
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be stopped"
        time.sleep(0.005)
    if how == "SIGKILL":
        os.kill(run.pid, signal.SIGKILL)  # the parent alone: its workers are orphaned and finish what they hold
    else:
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
    run.wait(timeout=60)
    while _session_alive(run.pid):  # orphaned workers exit once they find their parent gone
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if how == "SIGKILL":
        assert spools(), "nothing was left behind: the test did not stop the run mid-read"

    after = subprocess.run(_cli(logs, cache), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    plain = subprocess.run(_cli(logs, cache, "--no-cache"), cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert after.returncode == plain.returncode == 0, after.stderr + plain.stderr
    assert after.stdout == plain.stdout and after.stdout.count("\n") > 1
    assert not spools()
    assert not list(cache.rglob(".tmp-*"))
