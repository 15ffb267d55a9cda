"""One truth, two paths: the local engine's rows equal those of the Athena views' own SQL on DuckDB.

The views of ``sql/ddl/`` run (transpiled by sqlglot) over a table loaded as Athena's JSON SerDe would load
the same files (``tests/athena_shape.py``); the local engine reads the files with its own reader. Both
relations and every template must give the same rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.catalog import Catalog, Template
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.render import Naming, render
from smtrail_sql.window import TimeWindow
from tests.athena_shape import athena_shaped_duckdb
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, metric_bucket, write_log_file
from tests.sample_params import all_params, required_params

CATALOG = Catalog.load()
WINDOW = TimeWindow.parse(since="2024-04-30", until="2024-05-03")


def edge_cases(root: Path) -> list[Path]:
    """Odd but possible shapes, beside the lead's metric bucket: each must come out alike on both paths."""
    odd_params = batch_put_metrics("e-string-params", "2024-05-01T13:00:00Z", [])
    odd_params["requestParameters"] = json.dumps({"trialComponentName": "string-params-job", "metricData": [
        {"metricName": "loss", "timestamp": 1714568400, "step": 4, "value": 0.4}]})
    not_a_list = batch_put_metrics("e-not-a-list", "2024-05-01T13:01:00Z", {"metricName": "loss"})
    null_params = batch_put_metrics("e-null-params", "2024-05-01T13:02:00Z", [])
    null_params["requestParameters"] = None
    arn_lower = batch_put_metrics("e-arn-lower", "2024-05-01T13:03:00Z", [
        {"metricName": "loss", "timestamp": 1714568580.000001, "step": 0, "value": 1}])
    arn_lower["resources"] = [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"},
                              {"type": "AWS::SageMaker::ExperimentTrialComponent",
                               "arn": "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/x"}]
    no_resources = batch_put_metrics("e-no-resources", "2024-05-01T13:04:00Z", [
        {"metricName": "loss", "timestamp": "1714568640000", "step": "5", "value": "0.25"}])
    del no_resources["resources"]
    not_objects = batch_put_metrics("e-not-objects", "2024-05-01T13:01:30Z", [
        {"metricName": "loss", "timestamp": 1714568490, "step": 1, "value": 0.5}, 7, "x", None])
    records = [
        odd_params, null_params, arn_lower, no_resources,
        batch_put_metrics("e-odd-points", "2024-05-01 13:05:00", [
            {"metricName": "loss", "timestamp": "2024-05-01T13:04:59", "value": 0.5},  # ISO without a zone: UTC
            {"metricName": "loss", "timestamp": "2024-05-01T15:04:58+02:00", "step": 7, "value": -1e-9},
            {"metricName": "loss", "timestamp": 1714568699.9999995, "step": 8, "value": 3},
            {"metricName": "loss", "timestamp": 99999999999.5, "step": 9, "value": 1e300},  # below 1e11: seconds
            {"metricName": "loss", "timestamp": "not a time", "step": 10, "value": "NaN?"},
            {"metricName": "loss", "timestamp": None, "step": None, "value": None},
            {"metricName": "loss", "timestamp": 1714568700000, "step": 2.5, "value": True},
        ]),
        # the same eventID twice in one file, and a point repeated within a call
        batch_put_metrics("e-twice", "2024-05-01T13:06:00Z", [
            {"metricName": "acc", "timestamp": 1714568760, "step": 1, "value": 0.1},
            {"metricName": "acc", "timestamp": 1714568760, "step": 1, "value": 0.1}]),
        batch_put_metrics("e-twice", "2024-05-01T13:06:00Z", [
            {"metricName": "acc", "timestamp": 1714568760, "step": 1, "value": 0.1},
            {"metricName": "acc", "timestamp": 1714568760, "step": 1, "value": 0.1}]),
        {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "2024-05-01T13:07:00Z",
         "requestParameters": "{\"bucketName\": \"b\"}", "eventID": "e-noise"},
    ]
    # odd points that still fit the reader's typed schema
    typed_odd = batch_put_metrics("e-typed-odd", "2024-05-01T13:08:00Z", [
        {"metricName": "loss", "timestamp": "2024-05-01T13:04:59", "value": 0.5},
        {"metricName": "loss", "timestamp": "2024-05-01T15:04:58+02:00", "step": 7, "value": -1e-9},
        {"metricName": "loss", "timestamp": 1714568699.9999995, "step": 8, "value": 3},
        {"metricName": "loss", "timestamp": 99999999999.5, "step": 9, "value": 1e300},
        {"metricName": "loss", "timestamp": "not a time", "step": 2**63, "value": 2**60 + 1},
        {"metricName": None, "timestamp": None, "step": None, "value": None},
        {"metricName": "acc", "timestamp": 1714568700000, "step": -3, "value": 2**53 + 1}])
    # the first two files do not fit the typed schema (a step of 2.5, a boolean value; metricData that is not
    # a list of objects) and are read by the generic path; the third does
    return [write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1310Z", "edge"), records),
            write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1310Z", "odd"),
                           [not_a_list, not_objects, *records[:3]]),
            write_log_file(root / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1310Z", "typed"),
                           [typed_odd, *_typed_calls_of_every_kind()])]


