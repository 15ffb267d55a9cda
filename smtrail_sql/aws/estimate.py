"""What a query would scan: the S3 objects under exactly the partitions its window reads.

Athena with partition projection reads every object under ``[PREFIX/]AWSLogs/[ORG/]ACCOUNT/CloudTrail/REGION/
YYYY/MM/DD/`` for the projected accounts and regions and the delivery days of the window
(:meth:`TimeWindow.delivery_days`), so listing those prefixes gives the bytes a scan costs before paying
for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

from smtrail_sql.aws.pricing import format_bytes, scan_cost_usd
from smtrail_sql.settings import LogLocation
from smtrail_sql.window import TimeWindow
from smtrail_sql.wording import plural

#: Listing calls in flight at once (each is one small HTTP request per page).
LIST_WORKERS = 16
_DAY_IN_KEY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")


@dataclass(frozen=True)
class LogObject:
    """One object of the trail bucket: its key and size in bytes."""

    key: str
    size: int


@dataclass(frozen=True)
class Partition:
    """One partition of the table: an account, a region and (when the window is bounded) a delivery day.

    ``day`` is ``None`` for an unbounded window, where the whole region folder is listed and days are
    filtered by the window.
    """

    account: str
    region: str
    day: date | None

    def prefix(self, location: LogLocation) -> str:
        """The S3 key prefix of this partition."""
        if self.day is None:
            return f"{location.account_root(self.account)}{self.region}/"
        return location.partition_prefix(self.account, self.region, self.day)


@dataclass(frozen=True)
class ScanEstimate:
    """Files and bytes under the partitions a query reads, and what scanning them costs on Athena.

    >>> ScanEstimate(files=2, bytes=3 * 2**20, partitions=4, partitions_with_data=1).describe()
    '2 files, 3.0 MiB in 1 of 4 partitions; an Athena scan costs about $0.0000 (10 MiB minimum)'
    """

    files: int
    bytes: int
    partitions: int
    partitions_with_data: int

    @property
    def cost_usd(self) -> float:
        """The cost of scanning every byte at $5 per TB, with Athena's 10 MiB minimum."""
        return scan_cost_usd(self.bytes)

    def describe(self) -> str:
        """One line for a person."""
        minimum = " (10 MiB minimum)" if self.bytes < 10 * 2**20 else ""
        return (
            f"{plural(self.files, 'file')}, {format_bytes(self.bytes)} in {self.partitions_with_data} of "
            f"{self.partitions} partitions; an Athena scan costs about ${self.cost_usd:.4f}{minimum}"
        )


def partitions(accounts: Sequence[str], regions: Sequence[str], window: TimeWindow) -> list[Partition]:
    """Every partition a query over ``window`` reads, accounts x regions x delivery days.

    >>> w = TimeWindow.parse(since="2024-05-01", until="2024-05-02")
    >>> [p.day.isoformat() for p in partitions(["123456789012"], ["us-east-1"], w)]
    ['2024-05-01', '2024-05-02', '2024-05-03']
    """
    days: list[date | None] = list(window.delivery_days()) if _bounded(window) else [None]
    return [Partition(a, r, d) for a in accounts for r in regions for d in days]


def _bounded(window: TimeWindow) -> bool:
    return window.start is not None and window.end is not None


def list_partition(
    s3: Any, location: LogLocation, partition: Partition, window: TimeWindow
) -> list[LogObject]:
    """The objects of one partition (every page of the listing)."""
    from smtrail_sql.aws.session import aws_call

    prefix = partition.prefix(location)
    found: list[LogObject] = []
    with aws_call(f"list s3://{location.bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                key = item["Key"]
                if partition.day is None and not _key_in_window(key[len(prefix) - 1 :], window):
                    continue
                found.append(LogObject(key, int(item["Size"])))
    return found


def _key_in_window(tail: str, window: TimeWindow) -> bool:
    match = _DAY_IN_KEY.match(tail)
    if not match:
        return False  # not under a YYYY/MM/DD folder: Athena's projection would not read it either
    return window.may_contain_day_folder(*match.groups())


def iter_log_objects(
    s3: Any,
    location: LogLocation,
    parts: Iterable[Partition],
    window: TimeWindow,
    workers: int = LIST_WORKERS,
) -> Iterator[tuple[Partition, list[LogObject]]]:
    """List the partitions in parallel (``workers`` listings in flight); yields each partition with its
    objects, in partition order."""
    parts = list(parts)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(parts)))) as pool:
        yield from zip(parts, pool.map(lambda p: list_partition(s3, location, p, window), parts), strict=True)


def estimate_scan(
    s3: Any,
    location: LogLocation,
    accounts: Sequence[str],
    regions: Sequence[str],
    window: TimeWindow,
    *,
    workers: int = LIST_WORKERS,
) -> ScanEstimate:
    """List the objects a query over ``window`` would read and sum them.

    ``s3`` is a boto3 S3 client (see :func:`smtrail_sql.aws.session.make_client`).

    >>> # estimate_scan(make_client(make_session(), "s3"), LogLocation.create("trail-bucket"),
    >>> #               ["123456789012"], ["us-east-1"], TimeWindow.parse(since="7d")).describe()
    """
    parts = partitions(accounts, regions, window)
    files = size = with_data = 0
    for _, objects in iter_log_objects(s3, location, parts, window, workers):
        files += len(objects)
        size += sum(o.size for o in objects)
        with_data += bool(objects)
    return ScanEstimate(files=files, bytes=size, partitions=len(parts), partitions_with_data=with_data)


_EVENT_DAY_IN_KEY = re.compile(r"/event_time_day=(\d{4})-(\d{2})-(\d{2})/")


def estimate_store_scan(s3: Any, folders: Sequence[str], window: TimeWindow) -> ScanEstimate:
    """The metric store's Parquet files a query over ``window`` may read: those of the event days of the window
    (Iceberg's ``event_time_day=YYYY-MM-DD`` partition folders, wherever the table's layout puts them below
    ``data/``), in each table folder (``s3://bucket/.../table/``). An upper bound: Athena reads only the columns
    and row groups the query needs, so it usually scans a fraction of these bytes.
    """
    from smtrail_sql.aws.session import aws_call

    first = window.start.date() if window.start is not None else None
    last = window.end.date() if window.end is not None else None
    days = (last - first).days + 1 if first is not None and last is not None else 0
    files = size = 0
    with_data: set[tuple[str, date]] = set()
    for folder in folders:
        bucket, _, prefix = folder.removeprefix("s3://").partition("/")
        with aws_call(f"list {folder}data/"):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}data/"):
                for item in page.get("Contents", ()):
                    match = _EVENT_DAY_IN_KEY.search(item["Key"])
                    if not match or not item["Key"].endswith(".parquet"):
                        continue
                    day = date(*(int(part) for part in match.groups()))
                    if (first is None or day >= first) and (last is None or day <= last):
                        files += 1
                        size += int(item["Size"])
                        with_data.add((folder, day))
    return ScanEstimate(files=files, bytes=size, partitions=days * len(folders) or len(with_data),
                        partitions_with_data=len(with_data))
