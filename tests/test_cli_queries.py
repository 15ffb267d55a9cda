"""The catalog commands through the real console-script entry point (no traceback, fixed exit codes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel


def smtrail(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "smtrail_sql", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_version_prints_the_installed_version() -> None:
    from smtrail_sql.version import package_version

    result = smtrail("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"smtrail-sql {package_version()}\n", "")
    assert package_version() != "0.0.0"  # (the suite runs on an installed package)


def test_help_shows_the_choices_of_engine_and_format() -> None:
    # the metavars are written in the options (the CLI imports neither registry to start fast): they must agree
    from smtrail_sql.engines import ENGINES
    from smtrail_sql.output import FORMATS

    result = smtrail("run", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert f"--engine [{'|'.join(ENGINES)}]" in result.stdout
    assert f"--format [{'|'.join(FORMATS)}]" in result.stdout


def test_queries_lists_every_template_with_its_description() -> None:
    result = smtrail("queries")
    assert result.returncode == 0, result.stderr
    assert "metric-summary" in result.stdout and "Per trial component and metric" in result.stdout


def test_show_describes_parameters() -> None:
    result = smtrail("show", "metric-history")
    assert result.returncode == 0
    assert "trial_components" in result.stdout and "list[str], required" in result.stdout
    assert "int, default 10000" in result.stdout


@pytest.mark.parametrize("dialect", ["athena", "duckdb"])
def test_render_prints_sql_that_parses(dialect: str) -> None:
    result = smtrail("render", "metric-history", "-p", "trial_components=job-1", "-p", "metrics=train:loss",
                     "--since", "2024-05-01", "--until", "2024-05-02", "--dialect", dialect)
    assert result.returncode == 0, result.stderr
    assert "trial_component IN ('job-1')" in result.stdout
    assert len(sqlglot.parse(result.stdout, read=dialect, error_level=ErrorLevel.RAISE)) >= 1


def test_render_heads_the_sql_with_what_it_is() -> None:
    result = smtrail("render", "metric-history", "-p", "trial_components=job-1", "-p", "metrics=train:loss",
                     "--since", "2024-05-01", "--until", "2024-05-03", "--delivery-lag", "36h")
    assert result.returncode == 0, result.stderr
    header = [line for line in result.stdout.splitlines() if line.startswith("--")]
    assert header[0].startswith("-- metric-history: The points of a metric of a trial component")
    assert "--   trial_components = 'job-1'" in header and "--   limit = 10000 (default)" in header
    assert "-- window: event_time from 2024-05-01 00:00:00 to 2024-05-03 00:00:00 UTC (end excluded)" in header
    assert "--   delivery days read: day from 2024/05/01 to 2024/05/04 (delivery lag 36h)" in header
    assert result.stdout.rstrip().endswith(";") and not result.stdout.splitlines()[len(header)].startswith("--")
    statements = [s for s in sqlglot.parse(result.stdout, read="athena", error_level=ErrorLevel.RAISE) if s]
    assert len(statements) == 1  # the header is comments: one statement, as the Athena console takes it


def test_no_value_ends_a_header_line_early() -> None:
    """A value with a line break (or any other line end) stays inside its comment line."""
    breaks = "job\nDROP TABLE x;\r\u2028--"
    result = smtrail("render", "metric-history", "-p", f"trial_components={breaks}", "-p", "metrics=m",
                     "--all-time")
    assert result.returncode == 0, result.stderr
    assert "-- window: none (all time: every delivery day is read)" in result.stdout
    statements = [s for s in sqlglot.parse(result.stdout, read="athena", error_level=ErrorLevel.RAISE) if s]
    assert len(statements) == 1 and statements[0].find(sqlglot.exp.Drop) is None
    assert "--   trial_components = 'job\\nDROP TABLE x;\\r\\u2028--'" in result.stdout


def test_create_table_print_from_environment_settings() -> None:
    result = smtrail("create-table", "--print", env={"SMTRAIL_BUCKET": "trail-bucket",
                                                      "SMTRAIL_ACCOUNTS": "123456789012",
                                                      "SMTRAIL_REGIONS": "us-east-1,eu-west-1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CREATE DATABASE IF NOT EXISTS smtrail;")
    assert "CREATE OR REPLACE VIEW smtrail.sagemaker_metrics AS" in result.stdout
    assert "'projection.region.values'='us-east-1,eu-west-1'" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "nope"], "error: unknown query 'nope'"),
        (["render", "runs", "-p", "nolimit"], "error: parameter 'nolimit' is not of the form key=value"),
        (["render", "runs", "-p", "limit=abc"], "error: parameter 'limit' expects an integer"),
        (["render", "runs", "--since", "someday"], "error: invalid --since 'someday'"),
        (["render", "runs", "--dialect", "mysql"], "error: invalid dialect 'mysql'"),
        (["create-table", "--bucket", "B", "--accounts", "1", "--regions", "x", "--print"], "error: invalid bucket"),
        (["show", "metric-sumary"], "did you mean 'metric-summary'"),
        (["render"], "error: Missing argument 'name'. (see 'smtrail-sql render --help')"),
        (["render", "runs", "--bogus"], "error: No such option: --bogus"),
        (["no-such-command"], "error: No such command 'no-such-command'."),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = smtrail(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_user_templates_folder(tmp_path: Path) -> None:
    (tmp_path / "my-losses.sql").write_text(
        "-- name: my-losses\n-- description: Loss points only.\n"
        "SELECT * FROM sagemaker_metrics WHERE metric_name LIKE '%loss%'\n")
    listed = smtrail("queries", "--queries-dir", str(tmp_path))
    assert "my-losses" in listed.stdout
    rendered = smtrail("render", "my-losses", "--all-time", env={"SMTRAIL_QUERIES_DIR": str(tmp_path)})
    assert rendered.returncode == 0 and "FROM smtrail.sagemaker_metrics" in rendered.stdout


def test_help_is_fast_and_light() -> None:
    code = ("import sys, smtrail_sql.cli; heavy = {'duckdb', 'pyarrow', 'boto3', 'pyathena', 'matplotlib', "
            "'pandas'} & set(sys.modules); print(sorted(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_render_takes_trial_components_and_metrics_as_run_does() -> None:
    done = smtrail("render", "metric-history", "-t", "job-a", "-t", "job-b", "-m", "train:loss", "--all-time")
    assert done.returncode == 0, done.stderr
    assert "'job-a', 'job-b'" in done.stdout and "'train:loss'" in done.stdout
    refused = smtrail("render", "runs", "-m", "train:loss", "--all-time")
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: -m/--metric sets the metrics parameter, which runs does not take; its "
                           "parameters: ")
    both = smtrail("render", "metric-history", "-t", "a", "-p", "trial_components=b", "-m", "x", "--all-time")
    assert both.returncode == 2 and "both give trial_components" in both.stderr
