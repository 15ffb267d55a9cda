"""estimate and sync against S3 buckets (moto over HTTP) filled with real-layout CloudTrail objects."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from smtrail_sql.aws.estimate import estimate_scan
from smtrail_sql.aws.pricing import scan_cost_usd
from smtrail_sql.aws.session import make_client, make_session
from smtrail_sql.aws.sync import PARTIAL_SUFFIX, sync_logs
from smtrail_sql.errors import EngineError
from smtrail_sql.settings import LogLocation
from smtrail_sql.window import TimeWindow
from tests.aws.conftest import MotoAws
from tests.aws.trail_logs import LogFile, digest_file, log_file, put_all

BUCKET = "trail-logs"
A, B = "111111111111", "222222222222"
DAYS = [date(2024, 5, 1) + timedelta(days=i) for i in range(6)]  # 05-01 .. 05-06
WINDOW = TimeWindow.parse(since="2024-05-02", until="2024-05-03T06:00:00Z")  # delivery days 05-02 .. 05-04


def fill_bucket(moto: MotoAws, prefix: str = "", org_id: str | None = None) -> list[LogFile]:
    """Two accounts x two regions x six days of log files (two a day for account A in us-east-1, one a day
    elsewhere) and A's digests; returns the files of account A in us-east-1 that the window reads."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    everything: list[LogFile] = []
    expected: list[LogFile] = []
    serial = 0
    for account in (A, B):
        for region in ("us-east-1", "eu-west-1"):
            focus = account == A and region == "us-east-1"
            for day in DAYS:
                for _ in range(2 if focus else 1):
                    serial += 1
                    f = log_file(account, region, day, serial, 1 + serial % 3, prefix=prefix, org_id=org_id)
                    everything.append(f)
                    if focus and WINDOW.may_contain_day(day):
                        expected.append(f)
                if account == A:
                    everything.append(digest_file(account, region, day, prefix=prefix))
    put_all(s3, BUCKET, everything)
    return expected


@pytest.mark.parametrize(("prefix", "org_id"), [("", None), ("audit/trails", None), ("", "o-abcdef1234")])
def test_estimate_counts_exactly_the_window_partitions(moto: MotoAws, prefix: str, org_id: str | None) -> None:
    expected = fill_bucket(moto, prefix, org_id)
    s3 = make_client(make_session(), "s3")
    estimate = estimate_scan(s3, LogLocation.create(BUCKET, prefix or None, org_id), [A], ["us-east-1"], WINDOW)
    assert len(expected) == 6  # 3 delivery days x 2 files
    assert estimate.files == len(expected)
    assert estimate.bytes == sum(len(f.body) for f in expected)
    assert (estimate.partitions, estimate.partitions_with_data) == (3, 3)
    assert estimate.cost_usd == scan_cost_usd(estimate.bytes)
    assert "6 files" in estimate.describe()


def test_estimate_of_every_account_and_region_and_all_time(moto: MotoAws) -> None:
    fill_bucket(moto)
    s3 = make_client(make_session(), "s3")
    location = LogLocation.create(BUCKET)
    both = estimate_scan(s3, location, [A, B], ["us-east-1", "eu-west-1"], WINDOW)
    assert (both.files, both.partitions) == (3 * 2 + 3 * 3, 12)  # 3 delivery days, 2 files a day in A/us-east-1
    forever = estimate_scan(s3, location, [A, B], ["us-east-1", "eu-west-1"], TimeWindow.all_time())
    assert forever.files == 6 * 2 + 6 * 3  # every log file, no digest
    since_only = estimate_scan(s3, location, [A], ["us-east-1"], TimeWindow(WINDOW.start, None))
    assert since_only.files == 2 * 5  # 05-02 .. 05-06


def test_estimate_of_an_empty_window_is_the_athena_minimum(moto: MotoAws) -> None:
    fill_bucket(moto)
    s3 = make_client(make_session(), "s3")
    window = TimeWindow.parse(since="2023-01-01", until="2023-01-02")
    estimate = estimate_scan(s3, LogLocation.create(BUCKET), [A], ["us-east-1"], window)
    assert (estimate.files, estimate.bytes, estimate.partitions_with_data) == (0, 0, 0)
    assert estimate.cost_usd == pytest.approx(10 * 2**20 / 2**40 * 5)


def test_estimate_of_a_missing_bucket_is_a_clear_error(moto: MotoAws) -> None:
    s3 = make_client(make_session(), "s3")
    with pytest.raises(EngineError, match="cannot list s3://no-such-bucket/.*NoSuchBucket"):
        estimate_scan(s3, LogLocation.create("no-such-bucket"), [A], ["us-east-1"], WINDOW)


