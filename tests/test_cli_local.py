"""``run``, ``demo`` and ``cache`` through typer's CliRunner (and the console entry point for exit codes)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smtrail_sql.cli import app
from smtrail_sql.engines import EngineSettings, choose_engine
from smtrail_sql.errors import LogReadError, SettingError

WINDOW = ["--since", "2024-04-30", "--until", "2024-05-03"]


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("SMTRAIL_ENGINE", "SMTRAIL_LOGS", "SMTRAIL_WORKGROUP", "SMTRAIL_OUTPUT_LOCATION",
                 "AWS_ATHENA_S3_STAGING_DIR", "AWS_ATHENA_WORK_GROUP"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_run_prints_csv(runner: CliRunner, metric_logs: tuple[Path, list[Path]]) -> None:
    result = runner.invoke(app, ["run", "metric-summary", "--logs", str(metric_logs[0]), *WINDOW,
                                 "-p", "metrics=train:loss", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_component = {r["trial_component"]: r for r in rows}
    assert set(by_component) == {"resnet-training-job-aws-training-job", "xgboost-aws-training-job"}
    assert by_component["xgboost-aws-training-job"]["points"] == "1"


def test_run_writes_json_to_a_file(runner: CliRunner, metric_logs: tuple[Path, list[Path]],
                                   tmp_path: Path) -> None:
    target = tmp_path / "calls.json"
    result = runner.invoke(app, ["run", "failed-calls", "--logs", str(metric_logs[0]), *WINDOW,
                                 "--output", str(target)])
    assert result.exit_code == 0, result.output
    codes = {row["error_code"] for row in json.loads(target.read_text())}
    assert codes == {"ThrottlingException", "AccessDenied"}


def test_accounts_option_and_no_cache(runner: CliRunner, metric_logs: tuple[Path, list[Path]]) -> None:
    args = ["run", "runs", "--logs", str(metric_logs[0]), *WINDOW, "--accounts", "210987654321", "-f", "jsonl"]
    first = runner.invoke(app, [*args, "--no-cache"])
    assert first.exit_code == 0, first.output
    assert [json.loads(line)["trial_component"] for line in first.stdout.splitlines()] == [
        "xgboost-aws-training-job"]
    assert runner.invoke(app, ["cache", "info"]).stdout.split(": ")[1].startswith("0 file entries")


def test_skipped_files_are_summed_up_on_one_line(runner: CliRunner, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json.gz").write_bytes(b"")
    (logs / "b.json").write_text('{"hello": "world"}')
    result = runner.invoke(app, ["run", "runs", "--logs", str(logs), "--all-time", "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == ["skipped 2 files: 1 empty, 1 foreign-json",
                                                  "0 rows in all time; the logs hold no BatchPutMetrics call at all"]
    strict = runner.invoke(app, ["run", "runs", "--logs", str(logs), "--all-time", "--strict"])
    assert isinstance(strict.exception, LogReadError)


def test_bad_options_are_setting_errors(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["run", "runs"])
    assert isinstance(missing.exception, SettingError) and "--logs" in str(missing.exception)
    engine = runner.invoke(app, ["run", "runs", "--engine", "spark", "--logs", str(tmp_path)])
    assert isinstance(engine.exception, SettingError) and "local, athena" in str(engine.exception)
    fmt = runner.invoke(app, ["run", "runs", "--logs", str(tmp_path), "--format", "xml"])
    assert isinstance(fmt.exception, SettingError)


def test_engine_default_follows_athena_settings() -> None:
    assert choose_engine(EngineSettings(), {}) == "local"
    assert choose_engine(EngineSettings(), {"AWS_ATHENA_S3_STAGING_DIR": "s3://r/"}) == "athena"
    assert choose_engine(EngineSettings(logs=Path("logs")), {"SMTRAIL_WORKGROUP": "primary"}) == "local"
    assert choose_engine(EngineSettings(engine="ATHENA", logs=Path("logs")), {}) == "athena"


def test_strict_exit_code_and_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "broken.json.gz").write_bytes(b"\x1f\x8b garbage")
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "smtrail_sql", "run", "runs", "--logs", str(tmp_path),
                             "--all-time", "--strict"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'broken.json.gz'}: corrupt or truncated gzip; "
        "without --strict such files are skipped and counted"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--output", "{tmp}/no-such-folder/runs.csv"], 2, "error: invalid output '{tmp}/no-such-folder/runs.csv': "
         "a file in an existing folder"),
        (["--format", "csv", "--output", "{tmp}"], 2, "error: invalid output '{tmp}': a file name, not a folder"),
        (["-p", "limit=-5"], 2, "error: parameter 'limit' is a row count: expects an integer >= 0, got -5"),
        (["-p", "limt=5"], 2, "error: unknown parameter 'limt' for runs"),
        (["--logs", "{tmp}/missing"], 2, "error: invalid logs folder '{tmp}/missing': it does not exist"),
    ],
)
def test_bad_run_input_is_one_line_before_any_work(
    tmp_path: Path, metric_logs: tuple[Path, list[Path]], args: list[str], code: int, message: str
) -> None:
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path / "cache")}
    argv = ["run", "runs", "--logs", str(metric_logs[0]), "--all-time", *[a.format(tmp=tmp_path) for a in args]]
    result = subprocess.run([sys.executable, "-m", "smtrail_sql", *argv], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == code
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(tmp=tmp_path)), result.stderr
    assert not (tmp_path / "cache").exists()  # refused before any log file was read


def test_a_corrupt_log_is_skipped_and_counted_and_loses_no_rows(
    tmp_path: Path, metric_logs: tuple[Path, list[Path]]
) -> None:
    import shutil

    logs = tmp_path / "logs"
    shutil.copytree(metric_logs[0], logs)
    day = next(p.parent for p in logs.rglob("*.json.gz"))
    (day / "123456789012_CloudTrail_us-east-1_20240501T1300Z_broken.json.gz").write_bytes(b"\x1f\x8b garbage")
    (day / "123456789012_CloudTrail_us-east-1_20240501T1305Z_cut.json.gz").write_bytes(
        __import__("gzip").compress(b'{"Records": [{"eventName": "BatchPutMetrics"'))
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path / "cache")}

    def points(folder: Path) -> tuple[list[dict[str, str]], str]:
        result = subprocess.run([sys.executable, "-m", "smtrail_sql", "run", "runs", "--logs", str(folder),
                                 "--all-time", "--format", "csv"], capture_output=True, text=True, env=env,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        return list(csv.DictReader(io.StringIO(result.stdout))), result.stderr

    clean, _ = points(metric_logs[0])
    damaged, summary = points(logs)
    assert damaged == clean
    assert summary.strip() == "skipped 2 files: 1 corrupt-gzip, 1 truncated-json"


def test_demo_writes_a_sample_and_shows_rows(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = runner.invoke(app, ["demo", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "AWSLogs").is_dir()
    assert "aws-training-job" in result.stdout  # real rows of the runs query
    assert "wrote" in result.stderr and "digest" in result.stderr
    again = runner.invoke(app, ["run", "metric-summary", "--logs", str(target), "-p", "metrics=train:loss",
                                "-f", "json"])
    assert again.exit_code == 0 and json.loads(again.stdout)


def test_cache_info_and_clear(runner: CliRunner, metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    assert runner.invoke(app, ["run", "runs", "--logs", str(metric_logs[0]), *WINDOW]).exit_code == 0
    info = runner.invoke(app, ["cache", "info"])
    assert info.exit_code == 0 and f"{tmp_path / 'cache'}: 3 file entries, 1 snapshot" in info.stdout
    cleared = runner.invoke(app, ["cache", "clear"])
    assert cleared.exit_code == 0 and "removed 3 file entries and 1 snapshot" in cleared.stdout
    assert "0 file entries, 0 snapshots" in runner.invoke(app, ["cache", "info"]).stdout


@pytest.mark.parametrize("command", [["run"], ["demo"], ["cache", "info"], ["cache", "clear"]])
def test_every_command_documents_an_example(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Example: smtrail-sql" in result.stdout


class _Recorder:
    """A ReadProgress that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def start(self, files: int, total_bytes: int) -> None:
        self.calls.append(("start", files, total_bytes))

    def advance(self, files: int, nbytes: int) -> None:
        self.calls.append(("advance", files, nbytes))

    def finish(self) -> None:
        self.calls.append(("finish", 0, 0))


