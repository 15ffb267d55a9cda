"""The dedicated trail: one that logs only BatchPutMetrics data events, to a prefix of its own.

A trail that also logs management events or other data events writes them into the same folders, and a table
over that prefix reads (and Athena bills) all of it. A trail whose only advanced selector is the metrics
selector logs no management events at all (an advanced selector set without a ``Management`` selector excludes
them), so a table over its prefix reads metric events only.

The plan is computed from what CloudTrail says now and applying it is idempotent: a trail that is already as
planned is left alone; one that differs gets its destination, selectors or logging fixed, each named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from smtrail_sql.aws.pricing import DATA_EVENT_PRICE
from smtrail_sql.aws.trail import METRICS_EVENT_NAME, TrailCheck, metrics_selector
from smtrail_sql.errors import BucketPolicyError, SettingError
from smtrail_sql.settings import validate_bucket, validate_prefix

DEFAULT_TRAIL_NAME = "smtrail-sql-metrics"
DEFAULT_PREFIX = "smtrail-sql-metrics"
#: CloudTrail's trail names: 3-128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit,
#: no two of '.', '_', '-' side by side.
_TRAIL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9])){1,126}[A-Za-z0-9]$")


def validate_trail_name(value: str) -> str:
    """A CloudTrail trail name (not an ARN).

    >>> validate_trail_name("smtrail-sql-metrics")
    'smtrail-sql-metrics'
    """
    name = value.strip()
    if not _TRAIL_NAME.match(name) or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise SettingError("trail name", value, "3-128 letters, digits, '.', '_' or '-', starting and ending with "
                           "a letter or digit, no two of '.', '_', '-' side by side, not an IP address")
    return name


@dataclass(frozen=True)
class DedicatedTrail:
    """What the dedicated trail should be: its name and where it delivers.

    >>> DedicatedTrail.create("my-trail-bucket").prefix
    'smtrail-sql-metrics'
    """

    name: str
    bucket: str
    prefix: str | None
    multi_region: bool = True
    organization: bool = False

    @classmethod
    def create(cls, bucket: str, prefix: str | None = DEFAULT_PREFIX, name: str = DEFAULT_TRAIL_NAME,
               multi_region: bool = True, organization: bool = False) -> DedicatedTrail:
        """Validate and build the wanted trail (an empty ``prefix`` means none)."""
        return cls(validate_trail_name(name), validate_bucket(bucket), validate_prefix(prefix), multi_region,
                   organization)

    @property
    def logs_url(self) -> str:
        """Where its log files go: ``s3://BUCKET/[PREFIX/]AWSLogs/``."""
        return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}AWSLogs/"


