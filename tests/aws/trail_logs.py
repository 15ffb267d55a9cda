"""CloudTrail log objects in the real bucket layout, written to a (moto) bucket."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.events import batch_put_metrics


def metric_record(account: str, region: str, when: datetime, trial_component: str, step: int) -> dict[str, Any]:
    """One BatchPutMetrics event as CloudTrail writes it (one point, epoch milliseconds)."""
    point = {"metricName": "loss", "timestamp": int(when.timestamp() * 1000), "step": step, "value": 1.0 / (step + 1)}
    return batch_put_metrics(f"{trial_component}-{step}-{when:%Y%m%d%H%M%S}", when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             [point], trial_component=trial_component, account=account, region=region)


@dataclass(frozen=True)
class LogFile:
    key: str
    body: bytes


def log_file(
    account: str,
    region: str,
    day: date,
    serial: int,
    records: int,
    prefix: str = "",
    org_id: str | None = None,
) -> LogFile:
    """A gzipped ``{"Records": [...]}`` object at its real key (delivery folder = ``day``)."""
    when = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC) + timedelta(minutes=serial)
    body = gzip.compress(
        json.dumps(
            {"Records": [metric_record(account, region, when, f"tc-{serial}", step) for step in range(records)]}
        ).encode()
    )
    root = "/".join(p for p in (prefix.strip("/"), "AWSLogs", org_id) if p)
    key = (
        f"{root}/{account}/CloudTrail/{region}/{day:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{when:%Y%m%dT%H%MZ}_{serial:04d}abcdEFGH.json.gz"
    )
    return LogFile(key, body)


def digest_file(account: str, region: str, day: date, prefix: str = "") -> LogFile:
    """A digest object beside the logs (never part of a partition)."""
    root = "/".join(p for p in (prefix.strip("/"), "AWSLogs") if p)
    key = (
        f"{root}/{account}/CloudTrail-Digest/{region}/{day:%Y/%m/%d}/"
        f"{account}_CloudTrail-Digest_{region}_trail_{region}_{day:%Y%m%d}T120000Z.json.gz"
    )
    return LogFile(key, gzip.compress(b'{"digestStartTime": "x"}'))


def put_all(s3: Any, bucket: str, files: list[LogFile]) -> None:
    for f in files:
        s3.put_object(Bucket=bucket, Key=f.key, Body=f.body)
