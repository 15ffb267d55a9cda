"""The C scanner (``smtrail_sql/reader/_scan.c``) gives exactly the Python paths' lists for every file it takes,
and declines the rest: on the usual files, the hostile corpus, random damage to real logs, and random numbers.

Lists are compared value by value with their types, a float by its ``repr`` (``-0.0`` is not ``0.0``). CI builds
the scanner and sets ``SMTRAIL_REQUIRE_NATIVE=1``: there, a package installed without it fails these tests rather
than skipping them.
"""

from __future__ import annotations

import itertools
import json
import marshal
import os
import random
import subprocess
import sys
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from smtrail_sql.demo import write_sample_bucket
from smtrail_sql.reader import decode, native, rules
from smtrail_sql.reader.layout import LogFile, discover_log_files
from smtrail_sql.reader.lists import FileLists
from smtrail_sql.reader.shapes import Point
from tests.events import ACCOUNT, REGION, batch_put_metrics
from tests.hostile import hostile_bucket

ROOT = Path(__file__).resolve().parent.parent
LOG = LogFile("/b/AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/x.json", 0, 0, ACCOUNT, REGION, "2024/05/01")


def _built() -> bool:
    try:
        import smtrail_sql.reader._scan  # noqa: F401
    except ImportError:
        return False
    return True


if not _built() and os.environ.get("SMTRAIL_REQUIRE_NATIVE") != "1":
    pytest.skip("the C scanner is not built here (no C compiler at install)", allow_module_level=True)


def _python_lists(data: bytes, log: LogFile = LOG) -> FileLists:
    loaded, scan = native._loaded, native._scan
    native._loaded, native._scan = True, None
    try:
        return decode._extract_json(data, log)
    finally:
        native._loaded, native._scan = loaded, scan


def _agrees(data: bytes, log: LogFile = LOG) -> bool:
    """Whether the scanner takes ``data``; asserts it then gives the Python paths' very lists."""
    scanned = native.scan(data, log)
    if scanned is None:
        return False
    expected = _python_lists(data, log)
    assert expected.skip_reason is None, f"the scanner took a file the Python paths skip: {expected.skip_reason}"
    assert _exactly(scanned.unpacked()) == _exactly(expected)
    return True


def _exactly(lists: FileLists) -> list[object]:
    """Every value of ``lists`` with its type, a float by its ``repr`` (``-0.0`` is not ``0.0``)."""
    columns = [*lists.calls.values(), lists.call_points, lists.names, lists.values, lists.steps, lists.point_times]
    return [lists.events, lists.typed, list(lists.calls), *[[(type(v).__name__, repr(v)) for v in c] for c in columns]]


def test_the_scanner_is_built_from_this_source_and_used() -> None:
    from smtrail_sql.reader import _scan

    digest = f'{zlib.crc32((ROOT / "smtrail_sql" / "reader" / "_scan.c").read_bytes()):08x}'
    assert _scan.SOURCE_DIGEST == digest, "the C scanner is older than its source: pip install -e . again"
    assert native.scanner() is _scan.scan


def test_it_is_not_used_when_turned_off() -> None:
    code = "from smtrail_sql.reader import native; print(native.scanner())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, native.NATIVE_ENV: "0"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_the_demo_bucket_is_read_by_the_scanner_as_by_python(tmp_path: Path) -> None:
    write_sample_bucket(tmp_path / "bucket")
    logs = discover_log_files(tmp_path / "bucket").files
    taken = [_agrees(decode.inflate(Path(log.path).read_bytes()), log) for log in logs]  # type: ignore[arg-type]
    assert len(taken) > 20
    assert sum(taken) >= len(taken) * 0.9, "the usual files should not be declined"


