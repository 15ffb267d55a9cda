"""check-trail: is any CloudTrail trail logging the ``BatchPutMetrics`` data events smtrail-sql reads?

SageMaker Experiments metrics reach CloudTrail only as *data events* on the resource type
``AWS::SageMaker::ExperimentTrialComponent``, which only *advanced* event selectors can select (basic
selectors know S3 objects, Lambda functions and DynamoDB tables only). This module reads the trails,
decides for each whether those events are logged (all of them, some of them, or none), and can add the
selector that logs them, keeping every existing selector: advanced ones as they are, basic ones converted
to their advanced equivalent (CloudTrail does not allow both kinds on one trail).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from smtrail_sql.aws.basic_selectors import basic_other_traffic, convert_basic_selectors
from smtrail_sql.errors import EngineError, SelectorConversionError

TRIAL_COMPONENT_TYPE = "AWS::SageMaker::ExperimentTrialComponent"
METRICS_EVENT_NAME = "BatchPutMetrics"
METRICS_EVENT_SOURCE = "metrics-sagemaker.amazonaws.com"
SELECTOR_NAME = "SageMaker Experiments metrics (BatchPutMetrics) for smtrail-sql"

#: What a BatchPutMetrics data event looks like to an advanced selector, for the fields that are the same
#: for every such event. A condition on any other field (``resources.ARN``, ``userIdentity.arn``,
#: ``errorCode``, ``vpcEndpointId``...) depends on the call, so a selector with one logs only some calls.
_FIXED_FIELDS: Mapping[str, str] = {
    "eventCategory": "Data",
    "resources.type": TRIAL_COMPONENT_TYPE,
    "eventName": METRICS_EVENT_NAME,
    "eventSource": METRICS_EVENT_SOURCE,
    "readOnly": "false",
    "eventType": "AwsApiCall",
}
_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")
#: CloudTrail's limit on the values of all conditions of a trail's advanced selectors.
MAX_SELECTOR_VALUES = 500
Coverage = Literal["all", "some", "none"]


def metrics_selector(only_batch_put_metrics: bool = True) -> dict[str, Any]:
    """The advanced event selector that logs SageMaker Experiments metric calls.

    Without ``only_batch_put_metrics`` it logs every data event on trial components (also reads such as
    ``BatchGetMetrics``), which costs more and is not needed by smtrail-sql.

    >>> [f["Field"] for f in metrics_selector()["FieldSelectors"]]
    ['eventCategory', 'resources.type', 'eventName']
    """
    fields: list[dict[str, Any]] = [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": [TRIAL_COMPONENT_TYPE]},
    ]
    if only_batch_put_metrics:
        fields.append({"Field": "eventName", "Equals": [METRICS_EVENT_NAME]})
    return {"Name": SELECTOR_NAME, "FieldSelectors": fields}


def _condition_holds(operator: str, values: Sequence[str], actual: str) -> bool:
    if operator == "Equals":
        return actual in values
    if operator == "StartsWith":
        return any(actual.startswith(v) for v in values)
    if operator == "EndsWith":
        return any(actual.endswith(v) for v in values)
    if operator == "NotEquals":
        return actual not in values
    if operator == "NotStartsWith":
        return not any(actual.startswith(v) for v in values)
    if operator == "NotEndsWith":
        return not any(actual.endswith(v) for v in values)
    return False  # an operator we do not know: assume it excludes the event rather than claim coverage


def selector_coverage(selector: Mapping[str, Any]) -> Coverage:
    """Whether one advanced selector logs all, some or none of the BatchPutMetrics calls.

    >>> selector_coverage(metrics_selector())
    'all'
    >>> selector_coverage({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]})
    'none'
    """
    fields = selector.get("FieldSelectors") or []
    restricted = False
    named = {f.get("Field") for f in fields}
    if "eventCategory" not in named:
        return "none"  # CloudTrail requires it; a selector without it selects nothing we can reason about
    for condition in fields:
        name = condition.get("Field", "")
        operators = {op: condition[op] for op in _OPERATORS if condition.get(op)}
        if name in _FIXED_FIELDS:
            actual = _FIXED_FIELDS[name]
            if not all(_condition_holds(op, values, actual) for op, values in operators.items()):
                return "none"
        elif operators:
            restricted = True
    if "resources.type" not in named:
        return "none"  # data event selectors must name a resource type
    return "some" if restricted else "all"


def selector_other_traffic(selector: Mapping[str, Any]) -> str | None:
    """What an advanced selector logs besides BatchPutMetrics calls: None when it logs nothing else.

    A selector that logs metric calls but does not hold ``eventName`` to ``BatchPutMetrics`` is broader
    (e.g. every data event on trial components, ``BatchGetMetrics`` reads included).

    >>> selector_other_traffic(metrics_selector()) is None
    True
    >>> selector_other_traffic({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]})
    'management events'
    """
    fields = selector.get("FieldSelectors") or []
    categories = {v for f in fields if f.get("Field") == "eventCategory" for v in f.get("Equals") or []}
    if "Management" in categories:
        return "management events"
    if categories != {"Data"}:
        return "other events"  # e.g. network activity events, or a category condition we do not read
    if selector_coverage(selector) == "none":
        return "other data events"
    names = [f.get("Equals") or [] for f in fields if f.get("Field") == "eventName"]
    if any(values and set(values) == {METRICS_EVENT_NAME} for values in names):
        return None
    return "trial-component data events other than BatchPutMetrics"


@dataclass(frozen=True)
class TrailCheck:
    """What one trail does with BatchPutMetrics data events, and where it delivers them."""

    name: str
    arn: str
    home_region: str
    bucket: str
    prefix: str | None
    is_organization_trail: bool
    is_multi_region: bool
    is_logging: bool | None
    selector_kind: Literal["advanced", "basic", "none"]
    coverage: Coverage
    matching_selectors: list[str] = field(default_factory=list)
    advanced_selectors: list[dict[str, Any]] = field(default_factory=list)
    basic_selectors: list[dict[str, Any]] = field(default_factory=list)
    #: The organisation id of an organisation trail's folder, when the caller may read it.
    org_id: str | None = None
    #: What else the trail logs into the same folders (management events, other data events...).
    other_traffic: list[str] = field(default_factory=list)

    @property
    def logs_metrics(self) -> bool:
        """True when every BatchPutMetrics call is logged (and the trail is logging)."""
        return self.coverage == "all" and self.is_logging is not False

    @property
    def start_command(self) -> str:
        """The AWS CLI command that starts the trail (in its home region, where CloudTrail wants it)."""
        region = f" --region {self.home_region}" if self.home_region else ""
        return f"aws cloudtrail start-logging --name {self.arn}{region}"

    def describe(self) -> list[str]:
        """Lines for a person: the verdict, the delivery location and what to do."""
        where = f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}AWSLogs/"
        if self.is_organization_trail:
            where += f"{self.org_id or '<org-id>'}/"
        scope = "all regions" if self.is_multi_region else f"region {self.home_region} only"
        verdict = {
            "all": "logs every BatchPutMetrics data event",
            "some": "logs BatchPutMetrics data events only for some calls (selector conditions on ARNs, "
            "callers or errors)",
            "none": "does NOT log BatchPutMetrics data events",
        }[self.coverage]
        if self.is_logging is False:  # (its selectors say what it would log; a stopped trail logs nothing)
            verdict = "is STOPPED: it logs nothing" + {
                "all": " (its selectors would log every BatchPutMetrics data event)",
                "some": " (its selectors would log BatchPutMetrics data events for some calls only)",
                "none": ", and its selectors do not select BatchPutMetrics data events"}[self.coverage]
        lines = [f"trail {self.name} ({self.arn}): {verdict}; {scope}; delivers to {where}"]
        if self.matching_selectors:
            lines.append(f"  matching selectors: {', '.join(self.matching_selectors)}")
        if self.is_logging is False:
            lines.append(f"  stopped: start it with `{self.start_command}` (or re-run with --apply)")
        if self.coverage != "none" and self.other_traffic:
            lines.append(
                f"  shared with other traffic: it also logs {', '.join(self.other_traffic)}, which a table over "
                "its prefix reads too; a dedicated trail lets the table read metric events only: "
                f"smtrail-sql check-trail --dedicated --bucket {self.bucket} --apply"
            )
        elif self.coverage != "none":
            lines.append("  dedicated: it logs metric events only, so a table over its prefix reads nothing else")
        options = f"--bucket {self.bucket}" + (f" --prefix {self.prefix}" if self.prefix else "")
        if self.is_organization_trail:
            options += f" --org-id {self.org_id or '<o-...>'}"
        lines.append(f"  location options: {options}")
        return lines


def _describe_selector(index: int, selector: Mapping[str, Any]) -> str:
    return str(selector.get("Name") or f"selector #{index + 1}")


def check_trail(
    description: Mapping[str, Any],
    selectors: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    org_id: str | None = None,
) -> TrailCheck:
    """Judge one trail from its ``DescribeTrails`` entry and ``GetEventSelectors``/``GetTrailStatus``."""
    advanced = list(selectors.get("AdvancedEventSelectors") or [])
    basic = list(selectors.get("EventSelectors") or [])
    coverages = [(i, s, selector_coverage(s)) for i, s in enumerate(advanced)]
    matching = [_describe_selector(i, s) for i, s, c in coverages if c != "none"]
    found = {c for _, _, c in coverages}
    other = [selector_other_traffic(s) for s in advanced] + [t for s in basic for t in basic_other_traffic(s)]
    coverage: Coverage = "all" if "all" in found else "some" if "some" in found else "none"
    return TrailCheck(
        name=description["Name"],
        arn=description["TrailARN"],
        home_region=description.get("HomeRegion", ""),
        bucket=description.get("S3BucketName", ""),
        prefix=description.get("S3KeyPrefix") or None,
        is_organization_trail=bool(description.get("IsOrganizationTrail")),
        is_multi_region=bool(description.get("IsMultiRegionTrail")),
        is_logging=None if status is None else bool(status.get("IsLogging")),
        selector_kind="advanced" if advanced else "basic" if basic else "none",
        coverage=coverage,
        matching_selectors=matching,
        advanced_selectors=advanced,
        basic_selectors=basic,
        org_id=org_id if description.get("IsOrganizationTrail") else None,
        other_traffic=list(dict.fromkeys(t for t in other if t)),
    )


def _count_values(selectors: Sequence[Mapping[str, Any]]) -> int:
    return sum(
        len(condition.get(op) or [])
        for selector in selectors
        for condition in selector.get("FieldSelectors") or []
        for op in _OPERATORS
    )


def selectors_with_metrics(check: TrailCheck, only_batch_put_metrics: bool = True) -> list[dict[str, Any]]:
    """The trail's advanced selectors after adding the metrics selector (existing ones all kept).

    >>> # selectors_with_metrics(check)[-1] == metrics_selector()
    """
    if check.selector_kind == "advanced":
        existing = copy.deepcopy(check.advanced_selectors)
    elif check.selector_kind == "basic":
        existing = convert_basic_selectors(check.basic_selectors)
    else:
        existing = []
    result = [*existing, metrics_selector(only_batch_put_metrics)]
    if _count_values(result) > MAX_SELECTOR_VALUES:
        raise SelectorConversionError(
            f"trail {check.name}: the selectors would hold {_count_values(result)} condition values, "
            f"more than CloudTrail's {MAX_SELECTOR_VALUES}; trail left unchanged"
        )
    return result


@dataclass(frozen=True)
class ApplyResult:
    """What ``check-trail --apply`` did to one trail."""

    trail: str
    changed: bool
    before: dict[str, Any]
    after: list[dict[str, Any]]


def read_trails(session: Any, trail: str | None = None) -> list[TrailCheck]:
    """Read every trail visible from the session's region (or the one named ``trail``) and judge each.

    >>> # for check in read_trails(make_session()): print(*check.describe(), sep="\\n")
    """
    from smtrail_sql.aws.session import aws_call, make_client

    client = make_client(session, "cloudtrail")
    request: dict[str, Any] = {"includeShadowTrails": True}
    if trail:
        request["trailNameList"] = [trail]
    with aws_call("describe trails"):
        descriptions = client.describe_trails(**request)["trailList"]
    if trail:
        descriptions = [d for d in descriptions if trail in (d.get("Name"), d.get("TrailARN"))]
        if not descriptions:
            raise EngineError(f"no trail named {trail!r} is visible in region {session.region_name}")
    org_id = organization_id(session) if any(d.get("IsOrganizationTrail") for d in descriptions) else None
    checks: list[TrailCheck] = []
    seen: set[str] = set()
    for description in descriptions:
        if description["TrailARN"] in seen:
            continue
        seen.add(description["TrailARN"])
        home = make_client(session, "cloudtrail", region=description.get("HomeRegion") or None)
        with aws_call(f"read the selectors of trail {description['Name']}"):
            selectors = home.get_event_selectors(TrailName=description["TrailARN"])
            status = home.get_trail_status(Name=description["TrailARN"])
        checks.append(check_trail(description, selectors, status, org_id))
    return checks


def organization_id(session: Any) -> str | None:
    """The organisation id (its folder under AWSLogs/), or None where Organizations may not be read."""
    import botocore.exceptions

    from smtrail_sql.aws.session import make_client

    try:
        return str(make_client(session, "organizations").describe_organization()["Organization"]["Id"])
    except (botocore.exceptions.ClientError, KeyError):
        return None  # e.g. a member account without organizations:DescribeOrganization: say <org-id>


def apply_metrics_selector(session: Any, check: TrailCheck, only_batch_put_metrics: bool = True) -> ApplyResult:
    """Add the metrics selector to a trail, keeping every existing selector; a no-op when already logged."""
    from smtrail_sql.aws.session import aws_call, make_client

    before = {"EventSelectors": check.basic_selectors, "AdvancedEventSelectors": check.advanced_selectors}
    if check.coverage == "all":
        return ApplyResult(check.name, False, before, check.advanced_selectors)
    after = selectors_with_metrics(check, only_batch_put_metrics)
    client = make_client(session, "cloudtrail", region=check.home_region or None)
    with aws_call(f"update the selectors of trail {check.name}"):
        client.put_event_selectors(TrailName=check.arn, AdvancedEventSelectors=after)
    return ApplyResult(check.name, True, before, after)


def start_logging(session: Any, check: TrailCheck) -> bool:
    """Start a stopped trail (``StartLogging``, in its home region); False when it was not stopped (nothing done).

    It then logs everything its selectors select again, not only the metric calls.
    """
    from smtrail_sql.aws.session import aws_call, make_client

    if check.is_logging is not False:
        return False
    client = make_client(session, "cloudtrail", region=check.home_region or None)
    with aws_call(f"start logging on trail {check.name}"):
        client.start_logging(Name=check.arn)
    return True
