"""One vocabulary: list parameters named after their column, globs for name patterns, ``first_<column>`` and
``last_<column>`` for time columns, ``limit`` for row caps; the old names work for one release, with a warning."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.errors import ParameterError, RenamedWarning, TemplateError
from smtrail_sql.params import RENAMED_PARAMS, glob_to_like
from smtrail_sql.render import render
from smtrail_sql.templates import TemplateLibrary, parse_template
from smtrail_sql.window import TimeWindow

LIBRARY = TemplateLibrary.load()
WINDOW = TimeWindow.parse(since="2024-04-30", until="2024-05-03")
#: What a parameter of a built-in query may be called: the vocabulary of the README's table.
VOCABULARY = {"trial_components", "metrics", "trial_component_glob", "job", "account_ids", "region_codes",
              "error_codes", "limit", "min_lag_seconds", "lower_is_better"}


def test_every_builtin_parameter_is_in_the_vocabulary() -> None:
    names = {name for template in LIBRARY for name in template.params}
    assert names <= VOCABULARY, sorted(names - VOCABULARY)
    assert not names & set(RENAMED_PARAMS), "an old name is declared again"


def test_time_columns_are_first_and_last_of_a_column() -> None:
    """MIN/MAX of a time column are ``first_<column>``/``last_<column>``, never first_call, first_event..."""
    for template in LIBRARY:
        for function, column, alias in re.findall(r"\b(MIN|MAX)\((event_time|metric_time)\) AS (\w+)", template.sql):
            expected = ("first_" if function == "MIN" else "last_") + column
            assert alias == expected, f"{template.name}: {function}({column}) AS {alias}"


@pytest.mark.parametrize(("query", "old", "value", "new", "expected"), [
    ("metric-history", "trial_component", "job-1", "trial_components", ["job-1"]),
    ("metric-history", "metric", "train:loss", "metrics", ["train:loss"]),
    ("metric-curves", "max_points", "10", "limit", 10),
    ("runs", "trial_component_like", "%res_net%", "trial_component_glob", "*res?net*"),
    ("ingest-volume", "accounts", "123456789012", "account_ids", ["123456789012"]),
    ("delivery-lag", "regions", "us-east-1", "region_codes", ["us-east-1"]),
])
def test_old_names_still_work_with_a_warning(query: str, old: str, value: str, new: str, expected: Any) -> None:
    values = {"trial_components": "a", "metrics": "m"} if query in ("metric-history", "metric-curves") else {}
    values.pop(new, None)
    with pytest.warns(RenamedWarning, match=f"'{old}' of {query} is now '{new}'"):
        rendered = render(LIBRARY.get(query), {**values, old: value}, window=WINDOW)
    assert rendered.params[new] == expected


def test_old_and_new_name_together_is_an_error() -> None:
    with pytest.raises(ParameterError, match="'metric' is the old name of 'metrics'"):
        render(LIBRARY.get("metric-summary"), {"metric": "a", "metrics": "b"}, window=WINDOW)


def test_a_template_of_yours_keeps_its_own_names(tmp_path: Path) -> None:
    text = ("-- name: mine\n-- description: d\n-- param: metric str required  one metric\n"
            "SELECT step FROM sagemaker_metrics WHERE metric_name = :metric")
    template = parse_template(text, Path("mine.sql"), source="test")
    assert render(template, {"metric": "loss"}, window=WINDOW).params == {"metric": "loss"}


def test_a_glob_is_an_escaped_like_pattern() -> None:
    assert glob_to_like("resnet*") == "resnet%"
    assert glob_to_like("a?b_c%d\\") == "a_b\\_c\\%d\\\\"
    sql = render(LIBRARY.get("runs"), {"trial_component_glob": "res_net*"}, window=WINDOW).sql
    assert "LIKE 'res\\_net%' ESCAPE '\\'" in sql


def test_a_glob_parameter_must_sit_in_an_escaped_like() -> None:
    header = "-- name: mine\n-- description: d\n-- param: name glob required  a glob\n"
    with pytest.raises(TemplateError, match="glob parameter :name must be"):
        parse_template(header + "SELECT step FROM sagemaker_metrics WHERE trial_component LIKE :name",
                       Path("mine.sql"))
    with pytest.raises(TemplateError, match="glob parameter :name must be"):
        parse_template(header + "SELECT step FROM sagemaker_metrics WHERE trial_component = :name", Path("mine.sql"))
    ok = header + "SELECT step FROM sagemaker_metrics WHERE trial_component LIKE :name ESCAPE '\\'"
    assert parse_template(ok, Path("mine.sql")).params["name"].type == "glob"


def test_find_trial_components_by_job_name_or_glob(athena_duckdb: Any) -> None:
    def found(job: str) -> list[tuple[str, str | None]]:
        cursor = athena_duckdb.execute(render(LIBRARY.get("find-trial-components"), {"job": job},
                                              window=WINDOW).to_sql("duckdb"))
        return sorted((row[0], row[1]) for row in cursor.fetchall())

    resnet = ("resnet-training-job-aws-training-job", "resnet-training-job")
    assert found("resnet-training-job") == [resnet]  # the job's name
    assert found("resnet-training-job-aws-training-job") == [resnet]  # the trial component's
    assert found("res*") == [resnet]
    assert found("*-aws-training-job") == sorted([resnet, ("bert-finetune-aws-training-job", "bert-finetune"),
                                                  ("xgboost-aws-training-job", "xgboost")])
    assert found("resnet") == [] and found("r?snet*") == [resnet]


def test_metrics_lists_the_names_per_trial_component(athena_duckdb: Any) -> None:
    cursor = athena_duckdb.execute(render(LIBRARY.get("metrics"), {"trial_component_glob": "resnet*"},
                                          window=WINDOW).to_sql("duckdb"))
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    assert columns[:4] == ["trial_component", "metric_name", "points", "last_step"]
    assert {r["trial_component"] for r in rows} == {"resnet-training-job-aws-training-job"}
    loss = next(r for r in rows if r["metric_name"] == "train:loss")
    assert loss["points"] == 4 and loss["first_event_time"] <= loss["last_event_time"]
