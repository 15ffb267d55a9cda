"""The reader's sparse path: a file whose metric calls are few among other traffic has its records only outlined,
and typed only those that hold the event name (``decode._extract_sparse``). Its rows must be exactly those of the
full decoder, and of the generic path, whatever the file holds: the name as a value of other traffic, in a key
in another case, spelt with an escape, text that is not ASCII, records laid out with spaces."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.reader import decode, discover_log_files, read_log_files
from smtrail_sql.reader.generic import extract_generic
from smtrail_sql.reader.layout import LogFile
from smtrail_sql.reader.lists import FileLists
from smtrail_sql.reader.tables import build_tables
from tests.events import ACCOUNT, REGION, batch_put_metrics
from tests.hostile import hostile_bucket

#: (the C scanner reads these files first, when built: these are the Python paths' tests)
pytestmark = pytest.mark.usefixtures("python_paths_only")

LOG = LogFile("/b/AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/x.json", 0, 0, ACCOUNT, REGION,
              "2024/05/01")
POINT = {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.5}


def _noise(index: int, **fields: Any) -> dict[str, Any]:
    record = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
              "eventID": f"n-{index}", "eventTime": "2024-05-01T12:00:00Z", "awsRegion": REGION,
              "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/r/s"},
              "requestParameters": {"bucketName": "b", "key": f"k/{index}"}, "resources": [{"type": "AWS::S3::Object",
                                                                                           "ARN": "arn:aws:s3:::b/k"}]}
    record.update(fields)
    return record


def _json(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"))


def _trail(*odd: str, calls: int = 3, noise: int = 300, separator: str = ",") -> bytes:
    """A log of ``noise`` records of other traffic with ``calls`` metric calls among them, and the ``odd``
    records (JSON texts) in the middle."""
    records = [_json(_noise(i)) for i in range(noise)]
    for call in range(calls):
        records.insert(call * noise // calls + 7, _json(batch_put_metrics(f"c-{call}", "2024-05-01T12:00:00Z",
                                                                          [POINT, {**POINT, "step": 2}])))
    records[noise // 2:noise // 2] = odd
    return ('{"Records":[' + separator.join(records) + "]}").encode()


def _rows(lists: FileLists) -> tuple[Any, ...]:
    assert lists.skip_reason is None
    points, calls = build_tables([lists])
    return lists.events, points.to_pylist(), calls.to_pylist()


@pytest.fixture
def sparse_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call of the sparse path gave the file's lists (True) or handed it to the full decoder."""
    taken: list[bool] = []
    real = decode._extract_sparse

    def spy(data: bytes, log: LogFile, quoted: int) -> FileLists | None:
        lists = real(data, log, quoted)
        taken.append(lists is not None)
        return lists

    monkeypatch.setattr(decode, "_extract_sparse", spy)
    return taken


@pytest.mark.parametrize("separator", [",", ", ", ",\n  "])
def test_few_calls_among_other_traffic_take_the_sparse_path(sparse_taken: list[bool], separator: str) -> None:
    data = _trail(separator=separator)
    lists = decode.extract_lists(data, LOG)
    assert sparse_taken == [True] and lists.typed
    assert _rows(lists) == _rows(extract_generic(data, LOG))
    assert len(_rows(lists)[1]) == 6  # (three calls of two points: rows were compared, not two empty results)


def _call(event_id: str) -> dict[str, Any]:
    return batch_put_metrics(event_id, "2024-05-01T12:00:00Z", [POINT])


_CASE_KEY = {**{k: v for k, v in _call("c-case").items() if k != "eventName"}, "EventName": "BatchPutMetrics"}
#: Odd records put among the calls, and whether the sparse path reads the file (else the full decoder does).
DECOYS: dict[str, tuple[list[str], bool]] = {
    # the name as a value of other traffic: more quoted names than calls
    "name-as-a-value": ([_json(_noise(900, requestParameters={"action": "BatchPutMetrics"}))], False),
    # a call under a key in another case: the typed structs cannot see it, the rules read it
    "key-in-another-case": ([_json(_CASE_KEY)], False),
    # a call whose name is spelt with an escape holds no quoted name
    "escaped-name": ([_json(_call("c-escaped")).replace('"BatchPutMetrics"', '"BatchPutMetric\\u0073"')], False),
    # the name inside a string of other traffic is not a quoted name
    "name-in-a-string": ([_json(_noise(901, userAgent='tool "BatchPutMetrics" x'))], True),
    # two records with the name side by side
    "adjacent-calls": ([_json(_call("c-adj-0")), _json(_call("c-adj-1"))], True),
    # text that is not ASCII in other traffic: not looked at by the sparse path
    "not-ascii": ([json.dumps(_noise(902, requestParameters={"key": "caf\u00e9"}), ensure_ascii=False)], False),
    # a record that is not an object, holding the name
    "name-as-a-record": (['"BatchPutMetrics"'], False),
}


@pytest.mark.parametrize("decoy", sorted(DECOYS))
def test_the_sparse_path_gives_the_rows_of_the_rules(sparse_taken: list[bool], decoy: str) -> None:
    odd, sparse = DECOYS[decoy]
    data = _trail(*odd)
    lists = decode.extract_lists(data, LOG)
    expected = _rows(extract_generic(data, LOG))
    assert _rows(lists) == expected
    assert sparse_taken == [sparse]
    calls = {c["event_id"] for c in expected[2]}
    assert {"c-0", "c-1", "c-2"} <= calls
    assert ("c-case" in calls) == (decoy == "key-in-another-case")
    assert ("c-escaped" in calls) == (decoy == "escaped-name")


def test_text_that_is_not_utf8_in_other_traffic_is_judged_as_by_the_full_decoder(sparse_taken: list[bool]) -> None:
    """Skipping a value accepts bytes that are not UTF-8 where decoding it refuses them: such a file is never
    read by the sparse path, so the full decoder's answer (the file skipped) stands."""
    data = _trail(_json(_noise(903, eventName="GetObjectX"))).replace(b'"GetObjectX"', b'"GetObject\xff"')
    assert decode.extract_lists(data, LOG).skip_reason == "truncated-json"
    assert sparse_taken == [False]


@pytest.mark.parametrize("compact", [False, True])
def test_every_hostile_case_reads_the_same_through_the_sparse_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sparse_taken: list[bool], compact: bool) -> None:
    """The hostile corpus read with every file taken as sparse, and with none: the same rows, file by file."""
    for path in hostile_bucket(tmp_path):
        if compact:  # (records one comma apart, as CloudTrail writes them: their offsets are computed)
            path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()).replace(b"}, {", b"},{")))
    files = discover_log_files(tmp_path).files

    def read(bytes_per_call: int) -> tuple[Any, ...]:
        monkeypatch.setattr(decode, "SPARSE_BYTES_PER_CALL", bytes_per_call)
        result = read_log_files(files, workers=1)
        return (sorted(result.skipped_paths), sorted(map(repr, result.points.to_pylist())),
                sorted(map(repr, result.calls.to_pylist())))

    never = read(1 << 62)
    assert not sparse_taken
    always = read(0)
    assert always == never and len(never[1]) > 100
    assert sparse_taken.count(True) > len(files) // 2
