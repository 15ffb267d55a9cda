"""The reader's pre-filter on bytes: a file is looked at as bytes before it is decoded, and one that cannot hold a
metric call is only checked for being a CloudTrail log. JSON may spell any letter with an escape
(``BatchPutMetric\\u0073``): such a call is never lost, and a file of other traffic with the usual escapes
(``\\u003c``, ``\\"``) stays on the fast path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from smtrail_sql.reader import decode, discover_log_files, read_log_files
from smtrail_sql.schema import METRICS_EVENT_NAME
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key

POINT = {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.5}
NOISE = {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": "n-1",
         "eventTime": "2024-05-01T12:00:00Z", "requestParameters": {"key": "a<b>&c\u00e9", "policy": '{"a": "b"}'}}


def _write(root: Path, name: str, text: str) -> None:
    path = root / log_key(ACCOUNT, REGION, "2024/05/01", name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()))


def _log(call: str) -> str:
    """A log of other traffic (escapes as Go's encoder writes them: ``<`` as ``\\u003c``) around ``call``."""
    noise = json.dumps(NOISE).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return '{"Records": [' + ", ".join([noise, call, noise]) + "]}"


def _escaped(text: str, index: int, upper: bool) -> str:
    code = f"\\u{ord(text[index]):04X}" if upper else f"\\u{ord(text[index]):04x}"
    return text[:index] + code + text[index + 1:]


def _read(root: Path, columns: set[str] | None) -> list[tuple[str, float]]:
    result = read_log_files(discover_log_files(root).files, columns=columns)
    assert not result.skipped
    return sorted((p["event_id"], p["value"]) for p in result.points.to_pylist())


@pytest.mark.parametrize("columns", [None, {"trial_component", "metric_name", "value", "step"}])
def test_an_event_name_spelt_with_any_escape_is_read(tmp_path: Path, columns: set[str] | None) -> None:
    call = json.dumps(batch_put_metrics("e-x", "2024-05-01T12:00:00Z", [POINT]))
    quoted = f'"{METRICS_EVENT_NAME}"'
    expected = []
    for index in range(len(METRICS_EVENT_NAME)):
        for upper in (False, True):
            event_id = f"e-{index}-{'U' if upper else 'l'}"
            spelt = call.replace(quoted, f'"{_escaped(METRICS_EVENT_NAME, index, upper)}"')
            assert quoted not in spelt
            _write(tmp_path, f"20240501T12{index:02d}Z{'U' if upper else 'l'}", _log(spelt.replace("e-x", event_id)))
            expected.append((event_id, 0.5))
    assert _read(tmp_path, columns) == sorted(expected)


@pytest.mark.parametrize("key", ["eventName", "eventSource", "requestParameters", "metricData", "value"])
def test_a_key_spelt_with_an_escape_is_read(tmp_path: Path, key: str) -> None:
    call = json.dumps(batch_put_metrics("e-key", "2024-05-01T12:00:00Z", [POINT]))
    spelt = call.replace(f'"{key}"', f'"{_escaped(key, 1, False)}"', 1)
    assert spelt != call
    _write(tmp_path, "20240501T1200Z", _log(spelt))
    if key == "eventName":  # and the name too: nothing in the file spells it out
        _write(tmp_path, "20240501T1205Z", _log(spelt.replace(f'"{METRICS_EVENT_NAME}"', '"BatchPutMetric\\u0073"')
                                                     .replace("e-key", "e-both")))
    expected = [("e-both", 0.5)] if key == "eventName" else []
    assert _read(tmp_path, None) == sorted([("e-key", 0.5), *expected])


def test_a_file_of_other_traffic_with_the_usual_escapes_is_not_decoded_as_plain_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``\\u003c`` can spell no letter of the event name: the file is only outlined, never read value by value."""
    _write(tmp_path, "20240501T1200Z", _log(json.dumps(NOISE)))

    def refused(*args: object) -> None:
        raise AssertionError("read by the generic path")

    monkeypatch.setattr(decode, "extract_generic", refused)
    result = read_log_files(discover_log_files(tmp_path).files)
    assert not result.skipped and result.calls.num_rows == 0
    # an escape of a letter anywhere sends it to the generic path, which finds no call in it either
    monkeypatch.undo()
    _write(tmp_path, "20240501T1205Z", _log(json.dumps(NOISE).replace("GetObject", "GetObjec\\u0074")))
    result = read_log_files(discover_log_files(tmp_path).files)
    assert not result.skipped and result.calls.num_rows == 0
