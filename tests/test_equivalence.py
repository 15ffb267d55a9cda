"""One truth, three engines: the local engine, the views' SQL on DuckDB and the views' SQL on a real Trino server
give the same rows for the same files.

* **local**: the local engine's reader over the files, and DuckDB;
* **duckdb**: the views of ``sql/ddl/`` (transpiled by sqlglot) over a table loaded as Athena's JSON SerDe would
  load the files (``tests/athena_shape.py``);
* **trino**: the same views, verbatim, on Trino 476 (what Athena v3 is built on) over a partitioned Hive table of
  the same rows (``tests/trino_shape.py``).

Two buckets are compared: the lead's metric bucket with odd but possible shapes, and the hostile corpus of
``tests/hostile.py``. Both relations and every template (rendered for Athena exactly as ``smtrail-sql render``
prints it; for the local engine as it runs it, a built-in's values bound as parameters; for the DuckDB stand-in
with every value written in) must give the same rows everywhere; Trino's rows are the reference.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.render import Naming, RenderedQuery, render
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.athena_shape import athena_shaped_duckdb
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, metric_bucket, write_log_file
from tests.hostile import DUCKDB_STAND_IN_DIFFERS, EXPECTED_POINTS, cases, hostile_bucket
from tests.sample_params import all_params, required_params

TEMPLATES = TemplateLibrary.load()
WINDOW = TimeWindow.parse(since="2024-04-30", until="2024-05-03")
#: store: the rendered query reading the metric store's Iceberg tables on Trino, refreshed from the bucket's views
ENGINES = ("local", "duckdb", "trino", "store")
BUCKETS = ("lead", "hostile", "stand-in-limits")
#: What each bucket's rows are compared with Trino's on: the stand-in-limits bucket holds the hostile cases where
#: the DuckDB stand-in for Athena cannot agree with Trino (tests/hostile.py says why); the local engine must.
COMPARED = {"lead": ("duckdb", "local", "store"), "hostile": ("duckdb", "local", "store"),
            "stand-in-limits": ("local", "store")}


def edge_cases(root: Path) -> list[Path]:
    """Odd but possible shapes, beside the lead's metric bucket: each must come out alike on every engine."""
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


Runner = Callable[[RenderedQuery | str], list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def bucket_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[Path]]]:
    lead = tmp_path_factory.mktemp("lead")
    hostile = tmp_path_factory.mktemp("hostile")
    limits = tmp_path_factory.mktemp("limits")
    return {"lead": (lead, metric_bucket(lead) + edge_cases(lead)),
            "hostile": (hostile, hostile_bucket(hostile, skip=DUCKDB_STAND_IN_DIFFERS)),
            "stand-in-limits": (limits, hostile_bucket(limits, only=DUCKDB_STAND_IN_DIFFERS))}


@pytest.fixture(scope="module")
def runners(bucket_files: dict[str, tuple[Path, list[Path]]], request: pytest.FixtureRequest
            ) -> Iterator[dict[tuple[str, str], Runner]]:
    """(bucket, engine) -> a function that runs a rendered query (or a relation's name) and returns its rows.

    A relation's name gives its rows as they are (every copy of an event); a rendered query runs as the engine
    gets it: the Athena text on Trino, the DuckDB transpilation on the others.
    """
    found: dict[tuple[str, str], Runner] = {}
    closers: list[Callable[[], None]] = []
    trino = request.getfixturevalue("trino")  # skips (or, in CI, fails) with one line when Trino is missing
    from tests.trino_shape import athena_shaped_trino
    from tests.trino_store import refresh_store

    for bucket, (root, files) in bucket_files.items():
        local, _ = LocalEngine(root, use_cache=False).connect(TimeWindow.all_time(), Naming())
        duck = athena_shaped_duckdb(files)
        closers += [local.close, duck.close]
        shape = athena_shaped_trino(trino, files, schema=f"equivalence_{bucket.replace('-', '_')}")

        def on_duckdb(con: Any, *, bound: bool) -> Runner:
            """``bound``: the query as the local engine runs it (a built-in's values bound: see bound_sql),
            else its DuckDB text with every value written in (what ``render --dialect duckdb`` prints)."""
            def run(query: RenderedQuery | str) -> list[tuple[Any, ...]]:
                if isinstance(query, str):
                    return [tuple(row) for row in con.execute(f"SELECT * FROM smtrail.{query}").fetchall()]
                sql, values = query.duckdb_statement() if bound else (query.to_sql("duckdb"), {})
                return [tuple(row) for row in con.execute(sql, values).fetchall()]
            return run

        def on_trino(shape: Any = shape) -> Runner:
            naming = Naming(database=shape.schema)

            def run(query: RenderedQuery | str) -> list[tuple[Any, ...]]:
                if isinstance(query, str):
                    return [tuple(row) for row in shape.execute(f"SELECT * FROM {shape.schema}.{query}")]
                athena = render(query.template, query.params, window=query.window, naming=naming)
                return [tuple(row) for row in shape.execute(athena.sql)]
            return run

        def on_store(shape: Any = shape) -> Runner:
            refresh_store(shape)
            naming = Naming(database=shape.schema).reading_store()

            def run(query: RenderedQuery | str) -> list[tuple[Any, ...]]:
                assert not isinstance(query, str), "the store holds each distinct copy once: compare queries"
                athena = render(query.template, query.params, window=query.window, naming=naming)
                return [tuple(row) for row in shape.execute(athena.sql)]
            return run

        found[bucket, "local"] = on_duckdb(local, bound=True)
        found[bucket, "store"] = on_store()
        found[bucket, "duckdb"] = on_duckdb(duck, bound=False)
        found[bucket, "trino"] = on_trino()
    yield found
    for close in closers:
        close()


