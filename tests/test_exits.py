"""Every bad value of an option or a parameter is a usage error: exit 2, one line naming it, no traceback.

The cases run through the console entry point itself (``main``), in this process, for every command that takes
the value: what a user sees is what is asserted.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smtrail_sql.cli import main
from smtrail_sql.errors import ParameterError, SettingError, TemplateError
from smtrail_sql.params import BIGINT_MAX, BIGINT_MIN, ParamSpec
from smtrail_sql.window import EARLIEST_TIME, LATEST_TIME, TimeWindow, parse_time

#: Runs the entry point on argv: (exit code, stdout, stderr).
Cli = Callable[..., tuple[int, str, str]]
AWS = ["--bucket", "my-trail-bucket", "--accounts", "123456789012", "--regions", "us-east-1"]
BIGINT_OVER, BIGINT_UNDER = str(BIGINT_MAX + 1), str(BIGINT_MIN - 1)
#: Nesting that sqlglot's recursive parser cannot follow, and nesting it parses but cannot render (the rendered
#: query nests deeper than the template: the view becomes a CTE, and the SQL is parsed again to check it).
TOO_DEEP_TO_PARSE = "SELECT " + "(" * 250 + "1" + ")" * 250 + " AS x FROM sagemaker_metrics"


def _nested_subqueries(depth: int) -> str:
    sql = "SELECT metric_name FROM sagemaker_metrics"
    for _ in range(depth):
        sql = f"SELECT metric_name FROM ({sql})"
    return sql


TOO_DEEP_TO_RENDER = _nested_subqueries(100)


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """``cli(*argv)`` runs the entry point and returns (exit code, stdout, stderr)."""
    for name in list(os.environ):
        if name.startswith(("SMTRAIL_", "AWS_ATHENA")) and name != "SMTRAIL_CACHE_DIR":
            monkeypatch.delenv(name)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def run(*argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["smtrail-sql", *argv])
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    yield run
    for signum, handler in handlers.items():  # main() takes Ctrl-C for itself; pytest wants it back
        signal.signal(signum, handler)


@pytest.fixture(scope="module")
def user_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of templates: an int parameter that may be negative, and ones nested too deeply."""
    root = tmp_path_factory.mktemp("templates")
    (root / "ok").mkdir()
    (root / "ok" / "steps-after.sql").write_text(
        "-- name: steps-after\n-- description: Points after a step.\n-- param: step int = 0  First step\n"
        "SELECT metric_name, step FROM sagemaker_metrics WHERE step > :step\n")
    for name, sql in (("too-deep-to-parse", TOO_DEEP_TO_PARSE), ("too-deep-to-render", TOO_DEEP_TO_RENDER)):
        (root / name).mkdir()
        (root / name / f"{name}.sql").write_text(f"-- name: {name}\n-- description: Nested.\n{sql}\n")
    return root


def assert_usage_error(result: tuple[int, str, str], *fragments: str) -> None:
    code, out, err = result
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err
    assert code == 2, err
    assert out == ""


WINDOWS = [
    (["--since", "800000d"], "invalid --since '800000d': out of range: a time from 1970-01-01 to 9998-12-31"),
    (["--until", "99999999w"], "invalid --until '99999999w': out of range"),
    (["--since", "99999999999999999999w"], "invalid --since '99999999999999999999w': out of range"),
    (["--since", "0000-01-01"], "invalid --since '0000-01-01': out of range"),
    (["--since", "10000-01-01"], "invalid --since '10000-01-01': out of range"),
    (["--since", "1969-12-31"], "invalid --since '1969-12-31': out of range"),
    (["--until", "9999-12-31T23:59:59Z"], "invalid --until '9999-12-31T23:59:59Z': out of range"),
    (["--since", "0001-01-01T00:00:00+01:00"], "out of range"),
    (["--delivery-lag", "99999999999999w"], "invalid --delivery-lag '99999999999999w': a duration", "to 31d"),
    (["--delivery-lag", "32d"], "invalid --delivery-lag '32d'"),
]


@pytest.mark.parametrize(("args", "message"), [(w[0], w[1]) for w in WINDOWS])
@pytest.mark.parametrize("command", ["run", "render", "plot", "estimate", "sync"])
def test_a_window_out_of_range_is_a_usage_error(
    cli: Cli, metric_logs: tuple[Path, list[Path]], tmp_path: Path, command: str, args: list[str], message: str
) -> None:
    logs = str(metric_logs[0])
    argv = {
        "run": ["run", "runs", "--logs", logs],
        "render": ["render", "runs"],
        "plot": ["plot", "-t", "job", "-m", "train:loss", "--logs", logs],
        "estimate": ["estimate", "runs", *AWS],
        "sync": ["sync", str(tmp_path / "copy"), *AWS],
    }[command]
    assert_usage_error(cli(*argv, *args), message)
    assert not (tmp_path / "copy").exists()


