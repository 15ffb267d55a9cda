"""The events of the sample bucket (:mod:`smtrail_sql.demo`): trial components with learning curves, their
``BatchPutMetrics`` calls as CloudTrail records them, failed calls and other services' noise."""

from __future__ import annotations

import json
import math
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from smtrail_sql.schema import METRICS_EVENT_SOURCE

ALNUM = string.ascii_uppercase + string.digits
_ALGORITHMS = ("xgboost", "pytorch-resnet50", "bert-finetune", "tf-mnist", "lightgbm", "llama-lora")
#: How a client sends a point's timestamp: the SDK sends seconds (int or float), the documented example
#: milliseconds, hand-written clients ISO strings.
_TIMESTAMP_STYLES = ("millis", "seconds", "float-seconds", "iso")
#: How far back a restarted job's checkpoint is: the steps it logs twice (with other values: duplicate-points).
RESTART_STEPS = 12
#: Every so many calls, a buffering job sends points hours old (late-points).
BUFFERED_EVERY = 7


@dataclass
class _TrialComponent:
    """A training job that logs metrics call after call."""

    name: str
    account: str
    region: str
    metrics: tuple[str, ...]
    timestamp_style: str
    with_step: bool
    role: str
    user_agent: str
    source_ip: str
    step: int = 0
    rate: float = 0.02
    floor: float = 0.05
    #: The step at which the job restarts from a checkpoint RESTART_STEPS back, logging those steps again.
    restart_at: int | None = None
    #: Whether the job buffers its points now and then and sends them hours late (a lost connection).
    buffers: bool = False
    calls: int = 0

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:experiment-trial-component/{self.name}"