@dataclass(frozen=True)
class DedicatedPlan:
    """What ``check-trail --dedicated`` would do, from the trails as CloudTrail describes them now."""

    target: DedicatedTrail
    #: The region the trail lives in (its home region when it exists, else the session's).
    region: str
    account: str | None
    org_id: str | None
    partition: str = "aws"
    existing: TrailCheck | None = None
    #: ``UpdateTrail`` arguments that move an existing trail to the wanted destination and scope.
    update: dict[str, Any] = field(default_factory=dict)
    fix_selectors: bool = False
    start_logging: bool = False
    #: Other trails that log (some or all of) the same BatchPutMetrics data events.
    duplicates: list[TrailCheck] = field(default_factory=list)

    @property
    def create(self) -> bool:
        """True when the trail does not exist yet."""
        return self.existing is None

    @property
    def up_to_date(self) -> bool:
        """True when there is nothing to do."""
        return not (self.create or self.update or self.fix_selectors or self.start_logging)

    @property
    def trail_arn(self) -> str:
        """The trail's ARN (the one CloudTrail will give it, before it exists)."""
        if self.existing is not None:
            return self.existing.arn
        account = self.account or "<account-id>"
        return f"arn:{self.partition}:cloudtrail:{self.region}:{account}:trail/{self.target.name}"

    def changes(self) -> list[str]:
        """One line per change, in the order they are made; empty when up to date."""
        t = self.target
        if self.create:
            scope = "all regions" if t.multi_region else f"region {self.region} only"
            kind = "organisation trail" if t.organization else "trail"
            return [
                f"create {kind} {t.name} in {self.region} ({scope}), delivering to {t.logs_url}",
                f"set its selectors to {METRICS_EVENT_NAME} data events only (no management events)",
                "start logging",
            ]
        assert self.existing is not None
        found: list[str] = []
        if "S3BucketName" in self.update:
            found.append(f"deliver to {t.logs_url} (was {_logs_url(self.existing)})")
        if "IsMultiRegionTrail" in self.update:
            found.append("log all regions" if t.multi_region else f"log region {self.region} only")
        if "IsOrganizationTrail" in self.update:
            found.append("log the organisation's accounts" if t.organization else "log this account only")
        if self.fix_selectors:
            dropped = f" (it stops logging {', '.join(self.existing.other_traffic)})" if self.existing.other_traffic \
                else ""
            found.append(f"set its selectors to {METRICS_EVENT_NAME} data events only{dropped}")
        if self.start_logging:
            found.append("start logging")
        return found

    def describe(self) -> list[str]:
        """Lines for a person: the trail, and what would change (or that nothing would)."""
        if self.up_to_date:
            return [f"dedicated trail {self.target.name}: logs only {METRICS_EVENT_NAME} data events to "
                    f"{self.target.logs_url} and is logging: nothing to do"]
        verb = "create" if self.create else "change"
        return [f"dedicated trail {self.target.name}: to {verb}:", *(f"  {line}" for line in self.changes())]

    def duplicate_warning(self) -> str | None:
        """The one-line warning that two trails log the same data events, or None when no other trail does."""
        if not self.duplicates:
            return None
        names = ", ".join(d.name for d in self.duplicates)
        return (f"warning: trail {names} also logs the {METRICS_EVENT_NAME} data events: two trails bill twice "
                f"(data events cost {DATA_EVENT_PRICE} in every trail that logs them) and deliver every event "
                f"twice; remove the metrics selector from {names} once {self.target.name} logs (smtrail-sql's "
                "queries count each event ID once, so results stay right meanwhile)")

    def create_table_command(self) -> str:
        """The ``create-table`` command line that points the table at the dedicated trail's prefix."""
        t = self.target
        options = f"--bucket {t.bucket}" + (f" --prefix {t.prefix}" if t.prefix else "")
        if t.organization:
            options += f" --org-id {self.org_id or '<o-...>'}"
        return f"smtrail-sql create-table {options} --accounts {self.account or '<account-id>'} --regions {self.region}"

    def bucket_policy(self) -> dict[str, Any]:
        """The bucket policy statements that let CloudTrail write the trail's files (CloudTrail User Guide)."""
        t = self.target
        bucket_arn = f"arn:{self.partition}:s3:::{t.bucket}"
        root = f"{bucket_arn}/{t.prefix + '/' if t.prefix else ''}AWSLogs"
        writes = [f"{root}/{self.account or '<account-id>'}/*"]
        if t.organization:
            writes.append(f"{root}/{self.org_id or '<o-...>'}/*")
        source = {"aws:SourceArn": self.trail_arn}
        service = {"Service": "cloudtrail.amazonaws.com"}
        return {"Version": "2012-10-17", "Statement": [
            {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": service, "Action": "s3:GetBucketAcl",
             "Resource": bucket_arn, "Condition": {"StringEquals": source}},
            {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": service, "Action": "s3:PutObject",
             "Resource": writes[0] if len(writes) == 1 else writes,
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}}},
        ]}


def _logs_url(check: TrailCheck) -> str:
    return f"s3://{check.bucket}/{check.prefix + '/' if check.prefix else ''}AWSLogs/"


def logs_only_metrics(check: TrailCheck) -> bool:
    """True when the trail logs every BatchPutMetrics call and nothing else."""
    return check.selector_kind == "advanced" and check.coverage == "all" and not check.other_traffic


