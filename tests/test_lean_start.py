"""A console-script query leaves out what it has no use for: pyarrow's numpy bridge when its rows come from a
verified snapshot (:mod:`smtrail_sql.process`), and the interpreter's teardown once its output is flushed
(:func:`smtrail_sql.entry.leave`). Each case runs the console script's ``main`` in a new process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from smtrail_sql.entry import leave

FORMATS = ("table", "csv", "tsv", "json", "markdown", "parquet")


def _console(cache: Path, *args: str, executor: bool = True) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run ``smtrail-sql ARGS`` (its ``main``, as the console script does): the process, and whether it had
    loaded numpy when it ended. ``executor=False``: a warm query runs in this process (see
    smtrail_sql.executor)."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('NUMPY', 'numpy' in sys.modules, 'PANDAS', 'pandas' in sys.modules,"
            " file=sys.stderr))\n"
            f"sys.argv = ['smtrail-sql', *{list(args)!r}]\n"
            "from smtrail_sql.entry import main\nmain()\n")
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(cache), "SMTRAIL_EXECUTOR": "1" if executor else "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    return done, "NUMPY True" in done.stderr


def _query(logs: Path, *args: str) -> list[str]:
    return ["run", "metric-summary", "--logs", str(logs), "--all-time", *args]


def _every_point(logs: Path, *args: str) -> list[str]:
    """A query whose output is exact (``metric-summary`` averages, which may differ in the last digit)."""
    return ["sql", "SELECT metric_name, step, value FROM sagemaker_metrics ORDER BY 1, 2, 3", "--logs", str(logs),
            "--all-time", "-f", "csv", *args]


def test_a_warm_query_needs_no_numpy_in_any_format(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    logs = metric_logs[0]
    cache = tmp_path / "cache"
    cold, cold_numpy = _console(cache, *_query(logs, "-f", "csv"))
    assert cold.returncode == 0, cold.stderr
    assert cold_numpy  # (reading log files builds Arrow arrays with numpy)
    for fmt, executor in [(fmt, True) for fmt in FORMATS] + [(fmt, False) for fmt in FORMATS]:
        target = tmp_path / f"rows.{fmt}"
        warm, warm_numpy = _console(cache, *_query(logs, "-f", fmt, "-o", str(target)), executor=executor)
        assert warm.returncode == 0, warm.stderr
        assert not warm_numpy, (fmt, executor)
        assert target.stat().st_size > 0
    assert pq.read_table(tmp_path / "rows.parquet").num_rows == len(cold.stdout.splitlines()) - 1
    assert (tmp_path / "rows.csv").read_text().splitlines()[0] == cold.stdout.splitlines()[0]
    # an empty result is explained from the same process, still without numpy
    empty, empty_numpy = _console(cache, *_query(logs, "-m", "no-such-metric"))
    assert empty.returncode == 0 and "0 rows" in empty.stderr and not empty_numpy


def test_a_damaged_snapshot_is_found_before_pyarrow_loads(metric_logs: tuple[Path, list[Path]],
                                                           tmp_path: Path) -> None:
    logs = metric_logs[0]
    first, _ = _console(tmp_path, *_every_point(logs))
    (snapshot,) = (tmp_path / "snapshots").glob("*.arrows")
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0x40
    snapshot.write_bytes(bytes(data))
    # (in this process: through the executor, it is the executor that reads again, see test_executor)
    again, numpy_loaded = _console(tmp_path, *_every_point(logs), executor=False)
    assert again.returncode == 0, again.stderr
    assert numpy_loaded  # (the rows were read again: pyarrow whole)
    assert again.stdout == first.stdout
    (rebuilt,) = (tmp_path / "snapshots").glob("*.arrows")
    assert rebuilt.read_bytes() != bytes(data)


def test_a_cold_query_read_in_this_process_needs_no_pandas(metric_logs: tuple[Path, list[Path]],
                                                           tmp_path: Path) -> None:
    """A small selection is read without workers: pyarrow's pandas check is settled without pandas there
    too, as in a worker (pandas costs 0.4 s to import, and nothing in a query that prints rows uses it)."""
    done, _ = _console(tmp_path, *_query(metric_logs[0], "--no-cache", "-f", "csv"))
    assert done.returncode == 0, done.stderr
    assert "PANDAS False" in done.stderr and done.stdout.startswith("trial_component,")


def test_the_library_keeps_pyarrow_whole(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """Outside the console script (a notebook, say), a warm read leaves pyarrow able to make a DataFrame."""
    code = ("from smtrail_sql import Toolkit, EngineSettings\n"
            f"kit = Toolkit.open(EngineSettings(engine='local', logs={str(metric_logs[0])!r}))\n"
            "kit.run('metric-summary', all_time=True)\n"
            "import pandas  # (a cold read in the library left pyarrow able to use it)\n"
            "kit = Toolkit.open(EngineSettings(engine='local', logs=kit.settings.logs))\n"
            "print(len(kit.run('metric-summary', all_time=True).to_pandas()))\n")
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_the_quick_exit_loses_no_output(tmp_path: Path) -> None:
    from smtrail_sql.demo import write_sample_bucket

    logs = tmp_path / "logs"
    points = write_sample_bucket(logs, seed=5, days=1, files_per_day=4, calls_per_file=50).points
    piped, _ = _console(tmp_path, *_every_point(logs))
    written, _ = _console(tmp_path, *_every_point(logs, "-o", str(tmp_path / "rows.csv")))
    assert piped.returncode == written.returncode == 0
    rows = piped.stdout.splitlines()
    assert len(piped.stdout) > 1 << 16  # (more than a pipe holds: written while the reader reads)
    assert len(rows) == points + 1 and rows == (tmp_path / "rows.csv").read_text().splitlines()
    failed, _ = _console(tmp_path, "run", "no-such-query", "--logs", str(logs))
    assert failed.returncode == 2
    assert failed.stderr.splitlines()[0].startswith("error: unknown query 'no-such-query'")


def test_a_running_thread_gets_the_usual_exit() -> None:
    """With a thread still at work, leaving at once could cut it off: the exit is the usual one (in-process
    here, so it raises SystemExit instead of ending pytest)."""
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        with pytest.raises(SystemExit) as done:
            leave(3)
        assert done.value.code == 3
    finally:
        stop.set()
        worker.join()