def test_hostile_files_agree_or_are_declined(tmp_path: Path) -> None:
    paths = hostile_bucket(tmp_path / "bucket")
    logs = discover_log_files(tmp_path / "bucket").files
    taken = 0
    for log in logs:
        raw = Path(log.path).read_bytes()
        data = decode.inflate(raw) if raw[:2] == b"\x1f\x8b" else raw
        if isinstance(data, bytes) and data.strip():
            taken += _agrees(data, log)
    assert paths and taken  # (some of the corpus is usual enough to be taken)


def _log(records: list[str]) -> bytes:
    return ('{"Records":[' + ",".join(records) + "]}").encode()


def _call(event_id: str, points: list[dict[str, object]] | None = None, **fields: object) -> str:
    record = batch_put_metrics(event_id, "2024-05-01T12:00:00Z",
                               points if points is not None else [{"metricName": "loss", "timestamp": 1714564790000,
                                                                    "step": 1, "value": 0.5}])
    record.update(fields)
    return json.dumps(record)


NOISE = json.dumps({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": "n",
                    "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/s"},
                    "requestParameters": {"bucketName": "b", "key": "k"},
                    "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}]})


@pytest.mark.parametrize("text", [
    _call("plain"),
    _call("failed", errorCode="ValidationException", errorMessage="no \"such\" thing\n"),
    _call("no-points", points=[]),
    _call("odd-points", points=[{"metricName": None, "timestamp": "2024-05-01T12:00:00.5Z", "step": None,
                                 "value": None}, {}, {"value": -0.0, "timestamp": 1714564790.25, "step": -3}]),
    _call("string-parameters", requestParameters='{"metricData": []}'),
    _call("no-id", eventID=None),
    _call("case", EventName="BatchPutMetrics"),
    _call("twice").replace('"eventID": "twice"', '"eventID": "a", "eventID": "b"'),
    _call("escaped-letter").replace('"loss"', '"\\u006coss"'),
    _call("escaped-quote").replace('"loss"', '"lo\\"ss\\\\"'),
    _call("name-in-a-value", errorMessage='not "BatchPutMetrics"'),
    _call("number-id", eventID=5),
    _call("string-step").replace('"step": 1', '"step": "1"'),
    _call("float-step").replace('"step": 1', '"step": 1.0'),
    _call("big-step").replace('"step": 1', '"step": 123456789012345678901'),
    _call("identity-text", userIdentity="me"),
    _call("resources-both", resources=[{"type": "AWS::SageMaker::ExperimentTrialComponent", "ARN": "a", "arn": "b"}]),
    _call("resources-lower", resources=[{"type": "AWS::SageMaker::ExperimentTrialComponent", "arn": "a"}]),
    _call("resources-none", resources=[]),
    _call("other-source", eventSource="example.com"),
    _call("unicode-agent", userAgent="caf\u00e9"),
    _call("raw-unicode").replace('"loss"', '"caf\u00e9"'),
])
def test_each_kind_of_call_agrees_or_is_declined(text: str) -> None:
    _agrees(_log([NOISE, text, NOISE]))


def test_the_usual_calls_are_taken() -> None:
    assert _agrees(_log([NOISE, _call("a"), NOISE, _call("b", errorCode="X")]))
    assert _agrees(_log([NOISE] * 3))  # a file without a metric call
    assert _agrees(_log([]))


#: What damage does to a log: bytes that JSON gives meaning to, and pieces that break the usual shape.
_DAMAGE = [b'"', b"\\", b",", b":", b"{", b"}", b"[", b"]", b"0", b"-", b"e", b".", b" ", b"\x00", b"\xc3\xa9",
           b"\\u0041", b"\\u00e9", b"\\ud800", b"null", b"true", b"1e999", b"12345678901234567890", b'"x"',
           b"BatchPutMetrics", b'"BatchPutMetrics"', b"Arn", b"EventID", b"metricdata"]


@pytest.mark.parametrize("seed", range(6))
def test_random_damage_to_real_logs_agrees_or_is_declined(seed: int) -> None:
    rng = random.Random(seed)
    calls = [_call(f"c{i}", [{"metricName": rng.choice(["loss", "acc"]), "timestamp": rng.choice(
        [1714564790000, 1714564790.5, "2024-05-01T12:00:00Z"]), "step": rng.randrange(-5, 10**6),
        "value": rng.uniform(-1e6, 1e6)} for _ in range(rng.randrange(0, 5))]) for i in range(4)]
    base = _log([NOISE, *calls, NOISE])
    taken = 0
    for _ in range(250):
        data = bytearray(base)
        for _ in range(rng.randrange(1, 3)):
            at = rng.randrange(len(data))
            piece = rng.choice(_DAMAGE)
            if rng.random() < 0.5:
                data[at:at + len(piece)] = piece
            else:
                data[at:at] = piece
        if rng.random() < 0.2:  # a key in another case
            data = bytearray(bytes(data).replace(rng.choice([b'"eventID"', b'"metricName"', b'"arn"', b'"type"']),
                                                 rng.choice([b'"EventId"', b'"MetricName"', b'"ARN"', b'"Type"']), 1))
        taken += _agrees(bytes(data))
    assert taken  # (damage that keeps a log valid is taken: the comparison ran)


def _numbers(rng: random.Random) -> Iterator[str]:
    digits = "0123456789"
    for _ in range(3000):
        whole = rng.choice(["0", str(rng.randrange(1, 10)) + "".join(rng.choices(digits, k=rng.randrange(0, 18)))])
        text = rng.choice(["", "-"]) + whole
        if rng.random() < 0.7:
            text += "." + "".join(rng.choices(digits, k=rng.randrange(1, 25)))
        if rng.random() < 0.4:
            text += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randrange(0, 99))
        yield text
    yield from ["0", "-0", "-0.0", "0e5", "1e22", "1e23", "9007199254740993", "123456789012345678",
                "0.1", "2.2250738585072014e-308"[:22], "4.9e-99", "1.7976931348623157e+99", "0.000001"]