def dedicated_plan(target: DedicatedTrail, checks: list[TrailCheck], region: str, account: str | None = None,
                   org_id: str | None = None, partition: str = "aws") -> DedicatedPlan:
    """Decide what to do, from the trails ``checks`` (as :func:`~smtrail_sql.aws.trail.read_trails` reads them).

    >>> dedicated_plan(DedicatedTrail.create("my-trail-bucket"), [], "us-east-1").changes()[0]
    'create trail smtrail-sql-metrics in us-east-1 (all regions), delivering to s3://my-trail-bucket/smtrail-sql-metrics/AWSLogs/'
    """
    named = [c for c in checks if c.name == target.name]
    existing = next((c for c in named if c.home_region == region), named[0] if named else None)
    duplicates = [c for c in checks if c is not existing and c.coverage != "none"]
    if existing is None:
        return DedicatedPlan(target, region, account, org_id, partition, duplicates=duplicates)
    update: dict[str, Any] = {}
    if (existing.bucket, existing.prefix) != (target.bucket, target.prefix):
        update.update(S3BucketName=target.bucket, S3KeyPrefix=target.prefix or "")
    if existing.is_multi_region != target.multi_region:
        update["IsMultiRegionTrail"] = target.multi_region
    if existing.is_organization_trail != target.organization:
        update["IsOrganizationTrail"] = target.organization
    return DedicatedPlan(
        target, existing.home_region or region, account, org_id, partition, existing, update,
        fix_selectors=not logs_only_metrics(existing), start_logging=existing.is_logging is not True,
        duplicates=duplicates,
    )


def plan_dedicated_trail(session: Any, target: DedicatedTrail) -> DedicatedPlan:
    """Read the trails, the account (and the organisation of an organisation trail) and plan the trail.

    >>> # plan = plan_dedicated_trail(make_session(), DedicatedTrail.create("my-trail-bucket"))
    """
    import botocore.exceptions

    from smtrail_sql.aws.session import make_client
    from smtrail_sql.aws.trail import organization_id, read_trails

    checks = read_trails(session)
    try:
        account: str | None = str(make_client(session, "sts").get_caller_identity()["Account"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, KeyError):
        account = None  # the plan says <account-id> where it would name it
    org_id = organization_id(session) if target.organization else None
    region = str(session.region_name)
    partition = session.get_partition_for_region(region) or "aws"
    return dedicated_plan(target, checks, region, account, org_id, partition)


def apply_dedicated_plan(session: Any, plan: DedicatedPlan) -> list[str]:
    """Make the trail as planned (create or update it, set its selectors, start logging); returns the changes.

    Raises :class:`BucketPolicyError` (carrying the policy to add) when the bucket's policy does not let CloudTrail
    write. The selectors are set before logging starts, so a new trail never logs anything else.
    """
    import botocore.exceptions

    from smtrail_sql.aws.session import aws_call, aws_error, make_client

    if plan.up_to_date:
        return []
    t = plan.target
    client = make_client(session, "cloudtrail", region=plan.region)
    try:
        if plan.create:
            request: dict[str, Any] = {"Name": t.name, "S3BucketName": t.bucket, "IsMultiRegionTrail": t.multi_region,
                                       "IsOrganizationTrail": t.organization}
            if t.prefix:
                request["S3KeyPrefix"] = t.prefix
            client.create_trail(**request)
        elif plan.update:
            client.update_trail(Name=plan.trail_arn, **plan.update)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InsufficientS3BucketPolicyException":
            raise BucketPolicyError(
                f"cannot {'create' if plan.create else 'update'} trail {t.name}: the policy of bucket {t.bucket} "
                "does not let CloudTrail write; add the statements AWSCloudTrailAclCheck (s3:GetBucketAcl) and "
                f"AWSCloudTrailWrite (s3:PutObject under {t.logs_url}) for cloudtrail.amazonaws.com, printed "
                "above, then re-run",
                plan.bucket_policy(),
            ) from None
        raise aws_error(f"{'create' if plan.create else 'update'} trail {t.name}", error) from None
    except botocore.exceptions.BotoCoreError as error:
        raise aws_error(f"create trail {t.name}", error) from None
    name = t.name if plan.create else plan.trail_arn
    with aws_call(f"set the selectors of trail {t.name}"):
        if plan.create or plan.fix_selectors:
            client.put_event_selectors(TrailName=name, AdvancedEventSelectors=[metrics_selector()])
    with aws_call(f"start logging on trail {t.name}"):
        if plan.create or plan.start_logging:
            client.start_logging(Name=name)
    return plan.changes()