def local_files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


class Recorder:
    """A SyncProgress that can interrupt the sync like Ctrl-C after some files."""

    def __init__(self, interrupt_after: int | None = None) -> None:
        self.planned_files = self.bytes = 0
        self.done: list[tuple[str, bool]] = []
        self.interrupt_after = interrupt_after

    def planned(self, files: int, total_bytes: int) -> None:
        self.planned_files = files

    def advanced(self, nbytes: int) -> None:
        self.bytes += nbytes

    def file_done(self, obj: object, skipped: bool) -> None:
        self.done.append((obj.key, skipped))
        if self.interrupt_after is not None and len(self.done) >= self.interrupt_after:
            raise KeyboardInterrupt


def test_sync_downloads_the_window_into_the_bucket_layout(moto: MotoAws, tmp_path: Path) -> None:
    expected = fill_bucket(moto, prefix="audit")
    s3 = make_client(make_session(), "s3")
    progress = Recorder()
    result = sync_logs(s3, LogLocation.create(BUCKET, "audit"), [A], ["us-east-1"], WINDOW, tmp_path, progress=progress)
    assert local_files(tmp_path) == {f.key: f.body for f in expected}
    assert all(k.startswith(f"audit/AWSLogs/{A}/CloudTrail/us-east-1/2024/05/0") for k in local_files(tmp_path))
    assert (result.files, result.downloaded, result.skipped) == (6, 6, 0)
    assert progress.planned_files == 6 and progress.bytes == result.total_bytes
    first = json.loads(gzip.decompress((tmp_path / expected[0].key).read_bytes()))
    assert first["Records"][0]["eventName"] == "BatchPutMetrics"


def test_interrupted_sync_leaves_no_partial_file_and_resumes(moto: MotoAws, tmp_path: Path) -> None:
    expected = fill_bucket(moto)
    s3 = make_client(make_session(), "s3")
    location = LogLocation.create(BUCKET)
    with pytest.raises(KeyboardInterrupt):
        sync_logs(
            s3,
            location,
            [A],
            ["us-east-1"],
            WINDOW,
            tmp_path,
            progress=Recorder(interrupt_after=2),
            workers=1,
        )
    partial = local_files(tmp_path)
    assert 2 <= len(partial) < len(expected)
    assert not [k for k in partial if k.endswith(PARTIAL_SUFFIX)]
    bodies = {f.key: f.body for f in expected}
    assert all(bodies[k] == v for k, v in partial.items())  # what is there is complete

    progress = Recorder()
    resumed = sync_logs(s3, location, [A], ["us-east-1"], WINDOW, tmp_path, progress=progress)
    assert local_files(tmp_path) == bodies
    assert resumed.skipped == len(partial)
    assert resumed.downloaded == len(expected) - len(partial)
    again = sync_logs(s3, location, [A], ["us-east-1"], WINDOW, tmp_path)
    assert (again.downloaded, again.skipped) == (0, len(expected))


def test_failure_mid_file_leaves_no_partial_file(moto: MotoAws, tmp_path: Path) -> None:
    expected = fill_bucket(moto)
    s3 = make_client(make_session(), "s3")

    class DiesMidFile(Recorder):
        def advanced(self, nbytes: int) -> None:
            if nbytes < sum(len(f.body) for f in expected):  # a chunk arriving from S3, not a skip
                raise ConnectionResetError("connection lost mid-file")

    with pytest.raises(ConnectionResetError):
        sync_logs(s3, LogLocation.create(BUCKET), [A], ["us-east-1"], WINDOW, tmp_path, progress=DiesMidFile())
    assert local_files(tmp_path) == {}


def test_a_wrong_size_file_on_disk_is_fetched_again(moto: MotoAws, tmp_path: Path) -> None:
    expected = fill_bucket(moto)
    s3 = make_client(make_session(), "s3")
    truncated = tmp_path / expected[0].key
    truncated.parent.mkdir(parents=True)
    truncated.write_bytes(expected[0].body[:10])
    stale = truncated.parent / f".{truncated.name}.dead{PARTIAL_SUFFIX}"
    stale.write_bytes(b"left by a killed sync")
    result = sync_logs(s3, LogLocation.create(BUCKET), [A], ["us-east-1"], WINDOW, tmp_path)
    assert result.downloaded == len(expected)
    assert truncated.read_bytes() == expected[0].body
    assert not stale.exists()