def test_numbers_are_read_as_msgspec_reads_them() -> None:
    rng = random.Random(7)
    points = list(_numbers(rng))
    decoder = msgspec.json.Decoder(Point)
    for text in points:
        record = _call("n", [{"metricName": "m", "step": 1}]).replace('"step": 1', f'"step": 1, "value": {text}, '
                                                                                 f'"timestamp": {text}')
        scanned = native.scan(_log([record]), LOG)
        if scanned is None:
            assert "e" in text.lower() or len(text) > 40 or len(text.split(".")[0].lstrip("-")) > 18, text
            continue
        expected = decoder.decode(f'{{"value": {text}}}'.encode()).value
        unpacked = scanned.unpacked()
        assert str(unpacked.values[0]) == str(expected) and unpacked.point_times == [expected], text


def _tables_agree(parts: list[FileLists]) -> None:
    """Packed points and calls make the very Arrow rows (dictionaries included) that their lists make, whether
    the scanner's ``unify`` ranks the calls' texts or Python does (where the scanner is not used)."""
    from smtrail_sql.reader.tables import build_tables

    points, calls = build_tables([part.unpacked() for part in parts])
    for unify in (native._unify, None):
        saved, native._unify = native._unify, unify
        try:
            packed_points, packed_calls = build_tables(parts)
        finally:
            native._unify = saved
        assert packed_points.equals(points) and packed_calls.equals(calls)
        assert packed_points.num_rows == sum(part.point_count for part in parts)
        assert packed_calls.num_rows == sum(part.call_count for part in parts)


def test_packed_lists_survive_the_cache_and_an_older_entry_is_not_read() -> None:
    scanned = native.scan(_log([NOISE, _call("a", errorCode="X", errorMessage="m\n\"q\""), _call("b")]), LOG)
    assert scanned is not None and scanned.packed_calls is not None and scanned.call_count == 2
    assert FileLists.loads(scanned.dumps()) == scanned
    assert FileLists.loads(scanned.dumps()).unpacked() == scanned.unpacked()
    older = marshal.dumps((5, *marshal.loads(scanned.dumps())[1:-1]))
    with pytest.raises(ValueError, match="another format"):
        FileLists.loads(older)