PARAMETERS = [
    (["run", "runs", "-p", f"limit={BIGINT_OVER}"], f"parameter 'limit' expects an integer from {BIGINT_MIN} to "
     f"{BIGINT_MAX} (BIGINT), got '{BIGINT_OVER}'"),
    (["render", "metric-curves", "-p", "trial_components=a", "-p", "metrics=m", "-p", f"limit={BIGINT_OVER}"],
     "parameter 'limit' expects an integer from"),
    (["run", "steps-after", "-p", f"step={BIGINT_UNDER}"], f"got '{BIGINT_UNDER}'"),
    (["render", "steps-after", "-p", f"step={BIGINT_UNDER}"], "(BIGINT)"),
    (["run", "late-points", "-p", "min_lag_seconds=nan"], "parameter 'min_lag_seconds' expects a finite number "
     "(Athena SQL has no literal for NaN or infinity), got 'nan'"),
    (["render", "late-points", "-p", "min_lag_seconds=inf"], "a finite number"),
    (["render", "late-points", "-p", "min_lag_seconds=-Infinity"], "a finite number"),
    (["render", "late-points", "-p", "min_lag_seconds=1e400"], "a finite number"),
    (["run", "runs", "-p", "limit=-1"], "parameter 'limit' is a row count: expects an integer >= 0"),
    (["estimate", "runs", *AWS, "-p", f"limit={BIGINT_OVER}"], "(BIGINT)"),
]


@pytest.mark.parametrize(("argv", "message"), PARAMETERS)
def test_a_parameter_out_of_range_is_a_usage_error(
    cli: Cli, metric_logs: tuple[Path, list[Path]], user_templates: Path, argv: list[str], message: str
) -> None:
    extra = ["--queries-dir", str(user_templates / "ok")]
    if argv[0] == "run":
        extra += ["--logs", str(metric_logs[0])]
    assert_usage_error(cli(*argv, *extra), message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-scan", "nan"], "invalid --max-scan 'nan'"),
        (["--max-scan", "inf"], "invalid --max-scan 'inf'"),
        (["--max-scan", "-1GB"], "invalid --max-scan '-1GB'"),
    ],
)
def test_a_bad_max_scan_is_a_usage_error(cli: Cli, argv: list[str], message: str) -> None:
    result = cli("run", "runs", "--engine", "athena", "--workgroup", "primary", *AWS, *argv)
    assert_usage_error(result, message, "a size such as 500MiB")


@pytest.mark.parametrize("date", ["0000-01-01", "10000-01-01", "0001-01-01", "1969-12-31"])
def test_a_start_date_out_of_range_is_a_usage_error(cli: Cli, date: str) -> None:
    result = cli("create-table", *AWS, "--start-date", date, "--print")
    assert_usage_error(result, f"invalid start date '{date}'", "1970-01-01")


@pytest.mark.parametrize("option", ["--width", "--height"])
def test_a_png_too_big_is_a_usage_error(cli: Cli, metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                        option: str) -> None:
    result = cli("plot", "-t", "job", "-m", "loss", "--logs", str(metric_logs[0]), "-o",
                 str(tmp_path / "big.png"), option, "70000")
    assert_usage_error(result, option, "100<=x<=16384")


@pytest.mark.parametrize("command", ["run", "plot"])
@pytest.mark.parametrize("kind", ["missing", "file"])
def test_logs_that_are_not_a_folder_are_a_usage_error(cli: Cli, tmp_path: Path, command: str, kind: str) -> None:
    logs = tmp_path / "logs"
    if kind == "file":
        logs.write_text("not a folder")
    argv = ["run", "runs"] if command == "run" else ["plot", "-t", "job", "-m", "loss"]
    problem = "it does not exist" if kind == "missing" else "it is not a folder"
    assert_usage_error(cli(*argv, "--logs", str(logs)), f"invalid logs folder '{logs}': {problem}")


def test_logs_that_are_not_a_folder_are_the_same_error_in_the_api(tmp_path: Path) -> None:
    from smtrail_sql.api import Toolkit
    from smtrail_sql.engines.local import LocalEngine

    for make in (Toolkit.local, LocalEngine):
        with pytest.raises(SettingError, match="invalid logs folder .*: it does not exist") as error:
            make(tmp_path / "nowhere")
        assert error.value.exit_code == 2