def _typed_calls_of_every_kind() -> list[dict[str, Any]]:
    """Null requestParameters, no metricData, an empty one, a failed call: each fits the typed schema."""
    null_params = batch_put_metrics("e-typed-null", "2024-05-01T13:09:00Z", [])
    null_params["requestParameters"] = None
    no_data = batch_put_metrics("e-typed-no-data", "2024-05-01T13:09:01Z", [])
    del no_data["requestParameters"]["metricData"]
    failed = batch_put_metrics("e-typed-failed", "2024-05-01T13:09:02Z", [
        {"metricName": "loss", "timestamp": 1714568942, "step": 1, "value": 0.5}], error_code="ValidationException")
    return [null_params, no_data, batch_put_metrics("e-typed-empty", "2024-05-01T13:09:03Z", []), failed,
            batch_put_metrics("e-typed-after", "2024-05-01T13:09:04Z", [
                {"metricName": "loss", "timestamp": 1714568944, "step": 2, "value": 0.25}])]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("equivalence")
    return root, metric_bucket(root) + edge_cases(root)


@pytest.fixture(scope="module")
def view_con(logs: tuple[Path, list[Path]]) -> Any:
    con = athena_shaped_duckdb(logs[1])
    yield con
    con.close()


@pytest.fixture(scope="module")
def local_con(logs: tuple[Path, list[Path]]) -> Any:
    con, _ = LocalEngine(logs[0], use_cache=False).connect(TimeWindow.all_time(), Naming())
    yield con
    con.close()


def _key(value: Any) -> tuple[int, str]:
    return (0, "") if value is None else (1, repr(value))


def _rows(con: Any, sql: str) -> list[tuple[Any, ...]]:
    rows = [tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
            for row in con.execute(sql).fetchall()]
    return sorted(rows, key=lambda row: tuple(_key(v) for v in row))


@pytest.mark.parametrize("relation", ["sagemaker_metrics", "sagemaker_metric_calls"])
def test_relation_rows_are_equal(view_con: Any, local_con: Any, relation: str) -> None:
    sql = f"SELECT * FROM smtrail.{relation}"
    local = _rows(local_con, sql)
    assert local  # the fixtures hold rows of both kinds
    assert local == _rows(view_con, sql)


@pytest.mark.parametrize("relation", ["sagemaker_metrics", "sagemaker_metric_calls"])
def test_relation_types_are_equal(view_con: Any, local_con: Any, relation: str) -> None:
    describe = f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{relation}' " \
               "ORDER BY ordinal_position"
    assert local_con.execute(describe).fetchall() == view_con.execute(describe).fetchall()


@pytest.mark.parametrize("template", list(CATALOG), ids=lambda t: t.name)
@pytest.mark.parametrize("params", [required_params, all_params], ids=["required", "all"])
def test_every_template_gives_the_same_rows(view_con: Any, local_con: Any, template: Template,
                                            params: Any) -> None:
    sql = render(template, params(template), window=WINDOW).to_sql("duckdb")
    assert _rows(local_con, sql) == _rows(view_con, sql)
