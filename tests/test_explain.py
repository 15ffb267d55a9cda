"""Every canned query answers on the demo bucket, and a query that answers nothing says why."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smtrail_sql.cli import app
from smtrail_sql.demo import DEMO_ACCOUNTS, DEMO_REGIONS, DemoSummary, write_sample_bucket
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.errors import ParameterError
from smtrail_sql.explain import explain_empty, names_present
from smtrail_sql.render import render
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.sample_params import all_params, required_params

NOW = datetime(2024, 5, 3, 15, 30, tzinfo=UTC)
TEMPLATES = TemplateLibrary.load()
#: The demo's window: its three delivery days.
DEMO_WINDOW = ["--since", "2024-05-01", "--until", "2024-05-03T15:30:00"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return write_sample_bucket(tmp_path_factory.mktemp("demo"), now=NOW)  # (the sample `smtrail-sql demo` writes)


def demo_params(template: Template, params: Any, demo: DemoSummary) -> dict[str, Any]:
    """The sample values, with the demo's own names where it has them."""
    names: dict[str, Any] = {
        "trial_components": sorted(demo.trial_components), "metrics": ["train:loss", "validation:loss"],
        "account_ids": list(DEMO_ACCOUNTS), "region_codes": list(DEMO_REGIONS), "trial_component_glob": "*-job",
        "job": sorted(demo.trial_components)[0].removesuffix("-aws-training-job"),
    }
    return {k: names.get(k, v) for k, v in params(template).items()}


@pytest.mark.parametrize("params", [required_params, all_params], ids=["required", "all"])
def test_every_canned_query_answers_on_the_demo(demo: DemoSummary, params: Any) -> None:
    engine = LocalEngine(demo.root, use_cache=False)
    window = TimeWindow.parse(since="2024-05-01", until="2024-05-04")
    silent = [t.name for t in TEMPLATES if t.source == "built-in"
              and not engine.execute(render(t, demo_params(t, params, demo), window=window)).rows]
    engine.close()
    assert silent == []


def test_the_demo_holds_late_and_duplicate_points_and_a_late_file(demo: DemoSummary) -> None:
    engine = LocalEngine(demo.root, use_cache=False)
    run = lambda name, **values: engine.execute(  # noqa: E731
        render(TEMPLATES.get(name), values, window=TimeWindow.all_time())).as_dicts()
    assert demo.late_files == 1
    assert min(r["lag_seconds"] for r in run("late-points")) >= 2 * 3600
    assert all(r["distinct_values"] >= 2 for r in run("duplicate-points"))
    assert any(r["beyond_default_lag"] > 0 for r in run("delivery-lag"))
    engine.close()


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("SMTRAIL_ENGINE", "SMTRAIL_LOGS", "SMTRAIL_WORKGROUP", "SMTRAIL_OUTPUT_LOCATION",
                 "AWS_ATHENA_S3_STAGING_DIR", "AWS_ATHENA_WORK_GROUP"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _last_line(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return result.stderr.strip().splitlines()[-1]


def test_a_week_later_the_empty_result_says_where_the_logs_are(runner: CliRunner, demo: DemoSummary) -> None:
    result = runner.invoke(app, ["run", "runs", "--logs", str(demo.root), "--since", "2024-05-10",
                                 "--until", "2024-05-17"])
    line = _last_line(result)
    assert line.startswith("0 rows in the window 2024-05-10 00:00 to 2024-05-17 00:00 UTC")
    assert "the logs hold delivery days 2024/05/01 to 2024/05/03" in line
    assert "before the window (none of them in it): try --since" in line and "--all-time" in line


def test_a_misspelt_metric_and_trial_component_get_close_matches(runner: CliRunner, demo: DemoSummary) -> None:
    component = sorted(demo.trial_components)[0]
    result = runner.invoke(app, ["run", "metric-history", "--logs", str(demo.root), *DEMO_WINDOW,
                                 "-t", component[:-1] + "x", "-m", "train:los"])
    line = _last_line(result)
    assert f"no trial component {component[:-1] + 'x'!r} in the logs: did you mean {component!r}" in line
    assert "no metric 'train:los' in the logs: did you mean 'train:loss'" in line
    assert "try" not in line  # the window holds every event: widening it would not help


def test_an_account_that_matches_no_file(runner: CliRunner, demo: DemoSummary) -> None:
    result = runner.invoke(app, ["run", "runs", "--logs", str(demo.root), *DEMO_WINDOW,
                                 "--accounts", "111122223334"])
    line = _last_line(result)
    assert "--accounts 111122223334 matches no log file (did you mean 111122223333?)" in line


def test_a_glob_that_matches_nothing(demo: DemoSummary) -> None:
    engine = LocalEngine(demo.root, use_cache=False)
    query = render(TEMPLATES.get("find-trial-components"), {"job": "zzz*"}, window=TimeWindow.all_time())
    assert engine.execute(query).rows == []
    line = explain_empty(query, names_present(engine, query))
    assert line.startswith("0 rows in all time;") and "no trial component or job in the logs matches 'zzz*'" in line


def test_t_and_m_set_the_list_parameters(runner: CliRunner, demo: DemoSummary) -> None:
    component = sorted(demo.trial_components)[0]
    result = runner.invoke(app, ["run", "metric-history", "--logs", str(demo.root), *DEMO_WINDOW, "-t", component,
                                 "-m", "train:loss", "-m", "validation:loss", "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {row["trial_component"] for row in rows} == {component}
    assert {row["metric_name"] for row in rows} <= {"train:loss", "validation:loss"}
    wrong = runner.invoke(app, ["run", "failed-calls", "--logs", str(demo.root), "-t", component])
    assert isinstance(wrong.exception, ParameterError) and wrong.exception.exit_code == 2  # (a usage error)
    assert "-t/--trial-component sets the trial_components parameter" in str(wrong.exception)
    twice = runner.invoke(app, ["run", "metric-summary", "--logs", str(demo.root), "-m", "a", "-p", "metrics=b"])
    assert isinstance(twice.exception, ParameterError) and "both give metrics" in str(twice.exception)
