"""A corpus of hostile but well-formed CloudTrail events: each case exercises one rule of the views.

Every event of a case carries ``userAgent = "case/<name>"``, so a test can select one case's rows on every
engine. :func:`hostile_bucket` writes them in the bucket layout (some cases across several delivery days).
The expected answers of the cases whose meaning is a rule (a time in UTC, a NULL where nothing is a time)
are in :data:`EXPECTED_POINTS`; for the others, the three engines agreeing is the test.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key

DAY = "2024/05/01"
NEXT_DAY = "2024/05/02"
#: The event time of every case (unless the case is about event times).
EVENT_TIME = "2024-05-01T23:50:00Z"


def raw(text: str) -> str:
    """A JSON number written exactly as ``text`` (``1e2``, ``1.50``): :func:`hostile_bucket` unquotes it."""
    return f"@@raw:{text}@@"


def _call(case: str, points: Any, *, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    record = batch_put_metrics(event_id or f"h-{case}", fields.pop("event_time", EVENT_TIME), points,
                               trial_component=fields.pop("trial_component", f"tc-{case}"),
                               user_agent=f"case/{case}", **fields)
    return record


def _point(timestamp: Any = 1714607400, *, step: Any = 1, value: Any = 0.5, name: Any = "loss") -> dict[str, Any]:
    return {"metricName": name, "timestamp": timestamp, "step": step, "value": value}


def _raw_points(case: str, text: str) -> dict[str, Any]:
    """A call whose requestParameters is the given JSON text (a string, as CloudTrail sometimes logs it)."""
    record = _call(case, [])
    record["requestParameters"] = text
    return record


def cases() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Case name -> its events, each with the delivery day of the folder it is written to."""
    point_times = {
        "iso-offset": "2024-05-01T12:00:00+02:00",
        "iso-offset-minutes": "2024-05-01T12:00:00-05:30",
        "iso-offset-compact": "2024-05-01T12:00:00+0200",
        "iso-offset-hours": "2024-05-01T12:00:00+02",
        "iso-no-zone": "2024-05-01T12:00:00",
        "iso-space": "2024-05-01 12:00:00Z",
        "iso-no-seconds": "2024-05-01T12:00Z",
        "iso-fraction-long": "2024-05-01T12:00:00.1234567Z",
        "iso-fraction-round": "2024-05-01T12:00:00.9995Z",
        "iso-basic": "20240501T130000Z",
        "iso-week": "2024-W18-3",
        "iso-date-offset": "2024-05-01+02:00",
        "iso-hour-24": "2024-05-01T24:00:00Z",
        "iso-leap-second": "2024-06-30T23:59:60Z",
        "iso-feb-30": "2024-02-30T12:00:00Z",
        "iso-lowercase": "2024-05-01t12:00:00z",
        "iso-year-0": "0000-01-01T00:00:00Z",
        "iso-year-1": "0001-01-01T00:00:00Z",
        "iso-year-9999": "9999-12-31T23:59:59.999Z",
        "iso-year-1-offset": "0001-01-01T00:00:00+01:00",
        "time-1e20": 1e20,
        "time-1e300": 1e300,
        "time-nan-string": "nan",
        "time-NaN-string": "NaN",
        "time-inf-string": "inf",
        "time-Infinity-string": "Infinity",
        "time-400-digits": int("9" * 400),
        "time-big-seconds-read-as-ms": 253402300800,
        "time-ms-year-10000": 253402300800000,
        "time-seconds-year-0": -62135596801,
        "time-ms-boundary-below": 99999999999,
        "time-ms-boundary": 100000000000,
        "time-negative-half": -1.0005,
        "time-seconds-string": "1714607400.25",
        "time-exponent": raw("1.7146074e9"),
        "time-exponent-string": "1.7146074E9",
        "time-bool": True,
        "time-object": {"s": 1},
        "time-half-ms": 1714607400.0005,
        "time-ms-fraction": 1714607400000.5,
        "time-unicode-digits": "١٧١٤٦٠٧٤٠٠",
    }
    steps = {
        "step-17-digits-string": "12345678901234567",
        "step-float-2-52": 4503599627370497.0,
        "step-just-below-half": 0.49999999999999994,
        "step-int64-max-string": "9223372036854775807",
        "step-int64-overflow": 9223372036854775808,
        "step-negative": -7,
        "step-huge-negative": -(2**63),
        "step-fraction": 2.5,
        "step-integral-float": 5.0,
        "step-exponent": raw("1e2"),
        "step-exponent-2-53": 9007199254740992.0,
        "step-unicode-digits": "١٢٣",
        "step-bool": False,
        "step-string-spaces": " 3",
        "step-leading-zero": "007",
        "step-400-digits": int("9" * 400),
    }
    values = {
        "value-string": "0.25",
        "value-exponent": raw("1.5E-3"),
        "value-exponent-string": "1E3",
        "value-nan-string": "NaN",
        "value-infinity-string": "Infinity",
        "value-minus-infinity-string": "-Infinity",
        "value-1e400-string": "1e400",
        "value-400-digits": int("9" * 400),
        "value-bool": True,
        "value-negative-zero": -0.0,
        "value-hex-string": "0x10",
        "value-java-suffix": "1.5d",
        "value-plus-sign": "+1",
        "value-spaces": " 1.5 ",
        "value-unicode-digits": "١٢٣",
    }
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for case, timestamp in point_times.items():
        found[case] = [(DAY, _call(case, [_point(timestamp)]))]
    for case, step in steps.items():
        found[case] = [(DAY, _call(case, [_point(step=step)]))]
    for case, value in values.items():
        found[case] = [(DAY, _call(case, [_point(value=value)]))]

    # fields missing or null, points that are not objects, metricData that is not an array
    found["point-fields-missing"] = [(DAY, _call("point-fields-missing", [{}]))]
    found["point-fields-null"] = [(DAY, _call("point-fields-null", [
        {"metricName": None, "timestamp": None, "step": None, "value": None}]))]
    found["points-not-objects"] = [(DAY, _call("points-not-objects", [_point(), 7, "x", None, [1], _point(step=6)]))]
    for kind, data in {"object": {"metricName": "loss"}, "string": "[]", "number": 3, "null": None}.items():
        found[f"metric-data-{kind}"] = [(DAY, _call(f"metric-data-{kind}", data))]
    # requestParameters in odd forms
    found["params-json-string"] = [(DAY, _raw_points("params-json-string", json.dumps(
        {"trialComponentName": "tc-params-json-string", "metricData": [_point(step=3)]})))]
    found["params-not-json"] = [(DAY, _raw_points("params-not-json", "{not json"))]
    whole = json.dumps({"trialComponentName": "tc-params-trailing-text", "metricData": [_point()]})
    found["params-trailing-text"] = [(DAY, _raw_points("params-trailing-text", whole + " and more"))]
    found["params-cut-short"] = [(DAY, _raw_points(
        "params-cut-short", whole.replace("tc-params-trailing-text", "tc-params-cut-short")[:-1] + ', "other": '))]
    found["params-duplicate-keys"] = [(DAY, _raw_points(
        "params-duplicate-keys",
        '{"trialComponentName": "first", "trialComponentName": "second", "metricData": '
        '[{"metricName": "a", "timestamp": 1714607400, "step": 1, "value": 1}]}'))]
    # keys repeated inside a point: Trino's cast of metricData to ARRAY(JSON) keeps the last (DuckDB's the first:
    # see DUCKDB_STAND_IN_DIFFERS)
    found["point-duplicate-keys"] = [(DAY, _raw_points(
        "point-duplicate-keys",
        '{"trialComponentName": "tc-point-duplicate-keys", "metricData": '
        '[{"metricName": "a", "metricName": "b", "timestamp": 1714607400, "step": 1, "step": 2, "value": 1}]}'))]
    null_params = _call("params-null", [])
    null_params["requestParameters"] = None
    found["params-null"] = [(DAY, null_params)]
    number_params = _call("params-number", [])
    number_params["requestParameters"] = 5
    found["params-number"] = [(DAY, number_params)]
    # scalars that are not strings where strings are expected
    found["metric-name-number"] = [(DAY, _call("metric-name-number", [_point(name=5), _point(name=raw("1.50"))]))]
    found["metric-name-bool"] = [(DAY, _call("metric-name-bool", [_point(name=True)]))]
    found["trial-component-number"] = [(DAY, _call("trial-component-number", [_point()], trial_component=12))]
    found["event-id-number"] = [(DAY, _call("event-id-number", [_point()], event_id=12345))]  # type: ignore[arg-type]
    found["error-code-zero"] = [(DAY, _call("error-code-zero", [_point()], error_code=None))]
    found["error-code-zero"][0][1]["errorCode"] = 0
    found["error-code-empty"] = [(DAY, _call("error-code-empty", [_point()]))]
    found["error-code-empty"][0][1]["errorCode"] = ""
    # record keys in another case than CloudTrail's
    other_case = _call("keys-other-case", [_point()])
    other_case["EventName"] = other_case.pop("eventName")
    other_case["EVENTID"] = other_case.pop("eventID")
    other_case["resources"][0]["Arn"] = other_case["resources"][0].pop("ARN")
    other_case["userIdentity"]["ARN"] = other_case["userIdentity"].pop("arn")
    found["keys-other-case"] = [(DAY, other_case)]
    params_key_case = _raw_points("params-keys-other-case", json.dumps(
        {"TrialComponentName": "x", "MetricData": [_point()]}))
    found["params-keys-other-case"] = [(DAY, params_key_case)]
    # event times
    for case, event_time in {"event-time-offset": "2024-05-01T23:50:00+02:00", "event-time-garbage": "yesterday",
                             "event-time-no-zone": "2024-05-01T23:50:00",
                             "event-time-number": 1714607400}.items():
        found[case] = [(DAY, _call(case, [_point()], event_time=event_time))]
    # copies of one event: in two delivery days, differing, without an ID
    twice = _call("copy-two-days", [_point(), _point(step=2)])
    found["copy-two-days"] = [(DAY, twice), (NEXT_DAY, copy.deepcopy(twice))]
    same_file = _call("copy-same-file", [_point()])
    found["copy-same-file"] = [(DAY, same_file), (DAY, copy.deepcopy(same_file))]
    succeeded = _call("copy-one-failed", [_point()])
    failed = copy.deepcopy(succeeded)
    failed["errorCode"] = "ThrottlingException"
    found["copy-one-failed"] = [(DAY, failed), (NEXT_DAY, succeeded)]
    differ_same_day = _call("copy-values-differ", [_point(value=1.0), _point(step=2, value=2.0)])
    other_values = copy.deepcopy(differ_same_day)
    other_values["requestParameters"]["metricData"] = [_point(value=9.0)]
    found["copy-values-differ"] = [(DAY, differ_same_day), (DAY, other_values)]
    later_longer = copy.deepcopy(differ_same_day)
    later_longer["requestParameters"]["metricData"] = [_point(value=7.0), _point(step=2, value=8.0),
                                                       _point(step=3, value=9.0)]
    found["copy-later-longer"] = [(NEXT_DAY, later_longer), (DAY, copy.deepcopy(differ_same_day))]
    for record in (r for _, r in found["copy-later-longer"]):
        record["userAgent"] = "case/copy-later-longer"
        record["eventID"] = "h-copy-later-longer"
    no_id = _call("no-event-id", [_point()])
    del no_id["eventID"]
    found["no-event-id"] = [(DAY, no_id), (DAY, copy.deepcopy(no_id))]
    # one step logged again by another call, with another value (a restarted job): what duplicate-points finds
    found["step-logged-twice"] = [
        (DAY, _call("step-logged-twice", [_point(value=1.0)], event_id="h-step-logged-twice-1")),
        (NEXT_DAY, _call("step-logged-twice", [_point(value=2.0)], event_id="h-step-logged-twice-2")),
    ]
    # many points in one call
    found["ten-thousand-points"] = [(DAY, _call("ten-thousand-points", [
        _point(1714607400 + i, step=i, value=i / 7) for i in range(10_000)]))]
    return found