def _curve(metric: str, step: int, rate: float, floor: float, rng: random.Random) -> float:
    """A plausible value at ``step``: losses fall towards a floor, accuracies rise towards a ceiling."""
    decay = math.exp(-rate * step)
    noise = rng.gauss(0.0, 0.01)
    if "loss" in metric:
        return round(floor + 2.2 * decay + abs(noise), 6)
    if "accuracy" in metric or metric.endswith(("auc", "f1")):
        return round(min(0.999, 0.97 - floor - 0.85 * decay + noise), 6)
    if metric == "learning_rate":
        return round(1e-3 * (0.95 ** (step // 10)), 9)
    return round(60 + 35 * (1 - decay) + 5 * noise * 100, 3)  # gpu_utilization and friends, in percent


def _point_timestamp(style: str, moment: datetime, rng: random.Random) -> Any:
    epoch = moment.timestamp()
    if style == "millis":
        return int(epoch * 1000)
    if style == "seconds":
        return int(epoch)
    if style == "float-seconds":
        return round(epoch + rng.random() / 2, 6)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class EventWriter:
    """Builds events for one account/region with a private random stream."""

    def __init__(self, rng: random.Random, account: str, region: str, components: int) -> None:
        self.rng = rng
        self.account = account
        self.region = region
        self.components = [self._component(i) for i in range(components)]

    def _component(self, index: int) -> _TrialComponent:
        rng = self.rng
        algorithm = rng.choice(_ALGORITHMS)
        stamp = f"{rng.randrange(2024, 2026)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        name = f"{algorithm}-{stamp}-{index:03d}-{rng.randrange(16**4):04x}-aws-training-job"
        metrics = ["train:loss", "validation:loss", "train:accuracy", "validation:accuracy",
                   "learning_rate", "gpu_utilization", "validation:auc", "train:f1", "epoch_time"]
        chosen = tuple(metrics[: rng.randint(2, len(metrics))])
        role = rng.choice(("SageMakerExecutionRole", "ml-training-role", "DataScientist"))
        return _TrialComponent(
            name=name,
            account=self.account,
            region=self.region,
            metrics=chosen,
            # every style and a stepless job appear in any sample; later components draw at random
            timestamp_style=(_TIMESTAMP_STYLES[index] if index < len(_TIMESTAMP_STYLES)
                             else rng.choices(_TIMESTAMP_STYLES, weights=(5, 3, 2, 1))[0]),
            with_step=index != 1 and rng.random() > 0.15,
            role=role,
            user_agent=rng.choice((
                "aws-sdk-java/1.12.400 Linux/5.10 OpenJDK_64-Bit_Server_VM/11 sagemaker-training-toolkit",
                "Boto3/1.34.10 md/Botocore#1.34.10 ua/2.0 os/linux#5.10 lang/python#3.10.12 "
                "md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.10 sagemaker-experiments/0.1.45",
                "aws-cli/2.7.25 Python/3.9.11 Linux/5.15.0 exe/x86_64.ubuntu.22 prompt/off "
                "command/sm-metrics.batch-put-metrics",
            )),
            source_ip=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            rate=rng.uniform(0.005, 0.05),
            floor=rng.uniform(0.02, 0.2),
            # (fixed by index, so that every sample holds them and the random stream is not disturbed)
            restart_at=40 if index in (0, 2, 3) else None,
            buffers=index in (1, 4),
        )

    def _identity(self, role: str, session: str) -> dict[str, Any]:
        principal = "AROA" + "".join(self.rng.choices(ALNUM, k=17))
        return {
            "type": "AssumedRole",
            "principalId": f"{principal}:{session}",
            "arn": f"arn:aws:sts::{self.account}:assumed-role/{role}/{session}",
            "accountId": self.account,
            "accessKeyId": "ASIA" + "".join(self.rng.choices(ALNUM, k=16)),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": principal,
                                  "arn": f"arn:aws:iam::{self.account}:role/{role}",
                                  "accountId": self.account, "userName": role},
                "attributes": {"creationDate": "2024-05-01T00:00:00Z", "mfaAuthenticated": "false"},
            },
        }

    def _envelope(self, when: datetime, source: str, name: str) -> dict[str, Any]:
        return {
            "eventVersion": "1.09",
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": self.region,
            "eventID": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "requestID": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "eventType": "AwsApiCall",
            "recipientAccountId": self.account,
        }

    def metric_call(self, when: datetime, failed: bool) -> tuple[dict[str, Any], int, _TrialComponent]:
        """One ``BatchPutMetrics`` call of a random trial component; returns it with its point count."""
        rng = self.rng
        component = rng.choice(self.components)
        component.step += rng.randint(1, 5)
        component.calls += 1
        if component.restart_at is not None and component.step >= component.restart_at:
            component.step -= RESTART_STEPS  # restarted from its checkpoint: these steps are logged again
            component.restart_at = None
        # a buffering job's points now and then reach AWS hours after their own time
        delay = timedelta(hours=2 + component.calls % 3) if (
            component.buffers and component.calls % BUFFERED_EVERY == 3) else timedelta(0)
        count = rng.randint(1, min(10, len(component.metrics)))
        points: list[dict[str, Any]] = []
        for metric in rng.sample(component.metrics, count):
            moment = when - delay - timedelta(seconds=rng.uniform(1, 30))
            point: dict[str, Any] = {
                "metricName": metric,
                "timestamp": _point_timestamp(component.timestamp_style, moment, rng),
                "value": _curve(metric, component.step, component.rate, component.floor, rng),
            }
            if component.with_step and metric != "gpu_utilization":
                point["step"] = component.step
            points.append(point)
        event = self._envelope(when, METRICS_EVENT_SOURCE, "BatchPutMetrics")
        event.update({
            "userIdentity": self._identity(component.role, f"SageMaker-{component.name[:20]}"),
            "sourceIPAddress": component.source_ip,
            "userAgent": component.user_agent,
            "requestParameters": {"trialComponentName": component.name, "metricData": points},
            "responseElements": None,
            "readOnly": False,
            "resources": [{"accountId": self.account, "type": "AWS::SageMaker::ExperimentTrialComponent",
                           "ARN": component.arn}],
            "eventType": "AwsApiCall",
            "managementEvent": False,
            "eventCategory": "Data",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": f"metrics.sagemaker.{self.region}.amazonaws.com"},
        })
        if failed:
            code = rng.choice(("ThrottlingException", "AccessDenied", "ValidationException"))
            event["errorCode"] = code
            event["errorMessage"] = {
                "ThrottlingException": "Rate exceeded",
                "AccessDenied": f"User: {event['userIdentity']['arn']} is not authorized to perform: "
                                "sagemaker:BatchPutMetrics",
                "ValidationException": "Timestamp is older than 14 days",
            }[code]
        return event, count, component

    def noise(self, when: datetime) -> dict[str, Any]:
        """An event of another service, shaped like the real records in the shared samples."""
        rng = self.rng
        builder: Callable[[datetime], dict[str, Any]] = rng.choice(
            (self._s3_get_object, self._assume_role, self._describe_instances, self._console_login,
             self._ssm_describe, self._sagemaker_describe, self._string_parameters))
        return builder(when)

    def _s3_get_object(self, when: datetime) -> dict[str, Any]:
        event = self._envelope(when, "s3.amazonaws.com", "GetObject")
        bucket = f"ml-datasets-{self.account}"
        key = f"train/part-{self.rng.randrange(10000):05d}.parquet"
        event.update({
            "eventCategory": "Data", "managementEvent": False, "readOnly": True,
            "userIdentity": self._identity("SageMakerExecutionRole", "SageMaker"),
            "sourceIPAddress": "10.0.12.7", "userAgent": "[aws-sdk-java/1.12.400]",
            "requestParameters": {"bucketName": bucket, "Host": f"{bucket}.s3.{self.region}.amazonaws.com",
                                  "key": key},
            "responseElements": None,
            "additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredIn": 0,
                                    "bytesTransferredOut": self.rng.randrange(10**7)},
            "resources": [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                          {"accountId": self.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
        })
        return event

    def _assume_role(self, when: datetime) -> dict[str, Any]:
        event = self._envelope(when, "sts.amazonaws.com", "AssumeRole")
        role_arn = f"arn:aws:iam::{self.account}:role/SageMakerExecutionRole"
        event.update({
            "eventCategory": "Management", "managementEvent": True, "readOnly": True,
            "userIdentity": {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"},
            "sourceIPAddress": "sagemaker.amazonaws.com", "userAgent": "sagemaker.amazonaws.com",
            "requestParameters": {"roleArn": role_arn, "roleSessionName": "SageMaker", "durationSeconds": 3600},
            "responseElements": {"credentials": {"accessKeyId": "ASIA" + "".join(self.rng.choices(ALNUM, k=16)),
                                                 "expiration": "Jul 30, 2024, 9:46:15 PM",
                                                 "sessionToken": "".join(self.rng.choices(ALNUM, k=200))}},
            "resources": [{"ARN": role_arn, "accountId": self.account, "type": "AWS::IAM::Role"}],
        })
        return event

    def _describe_instances(self, when: datetime) -> dict[str, Any]:
        event = self._envelope(when, "ec2.amazonaws.com", "DescribeInstances")
        event.update({
            "eventCategory": "Management", "managementEvent": True, "readOnly": True,
            "userIdentity": self._identity("ops-automation", "i-0abc123def456"),
            "sourceIPAddress": "18.236.253.47", "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"filterSet": {}, "instancesSet": {}}, "responseElements": None,
        })
        return event

    def _console_login(self, when: datetime) -> dict[str, Any]:
        event = self._envelope(when, "signin.amazonaws.com", "ConsoleLogin")
        event.update({
            "eventType": "AwsConsoleSignIn", "eventCategory": "Management", "managementEvent": True,
            "readOnly": False, "requestParameters": None, "responseElements": {"ConsoleLogin": "Success"},
            "userIdentity": {"type": "IAMUser", "accountId": self.account,
                             "arn": f"arn:aws:iam::{self.account}:user/data-scientist"},
            "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MFAUsed": "Yes"},
            "sourceIPAddress": "198.51.100.23", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        })
        return event

    def _ssm_describe(self, when: datetime) -> dict[str, Any]:
        event = self._envelope(when, "ssm.amazonaws.com", "DescribeInstanceInformation")
        event.update({
            "eventCategory": "Management", "managementEvent": True, "readOnly": True,
            "userIdentity": self._identity("AmazonSSMRoleForInstancesQuickSetup", "i-0abc123def456"),
            "sourceIPAddress": "10.0.3.4", "userAgent": "aws-sdk-go/1.44.0 (go1.20; linux; amd64) amazon-ssm-agent",
            "requestParameters": {"instanceInformationFilterList": [], "maxResults": 50},
            "responseElements": None,
        })
        return event

    def _sagemaker_describe(self, when: datetime) -> dict[str, Any]:
        """A SageMaker call that is not ``BatchPutMetrics``: it must not become points."""
        event = self._envelope(when, "sagemaker.amazonaws.com", "DescribeTrialComponent")
        name = self.rng.choice(self.components).name
        event.update({
            "eventCategory": "Management", "managementEvent": True, "readOnly": True,
            "userIdentity": self._identity("DataScientist", "studio-user"),
            "sourceIPAddress": "10.0.9.9", "userAgent": "Boto3/1.34.10",
            "requestParameters": {"trialComponentName": name}, "responseElements": None,
        })
        return event

    def _string_parameters(self, when: datetime) -> dict[str, Any]:
        """Some services log ``requestParameters`` as a JSON string rather than an object."""
        event = self._envelope(when, "kms.amazonaws.com", "Decrypt")
        event.update({
            "eventCategory": "Management", "managementEvent": True, "readOnly": True,
            "userIdentity": {"type": "AWSService", "invokedBy": "s3.amazonaws.com"},
            "sourceIPAddress": "s3.amazonaws.com", "userAgent": "s3.amazonaws.com",
            "requestParameters": json.dumps({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            "responseElements": None,
        })
        return event