@pytest.mark.parametrize(
    ("folder", "argv"),
    [
        ("too-deep-to-parse", ["queries"]),
        ("too-deep-to-parse", ["show", "too-deep-to-parse"]),
        ("too-deep-to-parse", ["render", "too-deep-to-parse"]),
        ("too-deep-to-parse", ["run", "too-deep-to-parse"]),  # (another query of the folder runs: test_templates)
        ("too-deep-to-render", ["render", "too-deep-to-render"]),
        ("too-deep-to-render", ["run", "too-deep-to-render"]),
        ("too-deep-to-render", ["estimate", "too-deep-to-render", *AWS]),
    ],
)
def test_a_template_nested_too_deeply_is_a_template_error_naming_the_file(
    cli: Cli, metric_logs: tuple[Path, list[Path]], user_templates: Path, folder: str, argv: list[str]
) -> None:
    extra = ["--logs", str(metric_logs[0])] if argv[0] == "run" else []
    path = user_templates / folder / f"{folder}.sql"
    result = cli(*argv, "--queries-dir", str(user_templates / folder), *extra)
    assert_usage_error(result, f"error: {path}: SQL nested too deeply")


def test_nesting_the_parser_follows_still_renders_and_transpiles(tmp_path: Path) -> None:
    from smtrail_sql.render import render
    from smtrail_sql.templates import parse_template

    path = tmp_path / "nested.sql"
    template = parse_template(f"-- name: nested\n-- description: Nested.\n{_nested_subqueries(40)}\n", path)
    query = render(template, window=TimeWindow.all_time())
    assert query.sql.count("SELECT") > 40 and query.to_sql("duckdb").count("SELECT") > 40
    with pytest.raises(TemplateError, match="nested too deeply") as error:
        render(parse_template(f"-- name: nested\n-- description: Nested.\n{TOO_DEEP_TO_RENDER}\n", path))
    assert error.value.path == str(path)


@pytest.mark.parametrize("value", [BIGINT_MIN, BIGINT_MAX, str(BIGINT_MAX), f" {BIGINT_MIN} "])
def test_int_parameters_take_every_bigint(value: object) -> None:
    assert ParamSpec("n", "int", required=True).coerce(value) in (BIGINT_MIN, BIGINT_MAX)


@pytest.mark.parametrize("value", [BIGINT_MAX + 1, BIGINT_MIN - 1, str(BIGINT_MAX + 1), 10**40])
def test_int_parameters_refuse_what_bigint_cannot_hold(value: object) -> None:
    with pytest.raises(ParameterError, match="BIGINT"):
        ParamSpec("n", "int", required=True).coerce(value)
    with pytest.raises(ParameterError, match="BIGINT"):
        ParamSpec("n", "list[int]", required=True).coerce([1, value])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "-inf", "NaN", "1e999", 10**400])
def test_float_parameters_refuse_what_has_no_literal(value: object) -> None:
    with pytest.raises(ParameterError, match="n"):
        ParamSpec("n", "float", required=True).coerce(value)


def test_the_window_range_is_inclusive_of_its_start_and_exclusive_of_its_end() -> None:
    assert parse_time("1970-01-01") == EARLIEST_TIME
    last = LATEST_TIME - timedelta(microseconds=1)
    assert parse_time(last.isoformat()) == last
    window = TimeWindow(EARLIEST_TIME, last, delivery_lag=timedelta(days=31))
    assert window.delivery_day_range()[1] == (last + timedelta(days=31)).date()  # the lag fits
    for start, end in ((datetime(1, 1, 1), None), (None, LATEST_TIME), (datetime(1969, 12, 31, tzinfo=UTC), None)):
        with pytest.raises(SettingError, match="out of range"):
            TimeWindow(start, end)


def test_an_age_reaching_before_1970_is_out_of_range() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_time(f"{(now - EARLIEST_TIME).days}d", now=now) == EARLIEST_TIME
    with pytest.raises(SettingError, match="out of range"):
        parse_time(f"{(now - EARLIEST_TIME).days + 1}d", now=now)


def test_duckdb_interrupting_a_query_is_a_keyboard_interrupt() -> None:
    from smtrail_sql.engines.database import is_interrupt

    assert is_interrupt(RuntimeError("Query interrupted"))
    assert not is_interrupt(RuntimeError("Query interrupted by a bug")) and not is_interrupt(ValueError("x"))