def test_unify_ranks_the_files_texts_by_first_appearance() -> None:
    import smtrail_sql.reader._scan as module

    def packed(*texts: str) -> tuple[bytes, bytes]:
        ends = list(itertools.accumulate(len(text) for text in texts))
        return array("i", ends).tobytes(), "".join(texts).encode()

    mapping, ends, texts = module.unify([packed("b", "a", ""), packed(), packed("a", "c", "b", "")])
    assert array("i", mapping).tolist() == [0, 1, 2, 1, 3, 0, 2]
    assert array("i", ends).tolist() == [1, 2, 2, 3] and texts == b"bac"
    for bad in ([(b"\x05\0\0\0", b"abc")], [(b"\1\0\0", b"a")], [("x", b"a")], [(b"",)], 5):
        with pytest.raises((ValueError, TypeError)):
            module.unify(bad)


def test_packed_points_make_the_rows_of_their_lists(tmp_path: Path) -> None:
    write_sample_bucket(tmp_path / "bucket")
    hostile_bucket(tmp_path / "bucket")
    parts = []
    for log in discover_log_files(tmp_path / "bucket").files:
        raw = Path(log.path).read_bytes()
        data = decode.inflate(raw) if raw[:2] == b"\x1f\x8b" else raw
        if isinstance(data, bytes) and data.strip():
            parts.append(native.scan(data, log) or _python_lists(data, log))  # (declined: the Python paths')
    assert sum(part.packed is not None for part in parts) > 20
    for size in (1, 3, 16):  # groups all packed, and groups with some lists (then all are lists)
        for start in range(0, len(parts), size):
            _tables_agree(parts[start:start + size])


@pytest.mark.parametrize("times", [
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.250Z", "2024-05-01 12:00:00", "2024-05-01T12:00:00.123456Z",
     "not a time", "2024-02-30T00:00:00Z", None],
    [1714564790000, 1714564790.5, 1714564790, -1, 0, 1e15, None],
    ["2024-05-01T12:00:00Z", 1714564790000, None, "20240501"],
])
def test_packed_times_follow_the_time_rule_as_lists_do(times: list[object]) -> None:
    points = [{"metricName": f"m{i % 3}", "timestamp": t, "step": i, "value": i / 3} for i, t in enumerate(times)]
    parts = [native.scan(_log([NOISE, _call(f"t{i}", points)]), LOG) for i in range(2)]
    assert all(part is not None and part.packed is not None for part in parts)
    _tables_agree([part for part in parts if part is not None])


def test_every_cut_of_a_log_is_declined_and_only_bytes_are_taken() -> None:
    """A log cut anywhere is not JSON: declined, whatever byte the cut falls after (found in review: a cut right
    after a colon, a bracket or a comma was looked one byte past)."""
    data = _log([NOISE, _call("a"), _call("b", errorCode="X")])
    assert _agrees(data)
    for size in range(len(data)):
        assert native.scan(data[:size], LOG) is None, data[:size][-20:]
    with pytest.raises(TypeError):
        native.scanner()(bytearray(data), ACCOUNT, REGION, "2024/05/01")


def test_a_file_without_a_partition_is_left_to_python_when_it_names_the_event() -> None:
    """(found in review) With the name in it, such a file is read generically by the Python paths."""
    nowhere = LogFile("/x/y.json", 0, 0, None, None, None)
    assert not _agrees(b'{"Records":[{"eventName":"BatchPutMetrics","eventSource":"x"}]}', nowhere)
    assert _agrees(_log([NOISE]), nowhere)  # (without it, the partition does not matter)


def test_an_empty_text_time_is_kept() -> None:
    assert _agrees(_log([_call("t", [{"timestamp": "", "value": 1}, {"timestamp": "2024-05-01T12:00:00Z"}])]))


