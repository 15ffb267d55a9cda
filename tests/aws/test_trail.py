"""check-trail against moto's CloudTrail: no selector, the selector, --apply keeping existing selectors, a stopped
trail, no trail at all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smtrail_sql.aws.session import make_session
from smtrail_sql.aws.trail import (
    apply_metrics_selector,
    convert_basic_selectors,
    metrics_selector,
    read_trails,
    selector_coverage,
    selector_other_traffic,
    start_logging,
)
from smtrail_sql.errors import EngineError, SelectorConversionError
from tests.aws.conftest import MotoAws
from tests.aws.test_cli_aws import smtrail

S3_DATA = {
    "Name": "S3 writes",
    "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["false"]},
    ],
}
MANAGEMENT = {"Name": "Management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}


def make_trail(moto: MotoAws, name: str = "org-audit", prefix: str | None = "audit", **selectors: Any) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    ct = moto.client("cloudtrail")
    extra = {"S3KeyPrefix": prefix} if prefix else {}
    ct.create_trail(Name=name, S3BucketName="trail-logs", IsMultiRegionTrail=True, **extra)
    ct.start_logging(Name=name)
    if selectors:
        ct.put_event_selectors(TrailName=name, **selectors)


def test_a_trail_without_the_selector_is_reported_and_fixed_keeping_the_others(moto: MotoAws) -> None:
    make_trail(moto, AdvancedEventSelectors=[MANAGEMENT, S3_DATA])
    [check] = read_trails(make_session(), "org-audit")
    assert check.coverage == "none" and not check.logs_metrics
    assert (check.bucket, check.prefix, check.is_multi_region, check.is_logging) == (
        "trail-logs",
        "audit",
        True,
        True,
    )
    lines = "\n".join(check.describe())
    assert "does NOT log BatchPutMetrics" in lines and "s3://trail-logs/audit/AWSLogs/" in lines
    assert "--bucket trail-logs --prefix audit" in lines

    applied = apply_metrics_selector(make_session(), check)
    assert applied.changed
    stored = moto.client("cloudtrail").get_event_selectors(TrailName="org-audit")["AdvancedEventSelectors"]
    assert stored == [MANAGEMENT, S3_DATA, metrics_selector()]
    [after] = read_trails(make_session(), "org-audit")
    assert after.coverage == "all" and after.logs_metrics
    assert after.matching_selectors == [metrics_selector()["Name"]]
    assert not apply_metrics_selector(make_session(), after).changed  # a second --apply does nothing


def test_a_trail_with_the_selector_logs_metrics(moto: MotoAws) -> None:
    selector = {
        "Name": "sagemaker",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::SageMaker::ExperimentTrialComponent"]},
        ],
    }
    make_trail(moto, prefix=None, AdvancedEventSelectors=[MANAGEMENT, selector])
    [check] = read_trails(make_session())
    assert check.coverage == "all" and check.matching_selectors == ["sagemaker"]
    assert "logs every BatchPutMetrics data event" in check.describe()[0]
    assert check.prefix is None and "s3://trail-logs/AWSLogs/" in check.describe()[0]
    broader = "trial-component data events other than BatchPutMetrics"
    assert check.other_traffic == ["management events", broader]
    assert check.describe()[2] == (
        f"  shared with other traffic: it also logs management events, {broader}, which a table over its prefix "
        "reads too; a dedicated trail lets the table read metric events only: smtrail-sql check-trail --dedicated "
        "--bucket trail-logs --apply"
    )


def test_basic_selectors_are_converted_on_apply(moto: MotoAws) -> None:
    basic = [
        {
            "ReadWriteType": "WriteOnly",
            "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::important-bucket/"]}],
        }
    ]
    make_trail(moto, EventSelectors=basic)
    [check] = read_trails(make_session())
    assert check.selector_kind == "basic" and check.coverage == "none"
    apply_metrics_selector(make_session(), check)
    stored = moto.client("cloudtrail").get_event_selectors(TrailName="org-audit")["AdvancedEventSelectors"]
    assert stored == [
        {
            "Name": "Management events (converted)",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": ["false"]},
            ],
        },
        {
            "Name": "AWS::S3::Object data events (converted)",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::important-bucket/"]},
            ],
        },
        metrics_selector(),
    ]


def test_unconvertible_basic_selectors_are_refused_and_nothing_changes(moto: MotoAws) -> None:
    basic = [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::Made::Up", "Values": ["arn:aws:made"]}],
        }
    ]
    make_trail(moto, EventSelectors=basic)
    [check] = read_trails(make_session())
    with pytest.raises(SelectorConversionError, match="AWS::Made::Up.*trail left unchanged"):
        apply_metrics_selector(make_session(), check)
    stored = moto.client("cloudtrail").get_event_selectors(TrailName="org-audit")
    assert stored["EventSelectors"] == basic and not stored.get("AdvancedEventSelectors")


def test_an_unknown_trail_is_a_clear_error(moto: MotoAws) -> None:
    make_trail(moto)
    with pytest.raises(EngineError, match="no trail named 'nope'"):
        read_trails(make_session(), "nope")


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([], "all"),
        ([{"Field": "eventName", "Equals": ["BatchPutMetrics"]}], "all"),
        ([{"Field": "eventName", "NotEquals": ["BatchPutMetrics"]}], "none"),
        ([{"Field": "eventName", "StartsWith": ["BatchGet"]}], "none"),
        ([{"Field": "readOnly", "Equals": ["true"]}], "none"),
        ([{"Field": "readOnly", "Equals": ["false"]}], "all"),
        (
            [
                {
                    "Field": "resources.ARN",
                    "StartsWith": ["arn:aws:sagemaker:us-east-1:1:experiment-trial-component/a"],
                }
            ],
            "some",
        ),
        ([{"Field": "userIdentity.arn", "NotStartsWith": ["arn:aws:sts::1:assumed-role/ci"]}], "some"),
    ],
)
def test_selector_coverage(conditions: list[dict[str, Any]], expected: str) -> None:
    selector = {
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::SageMaker::ExperimentTrialComponent"]},
            *conditions,
        ]
    }
    assert selector_coverage(selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (metrics_selector(), None),
        ({"FieldSelectors": [*metrics_selector()["FieldSelectors"],
                             {"Field": "resources.ARN", "StartsWith": ["arn:aws:sagemaker:us-east-1:1:"]}]}, None),
        (metrics_selector(only_batch_put_metrics=False),
         "trial-component data events other than BatchPutMetrics"),
        (MANAGEMENT, "management events"),
        (S3_DATA, "other data events"),
        ({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["NetworkActivity"]}]}, "other events"),
    ],
    ids=["metrics", "metrics-of-some-components", "every-trial-component-event", "management", "s3", "network"],
)
def test_what_else_a_selector_logs(selector: dict[str, Any], expected: str | None) -> None:
    assert selector_other_traffic(selector) == expected


def test_what_else_basic_selectors_log(moto: MotoAws) -> None:
    basic = [{"ReadWriteType": "All", "IncludeManagementEvents": True,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]
    make_trail(moto, EventSelectors=basic)
    [check] = read_trails(make_session())
    assert check.other_traffic == ["management events", "other data events"]
    assert not any("shared with other traffic" in line for line in check.describe())  # it logs no metrics


def test_data_selectors_of_other_types_do_not_count() -> None:
    assert selector_coverage(S3_DATA) == "none"
    assert selector_coverage(MANAGEMENT) == "none"


def test_basic_conversion_covers_every_type_and_exclusions() -> None:
    converted = convert_basic_selectors(
        [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                "DataResources": [
                    {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]},
                    {"Type": "AWS::DynamoDB::Table", "Values": ["arn:aws:dynamodb:us-east-1:1:table/t"]},
                ],
            }
        ]
    )
    assert converted[0]["FieldSelectors"][-1] == {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}
    assert all(f["Field"] != "resources.ARN" for f in converted[1]["FieldSelectors"])  # every function
    assert converted[2]["FieldSelectors"][-1] == {
        "Field": "resources.ARN",
        "Equals": ["arn:aws:dynamodb:us-east-1:1:table/t"],
    }


def test_an_organisation_trail_names_its_org_folder(moto: MotoAws) -> None:
    org_id = moto.client("organizations").create_organization(FeatureSet="ALL")["Organization"]["Id"]
    moto.client("s3").create_bucket(Bucket="trail-logs")
    moto.client("cloudtrail").create_trail(
        Name="org-trail", S3BucketName="trail-logs", IsOrganizationTrail=True, IsMultiRegionTrail=True
    )
    [check] = read_trails(make_session())
    assert check.is_organization_trail and check.org_id == org_id
    assert f"s3://trail-logs/AWSLogs/{org_id}/" in check.describe()[0]
    assert f"--org-id {org_id}" in check.describe()[-1]


def _is_logging(moto: MotoAws, name: str = "org-audit") -> bool:
    return bool(moto.client("cloudtrail").get_trail_status(Name=name)["IsLogging"])


def test_a_stopped_trail_is_reported_as_logging_nothing_and_started(moto: MotoAws) -> None:
    make_trail(moto, AdvancedEventSelectors=[metrics_selector()])
    moto.client("cloudtrail").stop_logging(Name="org-audit")
    [check] = read_trails(make_session())
    assert check.coverage == "all" and check.is_logging is False and not check.logs_metrics
    lines = check.describe()
    assert "is STOPPED: it logs nothing (its selectors would log every BatchPutMetrics data event)" in lines[0]
    assert "logs every" not in lines[0]
    assert f"  stopped: start it with `aws cloudtrail start-logging --name {check.arn} --region us-east-1` " \
           "(or re-run with --apply)" in lines

    assert start_logging(make_session(), check) and _is_logging(moto)
    [after] = read_trails(make_session())
    assert after.logs_metrics and not any("stopped" in line for line in after.describe())
    assert not start_logging(make_session(), after)  # idempotent: a logging trail is left alone
    assert _is_logging(moto)


def test_check_trail_starts_a_stopped_trail_with_apply(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    make_trail(moto, AdvancedEventSelectors=[MANAGEMENT, metrics_selector()])
    moto.client("cloudtrail").stop_logging(Name="org-audit")

    code, out, _ = smtrail(capsys, "check-trail")
    assert code == 1 and "is STOPPED: it logs nothing" in out and "aws cloudtrail start-logging" in out
    assert "selector to add" not in out  # its selectors are right: only the logging is missing
    assert not _is_logging(moto)

    code, out, _ = smtrail(capsys, "check-trail", "--apply")
    assert code == 0, out
    assert "  started: trail org-audit is logging again (everything its selectors select, management events " \
           "included)" in out
    assert "applied:" not in out  # no selector was added
    assert _is_logging(moto)
    code, out, _ = smtrail(capsys, "check-trail", "--apply")
    assert code == 0 and "started" not in out and "logs every BatchPutMetrics data event" in out


def test_a_stopped_trail_without_the_selector_gets_both(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    make_trail(moto, AdvancedEventSelectors=[MANAGEMENT])
    moto.client("cloudtrail").stop_logging(Name="org-audit")
    code, out, _ = smtrail(capsys, "check-trail")
    assert code == 1 and "its selectors do not select BatchPutMetrics data events" in out
    assert "selector to add" in out
    code, out, _ = smtrail(capsys, "check-trail", "--apply")
    assert code == 0 and "applied: trail org-audit now has 2 advanced selectors" in out and "started:" in out
    [after] = read_trails(make_session())
    assert after.logs_metrics


@pytest.mark.parametrize("apply", [False, True])
def test_no_trail_prints_the_selector_and_the_dedicated_command(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], apply: bool
) -> None:
    code, out, err = smtrail(capsys, "check-trail", *(["--apply"] if apply else []))
    assert code == 1
    assert "smtrail-sql check-trail --dedicated --bucket BUCKET --apply" in out
    assert json.loads(out[out.index("{"):]) == metrics_selector()  # the selector it says to add, in full
    assert err.startswith("error: no trail in region us-east-1 logs BatchPutMetrics data events")
    assert ("use --dedicated --apply" in err) == apply