def _comparable(value: Any) -> tuple[int, Any]:
    """A value as rows are compared: NaN is NULL, and floats to 12 significant digits (a sum or an average may
    differ in its last bits with the order in which an engine added the values)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, "")
    if isinstance(value, float):  # (-0.0 == 0.0: engines may give either for a zero)
        return (1, repr(float(f"{value:.12g}") + 0.0))
    if isinstance(value, datetime):
        return (1, value.isoformat())
    return (1, repr(value))


def _rows(rows: list[tuple[Any, ...]]) -> list[tuple[tuple[int, Any], ...]]:
    return sorted(tuple(_comparable(v) for v in row) for row in rows)


def _same_everywhere(runners: dict[tuple[str, str], Runner], bucket: str,
                     query: RenderedQuery | str) -> list[tuple[tuple[int, Any], ...]]:
    # (a relation's raw rows hold every copy of an event; the store holds each distinct copy once)
    compared = [e for e in COMPARED[bucket] if e != "store" or not isinstance(query, str)]
    results = {engine: _rows(runners[bucket, engine](query)) for engine in ("trino", *compared)}
    reference = results["trino"]
    for engine in compared:
        if results[engine] != reference:
            there, trino = Counter(results[engine]), Counter(reference)
            raise AssertionError(f"{engine} differs from trino on {bucket}: only on {engine}: "
                                 f"{list((there - trino).elements())[:5]}; "
                                 f"only on trino: {list((trino - there).elements())[:5]}")
    return reference


@pytest.mark.trino
@pytest.mark.parametrize("bucket", BUCKETS)
@pytest.mark.parametrize("relation", ["sagemaker_metrics", "sagemaker_metric_calls"])
def test_relation_rows_are_equal(runners: dict[tuple[str, str], Runner], bucket: str, relation: str) -> None:
    assert _same_everywhere(runners, bucket, relation)  # the buckets hold rows of both kinds


#: The names the hostile bucket's events carry, in place of the lead's sample values (tests/sample_params.py).
HOSTILE_NAMES: dict[str, Any] = {
    "metrics": ["loss"], "trial_component_glob": "tc-*", "job": "tc-copy-*",
    "trial_components": ["tc-copy-two-days", "tc-copy-values-differ", "tc-step-logged-twice",
                         "tc-ten-thousand-points"],
}


def template_params(template: Template, params: Callable[[Template], dict[str, Any]], bucket: str) -> dict[str, Any]:
    """The sample values, with the hostile bucket's own names where it has them."""
    values = params(template)
    return {k: HOSTILE_NAMES.get(k, v) for k, v in values.items()} if bucket == "hostile" else values


@pytest.mark.trino
@pytest.mark.parametrize("bucket", ["lead", "hostile"])  # (the stand-in-limits bucket holds one point)
@pytest.mark.parametrize("template", list(TEMPLATES), ids=lambda t: t.name)
@pytest.mark.parametrize("params", [required_params, all_params], ids=["required", "all"])
def test_every_template_gives_the_same_rows(runners: dict[tuple[str, str], Runner], bucket: str,
                                            template: Template, params: Any) -> None:
    rows = _same_everywhere(runners, bucket, render(template, template_params(template, params, bucket),
                                                     window=WINDOW))
    assert rows, f"{template.name} answers nothing on the {bucket} bucket: the comparison would be of two empties"