#: The keys the scanner looks for (the structs' fields), of 3 to 26 letters: its lookup compares a key with them
#: 8 bytes at a time, so each length around a word's end is here.
_FIELD_KEYS = ["metricName", "timestamp", "step", "value", "trialComponentName", "metricData", "arn", "type", "ARN",
               "eventSource", "eventName", "eventTime", "eventID", "awsRegion", "recipientAccountId", "errorCode",
               "errorMessage", "userAgent", "sourceIPAddress", "userIdentity", "requestParameters", "resources",
               "Records", "digestPublicKeyFingerprint"]


def _key_variants(key: str) -> Iterator[str]:
    """``key`` with each letter in the other case in turn, one letter longer and shorter, its last letter a
    byte that differs from it by more than its case."""
    for at, letter in enumerate(key):
        yield key[:at] + letter.swapcase() + key[at + 1:]
    yield key + "s"
    yield key[:-1]
    yield key[:-1] + chr(ord(key[-1]) ^ 0x60)


def test_every_key_in_another_case_agrees_or_is_declined() -> None:
    """Each field's key, wherever it is in a log, spelt in another case or nearly: the scanner gives the Python
    paths' lists or declines; a field spelt in another case where it is looked for is always declined."""
    data = _log([NOISE, _call("a", errorCode="X", errorMessage="m"), _call("b")])
    data = data[:-1] + b', "digestPublicKeyFingerprint": "f"}'
    assert _agrees(data)
    declined = 0
    for key in _FIELD_KEYS:
        quoted = f'"{key}"'.encode()
        assert quoted in data, key
        start = data.find(quoted)
        while start >= 0:
            for variant in _key_variants(key):
                changed = data[:start] + f'"{variant}"'.encode() + data[start + len(quoted):]
                declined += not _agrees(changed)
                cut = changed[:start + len(variant) + 2]  # (the log ends with the key: no word past it)
                assert native.scan(cut, LOG) is None
            start = data.find(quoted, start + 1)
    assert declined > len(_FIELD_KEYS)


def _random_times(rng: random.Random, count: int) -> list[str]:
    """Texts near CloudTrail's form of a time: its digits random (months past 12, days past the month's, leap
    days, hours past 23, years 0 and 9999), a separator or a letter changed now and then."""
    times = []
    for _ in range(count):
        year = rng.choice([0, 1, 1969, 1970, 2000, 2023, 2024, 2100, 9999, rng.randrange(10000)])
        text = (f"{year:04d}-{rng.randrange(14):02d}-{rng.randrange(33):02d}T{rng.randrange(25):02d}:"
                f"{rng.randrange(61):02d}:{rng.randrange(61):02d}" + rng.choice(["Z", f".{rng.randrange(1000):03d}Z"]))
        if rng.random() < 0.2:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice("T -:.Zx9/") + text[at + 1:]
        times.append(text)
    return times


@pytest.mark.parametrize("seed", range(3))
def test_times_in_cloudtrails_form_are_read_as_the_rule_reads_them(seed: int) -> None:
    """Event and point times near CloudTrail's form, which the scanner reads itself: the rows of the lists."""
    rng = random.Random(seed)
    times = _random_times(rng, 400)
    assert sum(rules.time_millis(t) is not None for t in times) > 50  # (many are times: both sides are tried)
    calls = [_call(f"t{i}", [{"metricName": "m", "timestamp": times[-1 - i], "step": i, "value": 1}],
                   eventTime=time) for i, time in enumerate(times)]
    escaped = '"eventTime": "2024-05-01T12:00:0\\\\u0030Z"'  # (escaped: left to the rule in Python)
    calls.append(_call("escaped").replace('"eventTime": "2024-05-01T12:00:00Z"', escaped))
    parts = [native.scan(_log([NOISE, *calls[start:start + 50]]), LOG) for start in range(0, len(calls), 50)]
    assert all(part is not None for part in parts)
    _tables_agree([part for part in parts if part is not None])
