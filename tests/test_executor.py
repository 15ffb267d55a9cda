"""The executor (smtrail_sql.executor): a warm query of the console script runs in a process forked at start-up,
with the rows, errors and exit codes of a query run in the command's own process, and nothing left behind."""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc").is_dir(), reason="forks; reads /proc")

#: The command process reports what it loaded (beside the console script's own run).
_SPY = ("import sys, atexit\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in ('duckdb', 'pyarrow') if m in sys.modules),"
        " file=sys.stderr))\n"
        "sys.argv = ['smtrail-sql', *sys.argv[1:]]\n"
        "from smtrail_sql.entry import main\nmain()\n")


def _cli(cache: Path, *args: str, executor: bool = True, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """The console script run with ``args`` (``prelude``: Python run first, in the command's process)."""
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(cache), "SMTRAIL_EXECUTOR": "1" if executor else "0"}
    spy = _SPY.replace("from smtrail_sql.entry import main", f"{prelude}\nfrom smtrail_sql.entry import main")
    process = subprocess.Popen([sys.executable, "-c", spy, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, start_new_session=True)
    stdout, stderr = process.communicate(timeout=120)
    # nothing of the command's process group outlives it (the executor is killed and reaped, or never was)
    deadline = time.monotonic() + 5
    while _group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _group(process.pid), "a process of the command outlived it"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (a zombie has ended)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _rows(stdout: str) -> list[list[Any]]:
    def value(text: str) -> Any:
        try:
            number = float(text)
        except ValueError:
            return text
        return text if math.isnan(number) else f"{number:.12g}"
    return [[value(v) for v in row] for row in csv.reader(io.StringIO(stdout))]


def _loaded(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if line.startswith("LOADED"))
    return list(eval(line.removeprefix("LOADED ")))  # noqa: S307  (our own printout)


@pytest.mark.parametrize("query", [
    ["run", "metric-summary", "--all-time"],
    ["run", "metric-history", "-t", "resnet-training-job-aws-training-job", "-m", "train:loss", "--since",
     "2024-04-30", "--until", "2024-05-03"],
    ["sql", "SELECT metric_name, COUNT(*) AS n FROM sagemaker_metrics GROUP BY 1 ORDER BY 1", "--all-time"],
])
def test_a_warm_query_runs_in_the_executor_with_the_same_rows(metric_logs: tuple[Path, list[Path]],
                                                              tmp_path: Path, query: list[str]) -> None:
    args = [*query, "--logs", str(metric_logs[0]), "-f", "csv"]
    cold = _cli(tmp_path, *args)  # (fills the cache: read in the command's process, the executor dismissed)
    assert cold.returncode == 0, cold.stderr
    assert _loaded(cold.stderr) == ["duckdb", "pyarrow"]
    warm = _cli(tmp_path, *args)
    assert warm.returncode == 0, warm.stderr
    assert _loaded(warm.stderr) == []  # (the rows came from the executor)
    here = _cli(tmp_path, *args, executor=False)
    assert _loaded(here.stderr) == ["duckdb", "pyarrow"]
    assert _rows(warm.stdout) == _rows(here.stdout) == _rows(cold.stdout) and len(_rows(warm.stdout)) > 1
    assert warm.stderr.replace("LOADED []", "") == here.stderr.replace("LOADED ['duckdb', 'pyarrow']", "")


def _warm_both_ways(cache: Path, args: list[str], **env: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """``args`` run once to fill the cache, then warm with the executor ("1") and without it ("0"), each
    reporting whether it loaded duckdb, pyarrow or sqlglot."""
    spy = _SPY.replace("('duckdb', 'pyarrow')", "('duckdb', 'pyarrow', 'sqlglot')")
    assert _cli(cache, *args).returncode == 0
    runs = {}
    for executor in ("1", "0"):
        runs[executor] = subprocess.run([sys.executable, "-c", spy, *args], capture_output=True, text=True,
                                        timeout=120, env={**os.environ, "SMTRAIL_CACHE_DIR": str(cache), **env,
                                                          "SMTRAIL_EXECUTOR": executor})
        assert runs[executor].returncode == 0, runs[executor].stderr
    return runs


def test_an_empty_results_explanation_is_looked_up_in_the_executor(metric_logs: tuple[Path, list[Path]],
                                                                   tmp_path: Path) -> None:
    """The query behind the explanation (what the logs hold) is the executor's second query, from its shipped
    form: the command loads neither DuckDB, pyarrow nor sqlglot, and says what it always said."""
    args = ["run", "metric-summary", "--logs", str(metric_logs[0]), "--all-time", "-f", "csv",
            "-t", "resnet-traning-job-aws-training-job"]
    runs = _warm_both_ways(tmp_path, args)
    assert _loaded(runs["1"].stderr) == []
    assert "sqlglot" not in _loaded(runs["0"].stderr)  # (shipped forms: the explanation needs no rendering)
    said = [line for line in runs["1"].stderr.splitlines() if not line.startswith("LOADED")]
    assert said == [line for line in runs["0"].stderr.splitlines() if not line.startswith("LOADED")]
    assert "did you mean 'resnet-training-job-aws-training-job'" in said[-1]


def test_a_warm_plot_runs_its_query_in_the_executor(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """``plot`` draws what ``run`` would read: its query, warm, from its shipped form in the executor."""
    args = ["plot", "-t", "resnet-training-job-aws-training-job", "-m", "train:loss", "--logs", str(metric_logs[0]),
            "--all-time"]
    drawn = _warm_both_ways(tmp_path, args, NO_COLOR="1")
    assert _loaded(drawn["1"].stderr) == []
    assert drawn["1"].stdout == drawn["0"].stdout and "train:loss" in drawn["1"].stdout


def test_the_executor_is_gone_before_rows_are_written(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """Rows may be paged for minutes: the executor (DuckDB's memory, the mapped snapshot) is not kept for that."""
    spy = _SPY.replace("from smtrail_sql.entry import main", (
        "import smtrail_sql.cli.console as console, smtrail_sql.executor as e\n"
        "write = console.write_rows\n"
        "def spied(*a, **k):\n"
        "    print('EXECUTOR', e._EXECUTOR is not None, file=sys.stderr)\n"
        "    return write(*a, **k)\n"
        "console.write_rows = spied\n"
        "from smtrail_sql.entry import main"))
    args = ["run", "metric-summary", "--logs", str(metric_logs[0]), "--all-time", "-f", "csv"]
    assert _cli(tmp_path, *args).returncode == 0  # (fills the cache)
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path), "SMTRAIL_EXECUTOR": "1"}
    warm = subprocess.run([sys.executable, "-c", spy, *args], capture_output=True, text=True, env=env, timeout=120)
    assert warm.returncode == 0, warm.stderr
    assert _loaded(warm.stderr) == [] and "EXECUTOR False" in warm.stderr.splitlines()


def test_a_large_result_is_fetched_by_the_command(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """Past MAX_CELLS values, sending the rows back costs more than the executor saves: the command runs the
    query itself, with the same rows."""
    spy = _SPY.replace("from smtrail_sql.entry import main", "import smtrail_sql.executor_side as e; e.MAX_CELLS = 6\n"
                       "from smtrail_sql.entry import main")
    args = ["sql", "SELECT metric_name, step FROM sagemaker_metrics ORDER BY 1, 2", "--logs", str(metric_logs[0]),
            "--all-time", "-f", "csv"]
    assert _cli(tmp_path, *args).returncode == 0  # (fills the cache)
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path), "SMTRAIL_EXECUTOR": "1"}
    large = subprocess.run([sys.executable, "-c", spy, *args], capture_output=True, text=True, env=env, timeout=120)
    assert large.returncode == 0, large.stderr
    assert _loaded(large.stderr) == ["duckdb", "pyarrow"]  # (run by the command)
    here = _cli(tmp_path, *args, executor=False)
    assert _rows(large.stdout) == _rows(here.stdout) and len(_rows(large.stdout)) > 4  # (3 rows: 6 values)


def test_an_error_in_the_executor_is_the_usual_error(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """The query fails at run time in DuckDB: the command runs it itself, for the usual line and exit code."""
    logs = ["--logs", str(metric_logs[0]), "--all-time"]
    assert _cli(tmp_path, "run", "runs", *logs).returncode == 0
    failing = ["sql", "SELECT CAST(metric_name AS INTEGER) AS n FROM sagemaker_metrics", *logs]
    through, here = _cli(tmp_path, *failing), _cli(tmp_path, *failing, executor=False)
    assert through.returncode == here.returncode != 0
    # (up to the value DuckDB names: whichever its threads met first)
    assert through.stderr.splitlines()[0].split("'")[0] == here.stderr.splitlines()[0].split("'")[0]
    assert through.stderr.startswith("error: sql: ") and len(through.stderr.splitlines()) == 2  # (+ LOADED)
    assert "Traceback" not in through.stderr


def test_a_damaged_snapshot_is_read_again_never_served(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    args = ["run", "metric-summary", "--logs", str(metric_logs[0]), "--all-time", "-f", "csv"]
    first = _cli(tmp_path, *args)
    (snapshot,) = (tmp_path / "snapshots").iterdir()
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0x40
    snapshot.write_bytes(bytes(data))
    again = _cli(tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert _rows(again.stdout) == _rows(first.stdout)
    assert snapshot.read_bytes() != bytes(data)  # (rebuilt)


_WALKS = ("import sys, atexit\n"
          "import smtrail_sql.reader.layout as layout\n"
          "walk, walks = layout.discover_log_files, []\n"
          "layout.discover_log_files = lambda *a, **k: walks.append(1) or walk(*a, **k)\n"
          "atexit.register(lambda: print('WALKS', len(walks), file=sys.stderr))\n"
          "sys.argv = ['smtrail-sql', *sys.argv[1:]]\n"
          "from smtrail_sql.entry import main\nmain()\n")


def test_a_cold_read_walks_the_folders_once(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """The executor's look for a snapshot walked the folders; the read that follows uses that walk."""
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path), "SMTRAIL_EXECUTOR": "1"}
    args = ["run", "metric-summary", "--logs", str(metric_logs[0]), "--all-time", "-f", "csv"]
    for expected in ("WALKS 1", "WALKS 1"):  # cold (no snapshot: read here), then warm (in the executor)
        done = subprocess.run([sys.executable, "-c", _WALKS, *args], capture_output=True, text=True, env=env,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert expected in done.stderr.splitlines()


def test_cold_and_other_commands_dismiss_it(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    logs = ["--logs", str(metric_logs[0]), "--all-time"]
    for args in (["run", "runs", "--no-cache", *logs], ["run", "--help"], ["run", "nope", *logs],
                 ["queries"], ["sql", "SELECT 1 AS one", "--no-cache", *logs]):
        done = _cli(tmp_path, *args)  # (which also checks that no process outlives the command)
        assert "Traceback" not in done.stderr, args


def test_a_ctrl_c_stops_the_executor_with_the_command(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """Ctrl-C while the command line is being parsed: the group's signal stops both, one line, exit 130."""
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "smtrail_sql", "run", "runs", "--logs", str(metric_logs[0]), "--all-time"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while len(_group(process.pid)) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (0, 130)  # (0: it had finished)
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while _group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _group(process.pid)


def test_a_run_that_reads_every_file_again_forks_a_cold_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--no-cache`` never reads a snapshot: its executor is a cold one (it loads the reader, not DuckDB); one
    that is stopped while the command reads on is reaped at the command's end."""
    from smtrail_sql import executor

    monkeypatch.setenv(executor.EXECUTOR_VARIABLE, "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for arguments, cold in ((["run", "metric-summary", "--all-time", "--no-cache"], True),
                            (["run", "metric-summary", "--all-time"], False)):
        executor.start(arguments)
        assert executor._EXECUTOR is not None and executor._EXECUTOR[3] is cold
        pid = executor._EXECUTOR[0]
        executor.dismiss(wait=False)
        assert executor._EXECUTOR is None and executor._STOPPED in ([(pid, False)], [])  # (reaped if gone)
        executor.dismiss()
        assert executor._STOPPED == []
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # (reaped already)


#: Makes the reader fork its workers for the smallest bucket (in the command, or in a cold executor): a task a
#: file, so that its three files make work for two.
_FORKING = ("import smtrail_sql.reader.workers as w; w.PARALLEL_MIN_BYTES = 0; w.GROUP_SIZE = w.GROUP_SIZE_MAX = 1"
            "\n")


def _said(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("LOADED")]


def _scratch(cache: Path) -> list[str]:
    """What the reader left in the cache's scratch folder (its spools, the rows a cold executor handed over)."""
    return sorted(p.name for p in (cache / "tmp").glob("smtrail-*")) if (cache / "tmp").is_dir() else []


@pytest.mark.parametrize("forking", [False, True], ids=["in-process", "workers"])
@pytest.mark.parametrize("query", [
    ["run", "metric-summary", "--all-time"],
    ["sql", "SELECT metric_name, COUNT(*) AS n FROM sagemaker_metrics GROUP BY 1 ORDER BY 1", "--all-time"],
])
def test_a_cold_read_runs_in_the_executor_with_the_same_rows(metric_logs: tuple[Path, list[Path]],
                                                             tmp_path: Path, query: list[str], forking: bool) -> None:
    """``--no-cache``: the executor reads the files (its workers forked there), and the command loads neither
    DuckDB nor pyarrow; the rows and every line on stderr are those of a read in the command."""
    args = [*query, "--no-cache", "--logs", str(metric_logs[0]), "-f", "csv"]
    prelude = _FORKING if forking else ""
    through = _cli(tmp_path, *args, prelude=prelude)
    assert through.returncode == 0, through.stderr
    assert _loaded(through.stderr) == []
    here = _cli(tmp_path, *args, executor=False, prelude=prelude)
    assert _loaded(here.stderr) == ["duckdb", "pyarrow"]
    assert _rows(through.stdout) == _rows(here.stdout) and len(_rows(here.stdout)) > 1
    assert _said(through.stderr) == _said(here.stderr)
    assert _scratch(tmp_path) == []


@pytest.mark.parametrize("forking", [False, True], ids=["in-process", "workers"])
def test_a_cold_executors_large_result_is_queried_by_the_command(metric_logs: tuple[Path, list[Path]],
                                                                 tmp_path: Path, forking: bool) -> None:
    """Past MAX_CELLS values, a cold executor hands the rows it read to the command (a file, mapped then
    removed), which runs the query itself without reading a file again."""
    prelude = "import smtrail_sql.executor_side as e; e.MAX_CELLS = 6\n" + (_FORKING if forking else "")
    reads = ("import smtrail_sql.reader.pipeline as p, atexit\nread = p.read_log_files\nreads = []\n"
             "p.read_log_files = lambda *a, **k: reads.append(1) or read(*a, **k)\n"
             "atexit.register(lambda: print('READS', len(reads), file=sys.stderr))\n")
    args = ["sql", "SELECT metric_name, step FROM sagemaker_metrics ORDER BY 1, 2", "--logs", str(metric_logs[0]),
            "--all-time", "--no-cache", "-f", "csv"]
    large = _cli(tmp_path, *args, prelude=prelude + reads)
    assert large.returncode == 0, large.stderr
    assert _loaded(large.stderr) == ["duckdb", "pyarrow"]  # (queried by the command)
    assert "READS 0" in large.stderr.splitlines()  # (but read by the executor)
    here = _cli(tmp_path, *args, executor=False)
    assert _rows(large.stdout) == _rows(here.stdout) and len(_rows(large.stdout)) > 4  # (3 rows: 6 values)
    assert _said(large.stderr)[:-1] == _said(here.stderr)
    assert _scratch(tmp_path) == []


def test_a_cold_executors_errors_are_the_usual_ones(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """DuckDB's error and a bad file under ``--strict`` come back from a cold executor as they are: the command
    says the usual line, with the usual exit code, and reads nothing itself."""
    logs = tmp_path / "logs"
    shutil.copytree(metric_logs[0], logs)
    failing = ["sql", "SELECT CAST(metric_name AS INTEGER) AS n FROM sagemaker_metrics", "--logs", str(logs),
               "--all-time", "--no-cache"]
    through, here = _cli(tmp_path, *failing), _cli(tmp_path, *failing, executor=False)
    assert _loaded(through.stderr) == []
    assert through.returncode == here.returncode == 1
    assert _said(through.stderr)[0].split("'")[0] == _said(here.stderr)[0].split("'")[0]
    assert through.stderr.startswith("error: sql: DuckDB could not run the query") and len(_said(through.stderr)) == 1
    broken = logs / "AWSLogs" / "123456789012" / "CloudTrail" / "us-east-1" / "2024" / "05" / "01"
    (broken / "123456789012_CloudTrail_us-east-1_20240501T1300Z_broken.json.gz").write_bytes(b"\x1f\x8b junk")
    strict = ["run", "runs", "--logs", str(logs), "--all-time", "--no-cache", "--strict"]
    through, here = _cli(tmp_path, *strict), _cli(tmp_path, *strict, executor=False)
    assert _loaded(through.stderr) == []
    assert through.returncode == here.returncode == 1
    assert _said(through.stderr) == _said(here.stderr) and "corrupt or truncated gzip" in through.stderr
    assert "Traceback" not in through.stderr + here.stderr


_PROGRESS = ("import smtrail_sql.cli.console as console\n"
             "class Told:\n"
             "    calls = []\n"
             "    def start(self, files, total): self.calls.append(('start', files, total))\n"
             "    def advance(self, files, nbytes): self.calls.append(('advance', files, nbytes))\n"
             "    def finish(self): self.calls.append(('finish',))\n"
             "    def status(self, status): pass\n"
             "    def close(self): print('PROGRESS', self.calls[0], [sum(c[i] for c in self.calls if c[0] == "
             "'advance') for i in (1, 2)], self.calls[-1], file=sys.stderr)\n"
             "console.progress_for_terminal = Told\n")


def test_a_cold_executors_progress_is_shown_by_the_command(metric_logs: tuple[Path, list[Path]],
                                                           tmp_path: Path) -> None:
    args = ["run", "runs", "--logs", str(metric_logs[0]), "--all-time", "--no-cache", "-f", "csv"]
    through = _cli(tmp_path, *args, prelude=_PROGRESS + _FORKING)
    here = _cli(tmp_path, *args, executor=False, prelude=_PROGRESS + _FORKING)
    assert _loaded(through.stderr) == []
    told = [line for line in through.stderr.splitlines() if line.startswith("PROGRESS")]
    assert told == [line for line in here.stderr.splitlines() if line.startswith("PROGRESS")]
    logs = list(metric_logs[0].rglob("*.json*"))
    files, size = len(logs), sum(p.stat().st_size for p in logs)
    assert told == [f"PROGRESS ('start', {files}, {size}) [{files}, {size}] ('finish',)"]


class _Told:
    """A progress that notes what it is told."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self, files: int, total_bytes: int) -> None:
        self.calls.append("start")

    def advance(self, files: int, nbytes: int) -> None:
        self.calls.append("advance")

    def finish(self) -> None:
        self.calls.append("finish")

    def status(self, status: object) -> None:
        self.calls.append("status")


@pytest.mark.parametrize("last", [None, ("error", "RuntimeError()")], ids=["gone", "error"])
def test_a_read_a_cold_executor_began_and_left_is_finished(metric_logs: tuple[Path, list[Path]],
                                                           monkeypatch: pytest.MonkeyPatch, last: Any) -> None:
    """The executor gone mid-read (killed, out of memory), or failed: the read's progress it began is finished
    before the command reads the files itself, which begins its own (on a terminal, a bar begun twice kept stdout
    redirected: the rows were lost); the command does not take the query as served."""
    from smtrail_sql import executor
    from smtrail_sql.engines.local import LocalEngine
    from smtrail_sql.pipes import receive, send
    from smtrail_sql.render import render
    from smtrail_sql.templates import TemplateLibrary
    from smtrail_sql.window import TimeWindow

    requests, to_child = os.pipe()
    from_child, replies = os.pipe()
    pid = os.fork()
    if pid == 0:  # (an executor that begins a read, then ends)
        try:
            os.close(to_child)
            os.close(from_child)
            receive(requests)
            send(replies, ("progress", "start", (3, 300)))
            send(replies, ("progress", "advance", (1, 100)))
            if last is not None:
                send(replies, last)
        finally:
            os._exit(0)
    os.close(requests)
    os.close(replies)
    monkeypatch.setattr(executor, "_EXECUTOR", (pid, to_child, from_child, True))
    told = _Told()
    query = render(TemplateLibrary.load().get("metric-summary"), window=TimeWindow.all_time())
    assert executor.serve(LocalEngine(metric_logs[0], use_cache=False), query, told) is None
    assert told.calls == ["start", "advance", "finish"]
    executor.dismiss()
    assert executor._EXECUTOR is None and executor._STOPPED == []


#: A query DuckDB takes seconds over the sample bucket below (about 2,400 points, three times over).
_SLOW = ("SELECT count(*) AS n FROM sagemaker_metrics a, sagemaker_metrics b, sagemaker_metrics c "
         "WHERE a.value < b.value + c.value")


@pytest.mark.slow
def test_a_cold_executor_stopped_in_its_query_ends_at_once(tmp_path: Path) -> None:
    """Ctrl-C once the read is over: the executor is in DuckDB's query, where its handler cannot run; it is
    killed at once (it was told to stop, and waited for 5 s), and nothing is left."""
    from smtrail_sql import executor
    from smtrail_sql.demo import write_sample_bucket

    logs, cache = tmp_path / "logs", tmp_path / "cache"
    write_sample_bucket(logs, days=1, files_per_day=4, calls_per_file=200, digests=False, duplicate=False)
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(cache), "SMTRAIL_EXECUTOR": "1"}
    process = subprocess.Popen([sys.executable, "-m", "smtrail_sql", "sql", _SLOW, "--logs", str(logs), "--all-time",
                                "--no-cache", "-f", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, start_new_session=True)
    try:
        time.sleep(2.0)  # (the read takes a few tenths of a second; the query, seconds)
        assert process.poll() is None, "the query ended before the signal"
        stopped = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - stopped
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130 and stderr == "interrupted\n", stderr
    assert took < executor.STOP_SECONDS / 2, took
    assert not _group(process.pid) and _scratch(cache) == []


def test_a_stopped_executors_scratch_is_removed_once_it_is_reaped(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed executor leaves what its DuckDB spilled (or rows it was writing): the command removes them once
    it has reaped it."""
    from smtrail_sql import executor

    monkeypatch.setenv(executor.EXECUTOR_VARIABLE, "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    executor.start(["run", "metric-summary", "--all-time", "--no-cache"])
    assert executor._EXECUTOR is not None
    pid = executor._EXECUTOR[0]
    spilled = tmp_path / f"smtrail-duckdb-{pid}-0badcafe"
    spilled.mkdir()
    (spilled / "spill.tmp").write_bytes(b"x" * 100)
    rows = tmp_path / f"smtrail-rows-{pid}-0badcafe.arrows"
    rows.write_bytes(b"rows")
    other = tmp_path / f"smtrail-duckdb-{os.getpid()}-0badcafe"  # (a live process's: kept)
    other.mkdir()
    monkeypatch.setattr(executor, "_SCRATCH", {str(tmp_path)})
    executor.dismiss()
    assert not spilled.exists() and not rows.exists() and other.exists()
    assert executor._SCRATCH == set()


def test_a_cold_executors_workers_hold_no_end_of_the_commands_pipes(metric_logs: tuple[Path, list[Path]],
                                                                    tmp_path: Path) -> None:
    """The reader's workers, forked by a cold executor, share none of its pipes with the command: the command
    sees the executor gone as soon as it is, whatever its workers do (Linux also kills them with it; other
    systems do not)."""
    said = tmp_path / "shared"
    spy = ("import smtrail_sql.reader.workers as w, os\n"
           "begin = w._start_worker\n"
           "def pipes(pid):\n"
           "    folder = f'/proc/{pid}/fd'\n"
           "    found = set()\n"
           "    for fd in os.listdir(folder):\n"
           "        try:\n"
           "            target = os.readlink(f'{folder}/{fd}')\n"
           "        except OSError:\n"
           "            continue\n"
           "        if target.startswith('pipe:'):\n"
           "            found.add(target)\n"
           "    return found\n"
           "def spied(*a):\n"
           "    executor = os.getppid()\n"
           "    command = int(open(f'/proc/{executor}/stat').read().rsplit(')', 1)[1].split()[1])\n"
           f"    print(len(pipes(os.getpid()) & pipes(command)), file=open({str(said)!r}, 'a'))\n"
           "    return begin(*a)\n"
           "w._start_worker = spied\n")
    args = ["run", "runs", "--logs", str(metric_logs[0]), "--all-time", "--no-cache", "-f", "csv"]
    done = _cli(tmp_path, *args, prelude=_FORKING + spy)
    assert done.returncode == 0, done.stderr
    assert _loaded(done.stderr) == []  # (read by the executor's workers)
    assert said.read_text().split() == ["0", "0"]


def test_a_cold_executor_sends_an_error_only_if_it_arrives_the_same() -> None:
    """The reader's errors are raised by the command as they are, when they unpickle as the same error; one
    that would not (an error whose arguments are not its message) makes the command run the query itself."""
    from smtrail_sql.errors import LogReadError, QueryFailedError, SettingError
    from smtrail_sql.executor_side import _cold_answer

    for sent in (LogReadError("a.json.gz: corrupt or truncated gzip"), QueryFailedError("sql: DuckDB could not")):
        kind, error = _cold_answer(sent, None)  # type: ignore[arg-type]  (not a result too large: no engine)
        assert kind == "raise" and error is sent
    kind, text = _cold_answer(SettingError("logs folder", "/x", "a folder"), None)  # type: ignore[arg-type]
    assert kind == "error" and "SettingError" in text
