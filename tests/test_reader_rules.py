"""The reader follows the field rules of DDL version 2 (SPEC: issue 11), each with the spec's own examples.

Every case writes a log file as raw JSON text (so that a number keeps its text, a key its case, an object its
duplicate keys) and reads it through :func:`read_log_files`, the reader's public entry point.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.reader import decode, lists
from smtrail_sql.reader.layout import LogFile, discover_log_files
from smtrail_sql.reader.pipeline import ReadResult, read_log_files
from tests.events import ACCOUNT, REGION, TRIAL_COMPONENT, batch_put_metrics, log_key

MAY_1 = datetime(2024, 5, 1)
POINT_TEXT = '{"metricName": "m", "timestamp": 1714521600000, "step": 1, "value": 1.5}'


def _record(points: str = f"[{POINT_TEXT}]", **raw: str) -> str:
    """A BatchPutMetrics record as JSON text; ``raw`` replaces a top-level field's value by raw JSON text
    (``requestParameters`` included, which otherwise holds ``points`` as its metricData)."""
    record = batch_put_metrics("e-1", "2024-05-01T12:00:00Z", ["@POINTS@"])
    text = json.dumps(record)
    for key, value in raw.items():
        if key not in record:
            text = text[:-1] + f', "{key}": "@{key}@"}}'
        text = text.replace(json.dumps(record.get(key, f"@{key}@")), f'"@{key}@"', 1)
        text = text.replace(f'"@{key}@"', value)
    return text.replace('["@POINTS@"]', points)


def _read(tmp_path: Path, *records: str) -> ReadResult:
    path = tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T1205Z")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(('{"Records": [' + ", ".join(records) + "]}").encode()))
    return read_log_files(discover_log_files(tmp_path).files, strict=True)


def _point(tmp_path: Path, field: str, text: str) -> dict[str, Any]:
    point = POINT_TEXT.replace(f'"{field}": ', f'"{field}": {text}, "_was": ', 1)
    rows = _read(tmp_path, _record(f"[{point}]")).points.to_pylist()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("0.9", 0.9), ("7", 7.0), ('"0.25"', 0.25), ('"1e2"', 100.0), ('"NaN"', None), ('"Infinity"', None),
    ('" 1"', None), ('"1.5f"', None), ('"١٢٣"', None), ("true", None), ("1e400", None), ("9" * 400, None),
    ('"+1"', None), ('".5"', None), ("null", None), ('{"v": 1}', None),
])
def test_value_is_a_finite_number(tmp_path: Path, text: str, expected: float | None) -> None:
    assert _point(tmp_path, "value", text)["value"] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("5", 5), ('"12345678901234567"', 12345678901234567), ("5.0", 5), ("1e2", 100), ("2.5", None),
    ("0.49999999999999994", None), ("4503599627370497.0", 4503599627370497), ("9223372036854775807", 2**63 - 1),
    ("9223372036854775808", None), ("-9223372036854775808", -(2**63)), ("1" + "0" * 399, None),
    ('"٣"', None), ("true", None), ('"05"', None), ("-0", 0), ("9007199254740992.0", None),
])
def test_step_is_an_integer_that_fits(tmp_path: Path, text: str, expected: int | None) -> None:
    assert _point(tmp_path, "step", text)["step"] == expected


_MS = timedelta(milliseconds=1)


@pytest.mark.parametrize(("text", "expected"), [
    ("1714521600000", MAY_1), ("1714521600", MAY_1), ('"1714521600000"', MAY_1), ("1714521600.5", MAY_1 + 500 * _MS),
    ("1714521600.0005", MAY_1 + _MS), ("1714521600000.5", MAY_1 + _MS), ("1714521600.1234", MAY_1 + 123 * _MS),
    ("-0.0005", datetime(1969, 12, 31, 23, 59, 59, 999000)),  # half away from zero, below zero too
    ("99999999999", datetime(5138, 11, 16, 9, 46, 39)),  # below 1e11: seconds
    ('"2024-05-01T00:00:00Z"', MAY_1), ('"2024-05-01T02:00:00+02:00"', MAY_1), ('"2024-05-01 00:00"', MAY_1),
    ('"2024-05-01T05:30:00+0530"', MAY_1), ('"2024-04-30T23:00:00-01"', MAY_1),
    ('"2024-05-01T00:00:00.1235Z"', MAY_1 + 124 * _MS), ('"2024-05-01T00:00:00.9995Z"', MAY_1 + 1000 * _MS),
    ('"2024-05-01T00:00:00.12345678"', MAY_1 + 123 * _MS),
    ('"0001-01-01T00:00:00Z"', datetime(1, 1, 1)),
    ('"9999-12-31T23:59:59.9994Z"', datetime(9999, 12, 31, 23, 59, 59, 999000)),
    ('"9999-12-31T23:59:59.9995Z"', None), ("253402300800000", None), ("-62135596800", datetime(1, 1, 1)),
    ("-62135596801", None), ('"20240501T130000Z"', None), ('"2024-W18-3"', None), ('"2024-05-01+02:00"', None),
    ('"2024-05-01T24:00:00Z"', None), ('"2024-05-01T23:59:60Z"', None), ('"2024-05-01t00:00:00z"', None),
    ('"2024-02-30T00:00:00Z"', None), ('"2023-02-29 00:00:00Z"', None),
    ('"2024-02-29 00:00:00Z"', datetime(2024, 2, 29)),
    ('"2024-05-01"', None), ('"١٧١٤٥٢١٦٠٠"', None), ("1e400", None), ("true", None), ('" 1714521600"', None),
])
def test_metric_time_follows_the_time_rule(tmp_path: Path, text: str, expected: datetime | None) -> None:
    assert _point(tmp_path, "timestamp", text)["metric_time"] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('"2024-05-01T00:00:00Z"', MAY_1), ('"2024-05-01 02:00:00+02:00"', MAY_1),
    ('"2024-05-01T00:00:00.123456Z"', MAY_1 + 123 * _MS), ("1714521600", MAY_1), ('"1714521600000"', MAY_1),
    ('"2024-05-01T00:00:00z"', None), ('"2024-05-01"', None), ('"2024-13-01T00:00:00Z"', None),
])
def test_event_time_follows_the_time_rule(tmp_path: Path, text: str, expected: datetime | None) -> None:
    result = _read(tmp_path, _record(eventTime=text))
    assert result.calls.column("event_time").to_pylist() == [expected]
    assert result.points.column("event_time").to_pylist() == [expected]


@pytest.mark.parametrize(("text", "expected", "in_point"), [
    ('"loss"', "loss", "loss"), ("5", "5", "5"), ("1.50", "1.50", "1.5"), ("-0", "-0", "0"),
    ("1E+2", "1E+2", "100.0"), ("1.7146074e9", "1.7146074e9", "1.7146074E9"), ("1E400", "1E400", "Infinity"),
    ("true", "true", "true"), ("false", "false", "false"), ("null", None, None), ('{"a": 1}', None, None),
    ("[1]", None, None),
])
def test_metric_name_and_trial_component_are_scalar_text(tmp_path: Path, text: str, expected: str | None,
                                                         in_point: str | None) -> None:
    # a point's fields are read after Trino's cast of metricData to ARRAY(JSON), which rewrites numbers as Java does
    assert _point(tmp_path, "metricName", text)["metric_name"] == in_point
    params = '{"trialComponentName": @, "metricData": []}'.replace("@", text)
    call = _read(tmp_path / "c", _record(requestParameters=params)).calls.to_pylist()[0]
    assert call["trial_component"] == expected


@pytest.mark.parametrize(("field", "column", "text", "expected"), [
    ("eventID", "event_id", "12345", "12345"), ("eventID", "event_id", "1.50", "1.50"),
    ("eventID", "event_id", "true", "true"),
    ("eventID", "event_id", '{"a": 1, "b": [1.0, "x"]}', '{"a":1,"b":[1.0,"x"]}'),
    ("userAgent", "user_agent", "[1, 2]", "[1,2]"), ("sourceIPAddress", "source_ip", "false", "false"),
    ("errorMessage", "error_message", "3", "3"), ("errorCode", "error_code", '""', ""),
    ("errorCode", "error_code", "0", "0"), ("errorCode", "error_code", "null", None),
])
def test_record_fields_read_as_hive_reads_a_string_column(tmp_path: Path, field: str, column: str, text: str,
                                                          expected: str | None) -> None:
    result = _read(tmp_path, _record(**{field: text}))
    assert result.calls.column(column).to_pylist() == [expected]
    # any errorCode but NULL is a failed call, which stores no point
    assert result.points.num_rows == (1 if field != "errorCode" or expected is None else 0)


def test_record_keys_match_in_any_case_and_the_last_wins(tmp_path: Path) -> None:
    tc_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial-component/{TRIAL_COMPONENT}"
    record = json.loads(_record())
    upper = {key.upper() if key in ("eventName", "eventSource") else key[0].upper() + key[1:]: value
             for key, value in record.items()}
    upper["UserIdentity"] = {"Arn": "arn:aws:iam::1:user/cased"}
    upper["Resources"] = [{"TYPE": "AWS::SageMaker::ExperimentTrialComponent", "aRN": tc_arn}]
    failed = {**record, "eventID": "e-failed", "ErrorCode": "AccessDenied"}
    hidden = json.dumps({**record, "eventID": "e-hidden"})[:-1] + ', "EventName": "BatchPutMetrics"}'
    hidden = hidden.replace('"eventName": "BatchPutMetrics"', '"eventName": "PutMetrics"')
    renamed = json.dumps({**record, "eventID": "e-renamed"})[:-1] + ', "EVENTNAME": "GetMetrics"}'
    result = _read(tmp_path, json.dumps(upper), json.dumps(failed), hidden, renamed)
    calls = {c["event_id"]: c for c in result.calls.to_pylist()}
    assert set(calls) == {"e-1", "e-failed", "e-hidden"}  # e-renamed: its last name is GetMetrics
    assert (calls["e-1"]["caller_arn"], calls["e-1"]["trial_component_arn"]) == ("arn:aws:iam::1:user/cased", tc_arn)
    assert calls["e-1"]["event_time"] == datetime(2024, 5, 1, 12)
    assert calls["e-failed"]["error_code"] == "AccessDenied"
    assert sorted(r["event_id"] for r in result.points.to_pylist()) == ["e-1", "e-hidden"]


def test_keys_inside_request_parameters_match_exactly(tmp_path: Path) -> None:
    params = json.dumps({"TrialComponentName": "cased", "MetricData": [json.loads(POINT_TEXT)]})
    result = _read(tmp_path, _record(requestParameters=params))
    assert result.calls.to_pylist()[0]["trial_component"] is None
    assert result.calls.to_pylist()[0]["point_count"] == 0 and result.points.num_rows == 0


@pytest.mark.parametrize(("params", "component", "names"), [
    # a JSON string: read as its JSON, the first of two equal keys wins
    (json.dumps(json.dumps({"trialComponentName": "x"})[:-1] + ', "trialComponentName": "y", "metricData": '
                f'[{POINT_TEXT}], "metricData": []}}'), "x", ["m"]),
    # inside a point the last wins: the view reads points after Trino's cast of metricData to ARRAY(JSON)
    (json.dumps('{"trialComponentName": "x", "metricData": [{"metricName": "a", "metricName": "b"}]}'), "x", ["b"]),
    (json.dumps("{not json"), None, []),
    ("null", None, []), ("5", None, []), ('"5"', None, []), ("[1]", None, []),
])
def test_request_parameters(tmp_path: Path, params: str, component: str | None, names: list[str]) -> None:
    result = _read(tmp_path, _record(requestParameters=params))
    assert result.calls.column("trial_component").to_pylist() == [component]
    assert result.calls.column("point_count").to_pylist() == [len(names)]
    assert result.points.column("metric_name").to_pylist() == names


@pytest.mark.parametrize("metric_data", ['{"metricName": "m"}', '"[]"', "7", "null", "true"])
def test_metric_data_that_is_not_an_array_has_no_points(tmp_path: Path, metric_data: str) -> None:
    result = _read(tmp_path, _record(metric_data))
    assert result.calls.column("point_count").to_pylist() == [0] and result.points.num_rows == 0


def test_elements_that_are_not_objects_are_points_of_nulls_and_are_numbered(tmp_path: Path) -> None:
    point = json.loads(POINT_TEXT)
    points = json.dumps([point, 7, "x", None, [1], {**point, "step": 6}])
    result = _read(tmp_path, _record(points))
    rows = result.points.to_pylist()
    assert [r["point_index"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [(r["metric_name"], r["step"], r["value"], r["metric_time"]) for r in rows] == [
        ("m", 1, 1.5, MAY_1), *[(None, None, None, None)] * 4, ("m", 6, 1.5, MAY_1)]
    assert result.calls.column("point_count").to_pylist() == [6]


@pytest.mark.parametrize(("source", "name", "is_call"), [
    ("metrics-sagemaker.amazonaws.com", "BatchPutMetrics", True),
    ("Metrics-sagemaker.amazonaws.com", "BatchPutMetrics", False),
    ("metrics-sagemaker.amazonaws.com", "batchputmetrics", False),
    ("sagemaker.amazonaws.com", "BatchPutMetrics", False),
])
def test_a_metric_call_has_the_exact_source_and_name(tmp_path: Path, source: str, name: str, is_call: bool) -> None:
    result = _read(tmp_path, _record(eventSource=json.dumps(source), eventName=json.dumps(name)))
    assert result.calls.num_rows == int(is_call)


@pytest.mark.parametrize(("resources", "expected"), [
    ([{"type": "AWS::S3::Object", "ARN": "s3"}, {"type": "AWS::SageMaker::ExperimentTrialComponent", "arn": "a"},
      {"type": "AWS::SageMaker::ExperimentTrialComponent", "ARN": "b"}], "a"),
    ([{"Type": "AWS::SageMaker::ExperimentTrialComponent", "ARN": "x", "Arn": "y"}], "y"),
    ([{"type": "AWS::SageMaker::ExperimentTrialComponent"}], None),
    ([{"type": "AWS::S3::Object", "ARN": "s3"}], None),
    ([7, {"type": "AWS::SageMaker::ExperimentTrialComponent", "ARN": "c"}], "c"),
])
def test_trial_component_arn(tmp_path: Path, resources: list[Any], expected: str | None) -> None:
    result = _read(tmp_path, _record(resources=json.dumps(resources)))
    assert result.calls.column("trial_component_arn").to_pylist() == [expected]


def test_the_same_event_twice_in_a_file_gives_both_copies(tmp_path: Path) -> None:
    two_points = f"[{POINT_TEXT}, {POINT_TEXT}]"
    result = _read(tmp_path, _record(two_points), _record(two_points))
    assert result.calls.column("event_id").to_pylist() == ["e-1", "e-1"]
    assert result.points.column("event_id").to_pylist() == ["e-1"] * 4
    assert result.points.column("point_index").to_pylist() == [1, 2, 1, 2]


def _extracted(records: list[str]) -> lists.FileLists:
    data = ('{"Records": [' + ", ".join(records) + "]}").encode()
    return decode.extract_lists(data, LogFile("x.json", len(data), 0, ACCOUNT, REGION, "2024/05/01"))


def test_the_usual_file_stays_on_the_typed_path_and_odd_ones_go_generic() -> None:
    noise = json.dumps({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": "n"})
    assert _extracted([_record(), noise, _record()]).typed
    for odd in (_record(eventName='"BatchPutMetrics", "EventName": "BatchPutMetrics"'),  # a cased key twice
                _record().replace('"eventID"', '"EventId"'), _record().replace('"userIdentity"', '"UserIdentity"'),
                _record(eventID="12"), _record(requestParameters=json.dumps("{}")),
                _record().replace('"eventName": "BatchPutMetrics"', '"eventName": "BatchPutMetric\\u0073"')):
        lists = _extracted([odd, noise])
        assert not lists.typed and lists.call_count == 1, odd
    # a cased name hidden in a file without the name spelt out, then spelt with an escape
    hidden = _record().replace('"eventName": "BatchPutMetrics"', '"EVENTNAME": "BatchPutMetric\\u0073"')
    assert _extracted([hidden]).call_count == 1


def test_the_vectorised_time_forms_follow_the_rule_exactly() -> None:
    """The numpy fast path of CloudTrail's forms (``...SSZ``, ``...SS.fffZ``) gives what the rule gives, for
    thousands of right and wrong texts of those lengths."""
    import random

    from smtrail_sql.reader import rules
    from smtrail_sql.reader.vectorised import text_millis

    rng = random.Random(11)
    texts: list[str | None] = [None, "", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "0000-12-31T23:59:59Z",
                               "9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z", "2024-05-01 12:00:00Z"]
    for _ in range(4000):
        year, month, day = rng.randint(0, 9999), rng.randint(0, 13), rng.randint(0, 32)
        hour, minute, second = rng.randint(0, 25), rng.randint(0, 61), rng.randint(0, 61)
        text = f"{year:04d}-{month:02d}-{day:02d}{rng.choice('T T')}{hour:02d}:{minute:02d}:{second:02d}"
        if rng.random() < 0.5:
            text += f".{rng.randint(0, 999):03d}"
        text += rng.choice(["Z", "Z", "Z", "z", "+"])
        if rng.random() < 0.05:  # a wrong byte anywhere
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice("/:-.A9 ") + text[at + 1:]
        texts.append(text)
    millis, valid = text_millis(texts)
    expected = [rules.time_millis(text) if text is not None else None for text in texts]
    got = [int(m) if v else None for m, v in zip(millis.tolist(), valid.tolist(), strict=True)]
    assert got == expected
    assert sum(value is not None for value in expected) > 1000  # most of the texts are times