#: Cases where the DuckDB stand-in for Athena differs from Trino, and why: the local engine must still agree with
#: Trino on them.
DUCKDB_STAND_IN_DIFFERS = {
    "point-duplicate-keys": "DuckDB's cast of JSON to JSON[] keeps a point's text, so its first key wins",
}

#: (case, point_index) -> (metric_time, step, value) that the rules give; NULL is None.
EXPECTED_POINTS: dict[str, tuple[datetime | None, int | None, float | None]] = {
    "iso-offset": (datetime(2024, 5, 1, 10), 1, 0.5),
    "iso-offset-minutes": (datetime(2024, 5, 1, 17, 30), 1, 0.5),
    "iso-offset-compact": (datetime(2024, 5, 1, 10), 1, 0.5),
    "iso-offset-hours": (datetime(2024, 5, 1, 10), 1, 0.5),
    "iso-no-zone": (datetime(2024, 5, 1, 12), 1, 0.5),
    "iso-space": (datetime(2024, 5, 1, 12), 1, 0.5),
    "iso-no-seconds": (datetime(2024, 5, 1, 12), 1, 0.5),
    "iso-fraction-long": (datetime(2024, 5, 1, 12, 0, 0, 123000), 1, 0.5),
    "iso-fraction-round": (datetime(2024, 5, 1, 12, 0, 1), 1, 0.5),
    "iso-basic": (None, 1, 0.5),
    "iso-week": (None, 1, 0.5),
    "iso-date-offset": (None, 1, 0.5),
    "iso-hour-24": (None, 1, 0.5),
    "iso-leap-second": (None, 1, 0.5),
    "iso-feb-30": (None, 1, 0.5),
    "iso-lowercase": (None, 1, 0.5),
    "iso-year-0": (None, 1, 0.5),
    "iso-year-1": (datetime(1, 1, 1), 1, 0.5),
    "iso-year-9999": (datetime(9999, 12, 31, 23, 59, 59, 999000), 1, 0.5),
    "iso-year-1-offset": (None, 1, 0.5),
    "time-1e20": (None, 1, 0.5),
    "time-1e300": (None, 1, 0.5),
    "time-nan-string": (None, 1, 0.5),
    "time-NaN-string": (None, 1, 0.5),
    "time-inf-string": (None, 1, 0.5),
    "time-Infinity-string": (None, 1, 0.5),
    "time-400-digits": (None, 1, 0.5),
    "time-big-seconds-read-as-ms": (datetime(1978, 1, 11, 21, 31, 40, 800000), 1, 0.5),  # >= 1e11: ms
    "time-ms-year-10000": (None, 1, 0.5),
    "time-seconds-year-0": (None, 1, 0.5),
    "time-ms-boundary-below": (datetime(5138, 11, 16, 9, 46, 39), 1, 0.5),
    "time-ms-boundary": (datetime(1973, 3, 3, 9, 46, 40), 1, 0.5),
    "time-negative-half": (datetime(1969, 12, 31, 23, 59, 58, 999000), 1, 0.5),
    "time-seconds-string": (datetime(2024, 5, 1, 23, 50, 0, 250000), 1, 0.5),
    "time-exponent": (datetime(2024, 5, 1, 23, 50), 1, 0.5),
    "time-exponent-string": (datetime(2024, 5, 1, 23, 50), 1, 0.5),
    "time-bool": (None, 1, 0.5),
    "time-object": (None, 1, 0.5),
    "time-half-ms": (datetime(2024, 5, 1, 23, 50, 0, 1000), 1, 0.5),
    "time-ms-fraction": (datetime(2024, 5, 1, 23, 50, 0, 1000), 1, 0.5),
    "time-unicode-digits": (None, 1, 0.5),
    "step-17-digits-string": (datetime(2024, 5, 1, 23, 50), 12345678901234567, 0.5),
    "step-float-2-52": (datetime(2024, 5, 1, 23, 50), 4503599627370497, 0.5),
    "step-just-below-half": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-int64-max-string": (datetime(2024, 5, 1, 23, 50), 9223372036854775807, 0.5),
    "step-int64-overflow": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-negative": (datetime(2024, 5, 1, 23, 50), -7, 0.5),
    "step-huge-negative": (datetime(2024, 5, 1, 23, 50), -(2**63), 0.5),
    "step-fraction": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-integral-float": (datetime(2024, 5, 1, 23, 50), 5, 0.5),
    "step-exponent": (datetime(2024, 5, 1, 23, 50), 100, 0.5),
    "step-exponent-2-53": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-unicode-digits": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-bool": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-string-spaces": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-leading-zero": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "step-400-digits": (datetime(2024, 5, 1, 23, 50), None, 0.5),
    "value-string": (datetime(2024, 5, 1, 23, 50), 1, 0.25),
    "value-exponent": (datetime(2024, 5, 1, 23, 50), 1, 1.5e-3),
    "value-exponent-string": (datetime(2024, 5, 1, 23, 50), 1, 1000.0),
    "value-nan-string": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-infinity-string": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-minus-infinity-string": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-1e400-string": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-400-digits": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-bool": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-negative-zero": (datetime(2024, 5, 1, 23, 50), 1, -0.0),
    "value-hex-string": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-java-suffix": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-plus-sign": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-spaces": (datetime(2024, 5, 1, 23, 50), 1, None),
    "value-unicode-digits": (datetime(2024, 5, 1, 23, 50), 1, None),
}


def hostile_bucket(root: Path, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> list[Path]:
    """Write the cases (``only`` these, if given; none of ``skip``) in the bucket layout (one file per case and
    delivery day; copies that a case puts in one day share a file); returns the files."""
    files: list[Path] = []
    wanted, unwanted = (set(only) if only is not None else None), set(skip)
    for case, events in cases().items():
        if (wanted is not None and case not in wanted) or case in unwanted:
            continue
        by_day: dict[str, list[dict[str, Any]]] = {}
        for day, record in events:
            by_day.setdefault(day, []).append(record)
        for day, records in by_day.items():
            stamp = day.replace("/", "") + "T2355Z"
            path = root / log_key(ACCOUNT, REGION, day, stamp, case)
            path.parent.mkdir(parents=True, exist_ok=True)
            # (json.dumps would refuse NaN; none is written: every odd number here is valid JSON)
            text = re.sub(r'"@@raw:([^@]+)@@"', r"\1", json.dumps({"Records": records}, allow_nan=False))
            path.write_bytes(gzip.compress(text.encode()))
            files.append(path)
    return files
