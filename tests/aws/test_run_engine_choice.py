"""``run`` chooses Athena when asked (or when Athena is configured and no --logs is given), over moto."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smtrail_sql.cli import app
from smtrail_sql.render import Naming, render
from smtrail_sql.templates import TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.aws.conftest import MotoAws

SINCE, UNTIL = "2024-05-02", "2024-05-03T06:00:00Z"


def _expected_sql() -> str:
    window = TimeWindow.parse(since=SINCE, until=UNTIL)
    return render(TemplateLibrary.load().get("runs"), {}, window=window, naming=Naming(database="metrics")).sql


@pytest.mark.parametrize("how", [["--engine", "athena"], ["--workgroup", "primary"]])
def test_run_sends_the_query_to_athena(moto: MotoAws, how: list[str]) -> None:
    result = CliRunner().invoke(app, ["run", "runs", "--database", "metrics", "--since", SINCE, "--until", UNTIL,
                                      "--output-location", "s3://results-bucket/athena/", *how])
    assert result.exit_code == 0, result.output
    assert moto.athena_queries() == [_expected_sql()]


def test_logs_keep_the_local_engine(moto: MotoAws, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "runs", "--logs", str(tmp_path), "--workgroup", "primary",
                                      "--all-time", "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert moto.athena_queries() == []