def test_progress_is_told_about_every_file_read(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    from smtrail_sql.engines.local import LocalEngine
    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.window import TimeWindow

    recorder = _Recorder()
    engine = LocalEngine(metric_logs[0], cache=ExtractCache(tmp_path / "c"))
    engine.read(TimeWindow.all_time(), progress=recorder)
    sizes = sum(p.stat().st_size for p in metric_logs[1])
    assert recorder.calls[0] == ("start", 3, sizes) and recorder.calls[-1][0] == "finish"
    assert sum(n for kind, n, _ in recorder.calls if kind == "advance") == 3
    assert sum(b for kind, _, b in recorder.calls if kind == "advance") == sizes
    recorder.calls.clear()
    engine.read(TimeWindow.all_time(), progress=recorder)  # answered by the cache: nothing to show
    assert recorder.calls == []


def test_progress_bar_draws_on_a_terminal_only(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    from rich.console import Console

    from smtrail_sql.cli.console import ConsoleProgress, progress_for_terminal
    from smtrail_sql.engines.local import LocalEngine
    from smtrail_sql.window import TimeWindow

    assert progress_for_terminal() is None  # pytest's stderr is not a terminal
    screen = io.StringIO()
    bar = ConsoleProgress(Console(file=screen, force_terminal=True, width=120))
    LocalEngine(metric_logs[0], use_cache=False).read(TimeWindow.all_time(), progress=bar)
    assert "reading logs" in screen.getvalue() and "3/3 files" in screen.getvalue()


def test_a_progress_bar_begun_again_replaces_the_first() -> None:
    """A read begun again after one that failed (a cold executor gone mid-read: the command reads the files
    itself) shows one bar: a second nested in the first kept stdout redirected once both were finished, and the
    rows written after were lost."""
    from rich.console import Console

    from smtrail_sql.cli.console import ConsoleProgress

    before = sys.stdout
    bar = ConsoleProgress(Console(file=io.StringIO(), force_terminal=True, width=120))
    bar.start(3, 300)
    assert sys.stdout is not before  # (rich's live display redirects it while a bar is shown)
    bar.start(3, 300)
    bar.finish()
    bar.close()
    assert sys.stdout is before


def test_run_with_other_object_names_gives_the_same_rows(
    runner: CliRunner, metric_logs: tuple[Path, list[Path]]
) -> None:
    base = ["run", "failed-calls", "--logs", str(metric_logs[0]), *WINDOW, "--format", "csv"]
    default = runner.invoke(app, base)
    renamed = runner.invoke(app, [*base, "--database", "ml_metrics", "--view", "points"])
    assert default.exit_code == renamed.exit_code == 0, renamed.output
    assert renamed.stdout == default.stdout and "AccessDenied" in default.stdout


@pytest.mark.parametrize("no_cache", [False, True], ids=["cached", "no-cache"])
def test_a_command_started_without_stdout_says_so_in_one_line(metric_logs: tuple[Path, list[Path]],
                                                              tmp_path: Path, no_cache: bool) -> None:
    """``>&-``: Python leaves ``sys.stdout`` None; the rows cannot be written, which is one line and exit 1,
    never a traceback. Without stderr too, only the exit code tells."""
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "smtrail_sql", "run", "metric-summary", "--logs", str(metric_logs[0]), "--all-time",
            "-f", "csv", *(["--no-cache"] if no_cache else [])]
    closed = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
                            preexec_fn=lambda: os.close(1))  # noqa: PLW1509  (the test's own child, before exec)
    assert (closed.returncode, closed.stderr) == (1, "error: standard output is closed\n")
    silent = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=120,
                            preexec_fn=lambda: (os.close(1), os.close(2)))  # noqa: PLW1509
    assert silent.returncode == 1
