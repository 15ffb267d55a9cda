"""A realistic sample of a CloudTrail bucket copy holding SageMaker Experiments metrics.

:func:`write_sample_bucket` writes ``AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz`` files the way
CloudTrail delivers them: ``BatchPutMetrics`` calls of many trial components (loss falling, accuracy rising,
1-10 points per call, timestamps as epoch milliseconds, epoch seconds, fractional seconds and ISO strings,
some points without a step), noise events of other services shaped like real records, a few failed calls,
digest files beside the log folders, one file delivered twice and one delivered two days late (into a later
day's folder), jobs that restart from a checkpoint and log some steps again with other values, and jobs that
send buffered points hours after their own time. The same seed and ``now`` always give the
same bytes, so tests can count what they expect; the benchmark reuses it at scale.

>>> import tempfile
>>> summary = write_sample_bucket(tempfile.mkdtemp(), seed=1, days=1, files_per_day=1, calls_per_file=4)
>>> summary.log_files
5
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smtrail_sql.demo_events import ALNUM, EventWriter
from smtrail_sql.window import aware_utc

#: The file that marks a folder as written by :func:`write_sample_bucket` (so it may be rewritten).
DEMO_MARKER = ".smtrail-demo"
#: Accounts, regions and trail name of the sample (documentation ranges, not real accounts).
DEMO_ACCOUNTS: tuple[str, ...] = ("111122223333", "444455556666")
DEMO_REGIONS: tuple[str, ...] = ("us-east-1", "eu-west-1")
DEMO_TRAIL = "sagemaker-metrics-trail"

@dataclass
class DemoSummary:
    """What :func:`write_sample_bucket` wrote, to check a reader against."""

    root: Path
    log_files: int = 0
    digest_files: int = 0
    duplicate_files: int = 0
    #: Files delivered into a later day's folder than their events' (days late).
    late_files: int = 0
    uncompressed_bytes: int = 0
    events: int = 0
    metric_calls: int = 0
    failed_calls: int = 0
    points: int = 0
    trial_components: set[str] = field(default_factory=set)


def _gzip(data: bytes) -> bytes:
    from isal import igzip

    # mtime=0: the same seed gives the same bytes (gzip headers otherwise carry the current second)
    return igzip.compress(data, compresslevel=1, mtime=0)


def _digest(account: str, region: str, start: datetime, end: datetime, rng: random.Random) -> dict[str, Any]:
    return {
        "awsAccountId": account,
        "digestStartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "digestEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "digestS3Bucket": "demo-trail-bucket",
        "digestS3Object": f"AWSLogs/{account}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/digest.json.gz",
        "digestPublicKeyFingerprint": "".join(rng.choices("0123456789abcdef", k=32)),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "oldestEventTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "previousDigestS3Bucket": None,
        "logFiles": [],
    }


def write_sample_bucket(
    root: str | Path,
    *,
    seed: int = 7,
    now: datetime | None = None,
    accounts: tuple[str, ...] = DEMO_ACCOUNTS,
    regions: tuple[str, ...] = DEMO_REGIONS,
    days: int = 3,
    files_per_day: int = 4,
    calls_per_file: int = 30,
    noise_per_call: float = 1.0,
    trial_components: int = 6,
    failed_share: float = 0.02,
    duplicate: bool = True,
    digests: bool = True,
) -> DemoSummary:
    """Write a CloudTrail bucket copy under ``root/AWSLogs/`` and return what it holds.

    Files are spread over the ``days`` delivery days ending at ``now`` (default: the current minute, UTC),
    ``files_per_day`` per account, region and day, each with ``calls_per_file`` ``BatchPutMetrics`` calls and
    about ``noise_per_call`` events of other services per call. ``failed_share`` of the calls fail.

    >>> import tempfile
    >>> write_sample_bucket(tempfile.mkdtemp(), seed=3, days=1, files_per_day=1, calls_per_file=2).metric_calls
    8
    """
    root = Path(root)
    _claim(root)
    now = aware_utc(now or datetime.now(UTC)).replace(second=0, microsecond=0)
    summary = DemoSummary(root=root)
    first_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0)
    for account_index, account in enumerate(accounts):
        for region_index, region in enumerate(regions):
            rng = random.Random(f"{seed}/{account_index}/{region_index}")
            writer = EventWriter(rng, account, region, trial_components)
            summary.trial_components.update(c.name for c in writer.components)
            for day_index in range(days):
                day_start = first_day + timedelta(days=day_index)
                day_end = min(day_start + timedelta(days=1), now)
                span = (day_end - day_start).total_seconds()
                for file_index in range(files_per_day):
                    # deliveries spread over the day; the first one may hold events of the day before
                    delivered = day_start + timedelta(seconds=span * (file_index + 1) / (files_per_day + 1))
                    # one file of the first day, in the first account and region, is delivered on the last day
                    # (CloudTrail retried: the bucket refused it): beyond the default --delivery-lag
                    late = (days >= 3 and account_index == region_index == day_index == 0
                            and file_index == files_per_day - 1)
                    _write_log_file(root, writer, delivered, calls_per_file, noise_per_call, failed_share,
                                    summary, duplicate=duplicate and summary.duplicate_files == 0,
                                    delay=min(timedelta(days=days - 1), now - delivered) if late else timedelta(0))
                if digests:
                    _write_digest(root, account, region, day_start, day_end, rng)
                    summary.digest_files += 1
    return summary


def _claim(root: Path) -> None:
    """Make ``root`` an empty sample folder: a new or empty one, or an earlier sample (which is replaced)."""
    import shutil

    from smtrail_sql.errors import SettingError

    if root.exists() and not root.is_dir():
        raise SettingError("demo folder", str(root), "a folder (new, empty, or written by smtrail-sql demo)")
    if root.is_dir() and any(root.iterdir()):
        if not (root / DEMO_MARKER).exists():
            raise SettingError("demo folder", str(root),
                               "a new or empty folder, or one written by smtrail-sql demo (it is replaced)")
        shutil.rmtree(root / "AWSLogs", ignore_errors=True)  # an earlier sample: its days have moved on
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("written by smtrail-sql demo; the sample below is replaced on the next run\n")


def _write_log_file(
    root: Path,
    writer: EventWriter,
    delivered: datetime,
    calls: int,
    noise_per_call: float,
    failed_share: float,
    summary: DemoSummary,
    *,
    duplicate: bool,
    delay: timedelta = timedelta(0),
) -> None:
    """One log file of ``calls`` calls made before ``delivered``, put in the folder of ``delivered + delay``."""
    rng = writer.rng
    records: list[dict[str, Any]] = []
    noise_budget = 0.0
    for _ in range(calls):
        when = delivered - timedelta(seconds=rng.uniform(60, 900))
        failed = rng.random() < failed_share
        event, count, _component = writer.metric_call(when, failed)
        records.append(event)
        summary.metric_calls += 1
        if failed:
            summary.failed_calls += 1
        else:
            summary.points += count
        noise_budget += noise_per_call
        while noise_budget >= 1:
            noise_budget -= 1
            records.append(writer.noise(delivered - timedelta(seconds=rng.uniform(60, 900))))
    records.sort(key=lambda r: str(r["eventTime"]))
    if delay:
        delivered += delay
        summary.late_files += 1
    data = json.dumps({"Records": records}, separators=(",", ":")).encode()
    folder = root / "AWSLogs" / writer.account / "CloudTrail" / writer.region / f"{delivered:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "".join(rng.choices(ALNUM, k=16))
    name = f"{writer.account}_CloudTrail_{writer.region}_{delivered:%Y%m%dT%H%MZ}_{suffix}.json.gz"
    compressed = _gzip(data)
    (folder / name).write_bytes(compressed)
    summary.log_files += 1
    summary.uncompressed_bytes += len(data)
    summary.events += len(records)
    if duplicate:
        # the same object delivered again (an overlapping copy): every event of it must count once
        again = f"{writer.account}_CloudTrail_{writer.region}_{delivered:%Y%m%dT%H%MZ}_{suffix[::-1]}.json.gz"
        (folder / again).write_bytes(compressed)
        summary.log_files += 1
        summary.duplicate_files += 1
        summary.uncompressed_bytes += len(data)


def _write_digest(root: Path, account: str, region: str, start: datetime, end: datetime,
                  rng: random.Random) -> None:
    folder = root / "AWSLogs" / account / "CloudTrail-Digest" / region / f"{start:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{account}_CloudTrail-Digest_{region}_{DEMO_TRAIL}_{region}_{end:%Y%m%dT%H%M%SZ}.json.gz"
    body = json.dumps(_digest(account, region, start, end, rng)).encode()
    (folder / name).write_bytes(_gzip(body))
