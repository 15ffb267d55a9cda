"""The delivery lag: its setting, the days every command reads with it, and the query that measures it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.api import Toolkit
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.errors import SettingError
from smtrail_sql.reader.layout import discover_log_files
from smtrail_sql.render import Naming, render
from smtrail_sql.templates import TemplateLibrary
from smtrail_sql.window import DEFAULT_DELIVERY_LAG, TimeWindow, parse_delivery_lag
from tests.events import ACCOUNT, OTHER_ACCOUNT, REGION, batch_put_metrics, log_key, write_log_file

WINDOW = {"since": "2024-05-01", "until": "2024-05-02"}


# -- the setting ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", timedelta(hours=36)),
        ("4d", timedelta(days=4)),
        ("2w", timedelta(weeks=2)),
        ("90m", timedelta(minutes=90)),
        (" 3D ", timedelta(days=3)),
        ("0", timedelta(0)),
        ("0d", timedelta(0)),
        ("31d", timedelta(days=31)),
        (None, timedelta(days=1)),
        ("", timedelta(days=1)),
        (timedelta(hours=5), timedelta(hours=5)),
    ],
)
def test_parse_delivery_lag(text: Any, expected: timedelta) -> None:
    assert parse_delivery_lag(text) == expected


@pytest.mark.parametrize("text", ["-1d", "32d", "5w", "4", "1.5d", "4 days", "soon", "4d12h", "'; DROP"])
def test_bad_delivery_lag_names_the_valid_forms(text: str) -> None:
    with pytest.raises(SettingError, match=r"^invalid delivery_lag .*90m, 36h, 4d or 2w.*from 0 to 31d$"):
        parse_delivery_lag(text)


def test_negative_timedelta_is_refused() -> None:
    with pytest.raises(SettingError):
        TimeWindow(None, None, timedelta(hours=-1))


def test_window_carries_the_lag_into_its_delivery_days() -> None:
    default = TimeWindow.parse(**WINDOW)
    assert default.delivery_lag == DEFAULT_DELIVERY_LAG
    assert default.delivery_day_range() == (date(2024, 5, 1), date(2024, 5, 3))
    wide = TimeWindow.parse(**WINDOW, delivery_lag="4d")
    assert wide.delivery_days()[-1] == date(2024, 5, 6)
    assert wide.may_contain_day(date(2024, 5, 6)) and not wide.may_contain_day(date(2024, 5, 7))
    assert TimeWindow.parse(**WINDOW, delivery_lag="0").delivery_day_range() == (date(2024, 5, 1), date(2024, 5, 2))
    # hours round up to the folder the lag reaches: 23:00 + 90m is the next day
    late = TimeWindow.parse(since="2024-05-01", until="2024-05-01T23:00:00Z", delivery_lag="90m")
    assert late.delivery_day_range()[1] == date(2024, 5, 2)
    assert TimeWindow.parse(all_time=True, delivery_lag="4d").delivery_lag == timedelta(days=4)


def test_render_day_predicate_follows_the_lag() -> None:
    template = TemplateLibrary.load().get("runs")
    sql = render(template, window=TimeWindow.parse(**WINDOW, delivery_lag="4d")).sql
    assert "day <= '2024/05/06'" in sql and "day >= '2024/05/01'" in sql
    assert "day <= '2024/05/03'" in render(template, window=TimeWindow.parse(**WINDOW)).sql


def test_api_takes_the_lag_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    kit = Toolkit()
    assert "day <= '2024/05/03'" in kit.render("runs", **WINDOW)
    assert "day <= '2024/05/06'" in kit.render("runs", **WINDOW, delivery_lag="4d")
    assert "day <= '2024/05/04'" in kit.render("runs", **WINDOW, delivery_lag=timedelta(days=2))
    monkeypatch.setenv("SMTRAIL_DELIVERY_LAG", "2w")
    assert "day <= '2024/05/16'" in kit.render("runs", **WINDOW)
    assert "day <= '2024/05/03'" in kit.render("runs", **WINDOW, delivery_lag="1d")  # the argument wins
    monkeypatch.setenv("SMTRAIL_DELIVERY_LAG", "40d")
    with pytest.raises(SettingError, match="^invalid SMTRAIL_DELIVERY_LAG"):
        kit.render("runs", **WINDOW)


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SMTRAIL_", "AWS_ATHENA"))}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "smtrail_sql", *args], capture_output=True, text=True,
                          env=environ, cwd=cwd, timeout=120)


def test_cli_render_takes_the_option_and_the_variable() -> None:
    option = _cli("render", "runs", "--since", "2024-05-01", "--until", "2024-05-02", "--delivery-lag", "4d")
    assert option.returncode == 0 and "day <= '2024/05/06'" in option.stdout
    variable = _cli("render", "runs", "--since", "2024-05-01", "--until", "2024-05-02",
                    env={"SMTRAIL_DELIVERY_LAG": "36h"})
    assert variable.returncode == 0 and "day <= '2024/05/03'" in variable.stdout
    variable = _cli("render", "runs", "--since", "2024-05-01", "--until", "2024-05-02T12:00:00Z",
                    env={"SMTRAIL_DELIVERY_LAG": "36h"})
    assert "day <= '2024/05/04'" in variable.stdout


@pytest.mark.parametrize("value", ["-2d", "45d", "tomorrow"])
def test_cli_bad_lag_is_one_line_and_exit_2(value: str) -> None:
    done = _cli("render", "runs", f"--delivery-lag={value}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: invalid --delivery-lag") and "90m, 36h, 4d or 2w" in done.stderr


# -- a bucket copy with late files -------------------------------------------------------------------------

def _call(event_id: str, when: str, **kwargs: Any) -> dict[str, Any]:
    return batch_put_metrics(event_id, when, [{"metricName": "train:loss", "timestamp": 1714564790, "step": 1,
                                               "value": 0.5}], **kwargs)


def late_bucket(root: Path) -> list[Path]:
    """Day 05/01 on time; a file in 05/04 holding a call of 05/01 (60 h late); 101 calls in 05/02 elsewhere."""
    on_time = write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1005Z", "ontime"), [
        _call("on-1", "2024-05-01T10:00:00Z"),
        _call("on-2", "2024-05-01T11:00:00Z"),
    ])
    # delivered three days after its first event (a bucket that refused deliveries, then accepted them)
    late = write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/04", "20240504T0100Z", "late"), [
        _call("late-60h", "2024-05-01T12:00:00Z"),
        _call("late-1h", "2024-05-03T23:00:00Z"),
        _call("late-0", "2024-05-04T00:30:00Z"),
    ])
    # 101 calls: 99 of the folder's own day, one 2 h and one 5 h before it: p99 (the 100th) is 2 h, max 5 h
    other = {"account": OTHER_ACCOUNT, "region": "eu-west-1"}
    many = [_call(f"same-{i}", f"2024-05-02T{i // 60:02d}:{i % 60:02d}:00Z", **other) for i in range(99)]
    many += [_call("two-hours", "2024-05-01T22:00:00Z", **other), _call("five-hours", "2024-05-01T19:00:00Z", **other)]
    spread = write_log_file(root / log_key(OTHER_ACCOUNT, "eu-west-1", "2024/05/02", "20240502T0200Z"), many)
    return [on_time, late, spread]


@pytest.fixture(scope="module")
def late_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("late-bucket")
    return root, late_bucket(root)


ALL_TIME_ROWS = [
    # day, account, region, calls, max_lag_days, max_lag_hours, p99_lag_hours, beyond_default_lag
    ("2024/05/01", ACCOUNT, REGION, 2, 0, 0.0, 0.0, 0),
    ("2024/05/02", OTHER_ACCOUNT, "eu-west-1", 101, 1, 5.0, 2.0, 0),
    ("2024/05/04", ACCOUNT, REGION, 3, 3, 60.0, 60.0, 1),
]


def _tuples(cursor: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in cursor.fetchall()]


def test_delivery_lag_query_on_the_athena_views(late_logs: tuple[Path, list[Path]]) -> None:
    from tests.athena_shape import athena_shaped_duckdb

    sql = render(TemplateLibrary.load().get("delivery-lag"), window=TimeWindow.all_time()).to_sql("duckdb")
    con = athena_shaped_duckdb(late_logs[1])
    try:
        assert _tuples(con.execute(sql)) == ALL_TIME_ROWS
    finally:
        con.close()


def test_delivery_lag_query_on_the_local_engine(late_logs: tuple[Path, list[Path]]) -> None:
    kit = Toolkit.local(late_logs[0], use_cache=False)
    rows = kit.run("delivery-lag", all_time=True).rows
    assert [tuple(r) for r in rows] == ALL_TIME_ROWS
    only = kit.run("delivery-lag", all_time=True, account_ids=[OTHER_ACCOUNT]).rows
    assert [tuple(r) for r in only] == ALL_TIME_ROWS[1:2]


def test_local_folder_pruning_follows_the_lag(late_logs: tuple[Path, list[Path]]) -> None:
    days = {f.day for f in discover_log_files(late_logs[0], TimeWindow.parse(**WINDOW)).files}
    wide = {f.day for f in discover_log_files(late_logs[0], TimeWindow.parse(**WINDOW, delivery_lag="4d")).files}
    assert sorted(days) == ["2024/05/01", "2024/05/02"]
    assert sorted(wide) == ["2024/05/01", "2024/05/02", "2024/05/04"]


def test_cli_run_reads_a_late_file_only_with_a_wide_enough_lag(late_logs: tuple[Path, list[Path]],
                                                               tmp_path: Path) -> None:
    args = ("run", "delivery-lag", "--logs", str(late_logs[0]), "--since", "2024-05-01", "--until", "2024-05-02",
            "--format", "json", "--no-cache")

    def days(*extra: str, env: dict[str, str] | None = None) -> list[tuple[str, int, int]]:
        done = _cli(*args, *extra, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return [(r["day"], r["calls"], r["max_lag_days"]) for r in json.loads(done.stdout)]

    on_time = [("2024-05-01", 2, 0), ("2024-05-02", 2, 1)]  # (outputs write the delivery day as a date)
    assert days() == on_time  # the default lag (1d) does not reach the folder of 05/04
    # the lag runs from the window's end (05/02 00:00): 36h reaches the folder of 05/03, 4d that of 05/06
    assert days("--delivery-lag", "36h") == on_time
    assert days("--delivery-lag", "4d") == [*on_time, ("2024-05-04", 1, 3)]
    assert days(env={"SMTRAIL_DELIVERY_LAG": "2w"}) == [*on_time, ("2024-05-04", 1, 3)]


def test_local_engine_rows_follow_the_lag(late_logs: tuple[Path, list[Path]]) -> None:
    engine = LocalEngine(late_logs[0], use_cache=False)
    for lag, expected in (("1d", {"on-1", "on-2", "two-hours", "five-hours"}),
                          ("4d", {"on-1", "on-2", "two-hours", "five-hours", "late-60h"})):
        window = TimeWindow.parse(**WINDOW, delivery_lag=lag)
        con, _ = engine.connect(window, Naming())
        try:
            ids = {r[0] for r in con.execute("SELECT event_id FROM smtrail.sagemaker_metric_calls WHERE "
                                             f"event_time < TIMESTAMP '{window.end:%Y-%m-%d}'").fetchall()}
        finally:
            con.close()
        assert ids == expected, lag
