"""Builders of CloudTrail records and log files for tests, shaped exactly as CloudTrail delivers them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
TRIAL_COMPONENT = "resnet-training-job-aws-training-job"
SAMPLES_DIR = Path(__file__).parent / "fixtures" / "cloudtrail-samples"


def batch_put_metrics(
    event_id: str,
    event_time: str,
    points: list[dict[str, Any]] | Any,
    *,
    trial_component: str = TRIAL_COMPONENT,
    account: str = ACCOUNT,
    region: str = REGION,
    error_code: str | None = None,
    caller: str = "arn:aws:sts::123456789012:assumed-role/SageMakerRole/training-job",
    user_agent: str = "aws-sdk-python/1.34 sagemaker/2.200 command/sm-metrics.batch-put-metrics",
    source_ip: str = "192.0.2.10",
) -> dict[str, Any]:
    """A BatchPutMetrics data event as CloudTrail records it (the documented shape)."""
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:training-job", "arn": caller,
                         "accountId": account},
        "eventTime": event_time,
        "eventSource": "metrics-sagemaker.amazonaws.com",
        "eventName": "BatchPutMetrics",
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": {"trialComponentName": trial_component, "metricData": points},
        "responseElements": None,
        "requestID": f"req-{event_id}",
        "eventID": event_id,
        "readOnly": False,
        "resources": [{
            "accountId": account,
            "type": "AWS::SageMaker::ExperimentTrialComponent",
            "ARN": f"arn:aws:sagemaker:{region}:{account}:experiment-trial-component/{trial_component}",
        }],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": account,
        "eventCategory": "Data",
    }
    if error_code:
        record["errorCode"] = error_code
        record["errorMessage"] = f"{error_code}: the call was refused"
    return record


def log_key(account: str, region: str, day: str, stamp: str, suffix: str = "a1B2c3D4e5F6g7H8") -> str:
    """The bucket-layout key of a log file; ``day`` is YYYY/MM/DD, ``stamp`` YYYYMMDDTHHmmZ."""
    return f"AWSLogs/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"


def write_log_file(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write ``{"Records": [...]}`` gzipped, as CloudTrail delivers it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": list(records)}).encode()))
    return path


def sample_files() -> list[Path]:
    """The real (non-metric) CloudTrail files copied from shared/cloudtrail-samples."""
    return sorted(SAMPLES_DIR.rglob("*.json.gz"))


def metric_bucket(root: Path) -> list[Path]:
    """A small bucket copy covering every rule of the views; returns the files written.

    Day 2024/05/01, account 123456789012, us-east-1, unless said otherwise.
    """
    day = "2024/05/01"
    first = write_log_file(root / log_key(ACCOUNT, REGION, day, "20240501T1205Z", "first"), [
        # epoch milliseconds (the documented CloudTrail example), with steps
        batch_put_metrics("e-ms", "2024-05-01T12:00:00Z", [
            {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.9},
            {"metricName": "train:loss", "timestamp": 1714564795500, "step": 2, "value": 0.7},
        ]),
        # epoch seconds as int and as float (what the SDK sends); one point without a step
        batch_put_metrics("e-seconds", "2024-05-01T12:01:00Z", [
            {"metricName": "train:accuracy", "timestamp": 1714564850, "step": 1, "value": 0.5},
            {"metricName": "train:accuracy", "timestamp": 1714564855.25, "value": 0.6},
        ]),
        # ISO-8601 strings
        batch_put_metrics("e-iso", "2024-05-01T12:02:00Z", [
            {"metricName": "validation:loss", "timestamp": "2024-05-01T11:59:30Z", "step": 1, "value": 1.25},
            {"metricName": "validation:loss", "timestamp": "2024-05-01T11:59:31.5+00:00", "step": 2,
             "value": 1.0},
        ], trial_component="bert-finetune-aws-training-job", caller="arn:aws:iam::123456789012:user/alice",
           user_agent="aws-cli/2.15.0 command/sagemaker-metrics.batch-put-metrics", source_ip="198.51.100.7"),
        # a failed call: nothing stored, but the failure counts
        batch_put_metrics("e-failed", "2024-05-01T12:03:00Z", [
            {"metricName": "train:loss", "timestamp": 1714564980, "step": 3, "value": 0.6},
        ], error_code="ThrottlingException"),
        # the same step logged again with another value: a duplicate point
        batch_put_metrics("e-dup-step", "2024-05-01T12:04:00Z", [
            {"metricName": "train:loss", "timestamp": 1714565040, "step": 2, "value": 0.75},
        ]),
        # a point logged 10 days late
        batch_put_metrics("e-late", "2024-05-01T12:05:00Z", [
            {"metricName": "train:loss", "timestamp": 1713700000, "step": 0, "value": 2.5},
        ]),
        # no metricData, null requestParameters-like oddities
        batch_put_metrics("e-empty", "2024-05-01T12:05:30Z", None),
    ])
    # the same delivery read twice (an overlapping copy): e-ms must count once
    copy = write_log_file(root / log_key(ACCOUNT, REGION, day, "20240501T1205Z", "copy"), [
        batch_put_metrics("e-ms", "2024-05-01T12:00:00Z", [
            {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.9},
            {"metricName": "train:loss", "timestamp": 1714564795500, "step": 2, "value": 0.7},
        ]),
    ])
    # another account and region, next delivery day
    other = write_log_file(root / log_key(OTHER_ACCOUNT, "eu-west-1", "2024/05/02", "20240502T0010Z"), [
        batch_put_metrics("e-other", "2024-05-01T23:58:00Z", [
            {"metricName": "train:loss", "timestamp": 1714607880000, "step": 10, "value": 0.3},
        ], account=OTHER_ACCOUNT, region="eu-west-1", trial_component="xgboost-aws-training-job"),
        batch_put_metrics("e-denied", "2024-05-02T00:05:00Z", [
            {"metricName": "train:loss", "timestamp": 1714608300, "step": 11, "value": 0.2},
            {"metricName": "train:auc", "timestamp": 1714608300, "step": 11, "value": 0.8},
        ], account=OTHER_ACCOUNT, region="eu-west-1", trial_component="xgboost-aws-training-job",
           error_code="AccessDenied", caller="arn:aws:iam::210987654321:user/bob"),
    ])
    return [first, copy, other]