@pytest.mark.parametrize("bucket", ["lead", "hostile"])
def test_every_template_answers_on_the_local_engine(bucket_files: dict[str, tuple[Path, list[Path]]],
                                                    bucket: str) -> None:
    """What the comparison above asserts, without Trino: each template, with either set of values, has rows."""
    root, _ = bucket_files[bucket]
    engine = LocalEngine(root, use_cache=False)
    silent = sorted(f"{t.name} ({params.__name__})" for t in TEMPLATES for params in (required_params, all_params)
                    if not engine.execute(render(t, template_params(t, params, bucket), window=WINDOW)).rows)
    engine.close()
    assert silent == []


@pytest.fixture(scope="module")
def hostile_rows(runners: dict[tuple[str, str], Runner]) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """engine -> case -> the case's points and calls, through one rendered query per engine."""
    from smtrail_sql.templates import parse_template

    text = (
        "-- name: hostile-cases\n-- description: every case's points and calls\n"
        "SELECT user_agent, 'point' AS kind, point_index, metric_time, step, value, metric_name,\n"
        "  trial_component, event_id, event_time FROM sagemaker_metrics\n"
        "UNION ALL\n"
        "SELECT user_agent, 'call', point_count, NULL, NULL, NULL, error_code, trial_component, event_id,\n"
        "  event_time FROM sagemaker_metric_calls"
    )
    query = render(parse_template(text, Path("hostile-cases.sql"), source="test"), window=TimeWindow.all_time())
    by_engine: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for engine in ENGINES:
        cases_rows: dict[str, list[tuple[Any, ...]]] = {}
        for bucket in ("hostile", "stand-in-limits"):
            for row in runners[bucket, engine](query):
                cases_rows.setdefault(str(row[0]).removeprefix("case/"), []).append(row[1:])
        by_engine[engine] = cases_rows
    return by_engine


@pytest.mark.trino
@pytest.mark.parametrize("case", sorted(cases()))
def test_each_hostile_case_gives_the_same_rows(hostile_rows: dict[str, dict[str, list[tuple[Any, ...]]]],
                                               case: str) -> None:
    """Each case of the corpus on its own: its points and calls after the rendered query's deduplication."""
    reference = _rows(hostile_rows["trino"].get(case, []))
    assert reference  # every case is a call at least
    assert _rows(hostile_rows["local"].get(case, [])) == reference
    assert _rows(hostile_rows["store"].get(case, [])) == reference
    if case in DUCKDB_STAND_IN_DIFFERS:  # a limit of the stand-in, not of the SQL: it must still show
        assert _rows(hostile_rows["duckdb"].get(case, [])) != reference, DUCKDB_STAND_IN_DIFFERS[case]
    else:
        assert _rows(hostile_rows["duckdb"].get(case, [])) == reference
    if case in EXPECTED_POINTS:
        first_points = [row[2:5] for row in reference if row[:2] == (_comparable("point"), _comparable(1))]
        assert first_points == [tuple(_comparable(v) for v in EXPECTED_POINTS[case])]


def test_copies_resolve_alike_everywhere(hostile_rows: dict[str, dict[str, list[tuple[Any, ...]]]]) -> None:
    """What the rule makes of copies: the earliest delivery day's copy wins, each (event_id, point_index) once."""
    def points(case: str) -> list[tuple[Any, ...]]:
        return sorted((row[1], row[4]) for row in hostile_rows["trino"][case] if row[0] == "point")

    assert points("copy-two-days") == [(1, 0.5), (2, 0.5)]  # one copy of each point, not two
    assert points("copy-same-file") == [(1, 0.5)]
    assert points("copy-one-failed") == [(1, 0.5)]  # the copy that stored its point
    assert points("copy-later-longer") == [(1, 1.0), (2, 2.0), (3, 9.0)]  # the earlier day's, then the third
    assert points("no-event-id") == [(1, 0.5), (1, 0.5)]  # without an ID, copies cannot be told apart
    duplicated_keys = [row for row in hostile_rows["trino"]["point-duplicate-keys"] if row[0] == "point"]
    assert [(row[3], row[5]) for row in duplicated_keys] == [(2, "b")]  # the last of two equal keys


@pytest.mark.parametrize("relation", ["sagemaker_metrics", "sagemaker_metric_calls"])
def test_relation_types_are_equal(bucket_files: dict[str, tuple[Path, list[Path]]], relation: str) -> None:
    root, files = bucket_files["lead"]
    local, _ = LocalEngine(root, use_cache=False).connect(TimeWindow.all_time(), Naming())
    view = athena_shaped_duckdb(files)
    describe = f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{relation}' " \
               "ORDER BY ordinal_position"
    assert local.execute(describe).fetchall() == view.execute(describe).fetchall()
