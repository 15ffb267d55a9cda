"""check-trail --dedicated against moto's CloudTrail: the plan, --apply (confirmed, idempotent), the fixes of a
trail that differs, the duplicate-billing warning, the bucket policy, and the create-table line it prints."""

from __future__ import annotations

import io
import json
import shlex
import time
from typing import Any

import pytest

from smtrail_sql.aws.dedicated import DedicatedTrail, dedicated_plan, validate_trail_name
from smtrail_sql.aws.trail import metrics_selector, read_trails
from smtrail_sql.errors import SettingError
from tests.aws.conftest import ACCOUNT, MotoAws
from tests.aws.test_cli_aws import smtrail
from tests.aws.test_trail import MANAGEMENT, make_trail

DEDICATED = ["check-trail", "--dedicated", "--bucket", "trail-logs"]
TRIAL_COMPONENTS = {
    "Name": "every trial-component data event",
    "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::SageMaker::ExperimentTrialComponent"]},
    ],
}
CREATE_TABLE = (f"smtrail-sql create-table --bucket trail-logs --prefix smtrail-sql-metrics --accounts {ACCOUNT} "
                "--regions us-east-1")


def trails(moto: MotoAws) -> dict[str, dict[str, Any]]:
    """Every trail as CloudTrail describes it, with its selectors and whether it logs, by name."""
    ct = moto.client("cloudtrail")
    found = {}
    for trail in ct.describe_trails()["trailList"]:
        selectors = ct.get_event_selectors(TrailName=trail["Name"])
        status = ct.get_trail_status(Name=trail["Name"])
        found[trail["Name"]] = {
            "bucket": trail["S3BucketName"],
            "prefix": trail.get("S3KeyPrefix"),
            "multi_region": trail["IsMultiRegionTrail"],
            "organization": trail["IsOrganizationTrail"],
            "advanced": selectors.get("AdvancedEventSelectors", []),
            "basic": selectors.get("EventSelectors", []),
            "logging": status["IsLogging"],
            "started": status.get("StartLoggingTime"),
        }
    return found


def test_the_plan_changes_nothing_and_warns_of_the_other_trail(
    moto: MotoAws, capsys: pytest.CaptureFixture[str]
) -> None:
    make_trail(moto, "main-trail", AdvancedEventSelectors=[MANAGEMENT, metrics_selector()])
    before = trails(moto)
    code, out, _ = smtrail(capsys, "check-trail")
    assert code == 0 and (
        "  shared with other traffic: it also logs management events, which a table over its prefix reads too; a "
        "dedicated trail lets the table read metric events only: smtrail-sql check-trail --dedicated --bucket "
        "trail-logs --apply") in out.splitlines()
    code, out, err = smtrail(capsys, *DEDICATED)
    assert code == 0, err
    assert trails(moto) == before  # nothing created, nothing changed
    assert out.splitlines() == [
        "dedicated trail smtrail-sql-metrics: to create:",
        "  create trail smtrail-sql-metrics in us-east-1 (all regions), delivering to "
        "s3://trail-logs/smtrail-sql-metrics/AWSLogs/",
        "  set its selectors to BatchPutMetrics data events only (no management events)",
        "  start logging",
        "  (nothing changed: re-run with --apply to make these changes)",
        "point the table at its prefix (--regions: every region your jobs log metrics from):",
        f"  {CREATE_TABLE}",
    ]
    [warning] = err.splitlines()
    assert warning.startswith("warning: trail main-trail also logs the BatchPutMetrics data events: two trails "
                              "bill twice (data events cost $0.10 per 100,000 in every trail that logs them) and "
                              "deliver every event twice; remove the metrics selector from main-trail")
    assert "count each event ID once" in warning

    code, out, err = smtrail(capsys, *DEDICATED, "--apply", "--yes")  # the warning stays while both log
    assert code == 0 and "bill twice" in err and len(err.splitlines()) == 1
    assert trails(moto)["main-trail"] == before["main-trail"]  # the other trail is never touched


def test_apply_creates_a_trail_of_metric_events_only_then_a_rerun_does_nothing(
    moto: MotoAws, capsys: pytest.CaptureFixture[str]
) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    code, out, err = smtrail(capsys, *DEDICATED, "--apply", "--yes")
    assert code == 0 and err == ""
    assert ("applied: trail smtrail-sql-metrics: create trail smtrail-sql-metrics in us-east-1 (all regions), "
            "delivering to s3://trail-logs/smtrail-sql-metrics/AWSLogs/; set its selectors to BatchPutMetrics "
            "data events only (no management events); start logging") in out.splitlines()
    assert out.splitlines()[-1] == f"  {CREATE_TABLE}"
    created = trails(moto)["smtrail-sql-metrics"]
    assert created["advanced"] == [metrics_selector()] and created["basic"] == []  # no management events
    assert (created["bucket"], created["prefix"], created["multi_region"], created["logging"]) == (
        "trail-logs", "smtrail-sql-metrics", True, True)
    code, out, _ = smtrail(capsys, "check-trail")
    assert code == 0 and "  dedicated: it logs metric events only, so a table over its prefix reads nothing else" in out

    time.sleep(1.1)  # StartLoggingTime is in seconds: a second StartLogging would move it
    code, out, err = smtrail(capsys, *DEDICATED, "--apply")  # no --yes needed: nothing to confirm
    assert code == 0 and err == ""
    assert out.splitlines()[0] == ("dedicated trail smtrail-sql-metrics: logs only BatchPutMetrics data events to "
                                   "s3://trail-logs/smtrail-sql-metrics/AWSLogs/ and is logging: nothing to do")
    assert "applied" not in out
    assert trails(moto) == {"smtrail-sql-metrics": created}


def test_a_trail_that_differs_gets_its_destination_selectors_and_logging_fixed(
    moto: MotoAws, capsys: pytest.CaptureFixture[str]
) -> None:
    make_trail(moto, "smtrail-sql-metrics", prefix="old", AdvancedEventSelectors=[MANAGEMENT, TRIAL_COMPONENTS])
    moto.client("cloudtrail").stop_logging(Name="smtrail-sql-metrics")
    code, out, err = smtrail(capsys, *DEDICATED)
    assert code == 0 and err == ""  # the trail itself is no duplicate
    changes = [
        "deliver to s3://trail-logs/smtrail-sql-metrics/AWSLogs/ (was s3://trail-logs/old/AWSLogs/)",
        "set its selectors to BatchPutMetrics data events only (it stops logging management events, "
        "trial-component data events other than BatchPutMetrics)",
        "start logging",
    ]
    assert out.splitlines()[:4] == ["dedicated trail smtrail-sql-metrics: to change:", *(f"  {c}" for c in changes)]

    code, out, err = smtrail(capsys, *DEDICATED, "--apply", "--yes")
    assert code == 0, err
    assert f"applied: trail smtrail-sql-metrics: {'; '.join(changes)}" in out.splitlines()
    fixed = trails(moto)["smtrail-sql-metrics"]
    assert (fixed["prefix"], fixed["advanced"], fixed["logging"]) == ("smtrail-sql-metrics", [metrics_selector()], True)
    code, out, _ = smtrail(capsys, *DEDICATED, "--apply")
    assert code == 0 and out.splitlines()[0].endswith("nothing to do")


def test_only_the_selectors_or_only_logging_are_fixed_when_only_they_differ(
    moto: MotoAws, capsys: pytest.CaptureFixture[str]
) -> None:
    make_trail(moto, "smtrail-sql-metrics", prefix="smtrail-sql-metrics", AdvancedEventSelectors=[metrics_selector()])
    moto.client("cloudtrail").stop_logging(Name="smtrail-sql-metrics")
    code, out, _ = smtrail(capsys, *DEDICATED, "--apply", "--yes")
    assert code == 0 and "applied: trail smtrail-sql-metrics: start logging" in out.splitlines()
    moto.client("cloudtrail").put_event_selectors(TrailName="smtrail-sql-metrics",
                                                  AdvancedEventSelectors=[TRIAL_COMPONENTS])
    code, out, _ = smtrail(capsys, *DEDICATED, "--apply", "--yes")
    assert code == 0
    assert ("applied: trail smtrail-sql-metrics: set its selectors to BatchPutMetrics data events only (it stops "
            "logging trial-component data events other than BatchPutMetrics)") in out.splitlines()
    assert trails(moto)["smtrail-sql-metrics"]["advanced"] == [metrics_selector()]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_apply_asks_on_a_terminal_and_refuses_without_one(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    code, out, err = smtrail(capsys, *DEDICATED, "--apply")  # pytest's stdin is no terminal
    assert code == 2
    assert err.splitlines() == ["error: --apply changes CloudTrail and there is no terminal to confirm on: pass --yes"]
    assert trails(moto) == {}

    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = smtrail(capsys, *DEDICATED, "--apply")
    assert code == 1 and "Create trail smtrail-sql-metrics as above?" in err and "error: nothing changed" in err
    assert "Traceback" not in err and trails(moto) == {}

    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, err = smtrail(capsys, *DEDICATED, "--apply")
    assert code == 0, err
    assert trails(moto)["smtrail-sql-metrics"]["logging"]


def test_a_bucket_policy_that_does_not_let_cloudtrail_write_is_one_line_and_the_policy_to_add(
    moto: MotoAws, capsys: pytest.CaptureFixture[str]
) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    moto.require_cloudtrail_bucket_policy("trail-logs")
    code, out, err = smtrail(capsys, *DEDICATED, "--apply", "--yes")
    assert code == 1 and "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("error: cannot create trail smtrail-sql-metrics: the policy of bucket trail-logs does "
                           "not let CloudTrail write; add the statements AWSCloudTrailAclCheck (s3:GetBucketAcl) "
                           "and AWSCloudTrailWrite (s3:PutObject under s3://trail-logs/smtrail-sql-metrics/AWSLogs/)")
    assert trails(moto) == {}
    policy = json.loads(out[out.index("{"): out.rindex("}") + 1])
    write = policy["Statement"][1]
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/smtrail-sql-metrics"
    assert write["Resource"] == f"arn:aws:s3:::trail-logs/smtrail-sql-metrics/AWSLogs/{ACCOUNT}/*"
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn

    moto.client("s3").put_bucket_policy(Bucket="trail-logs", Policy=json.dumps(policy))  # what it printed
    code, out, err = smtrail(capsys, *DEDICATED, "--apply", "--yes")
    assert code == 0, err
    [created] = moto.client("cloudtrail").describe_trails()["trailList"]
    assert created["TrailARN"] == trail_arn


def test_single_region_and_organisation_trails(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    org_id = moto.client("organizations").create_organization(FeatureSet="ALL")["Organization"]["Id"]
    moto.client("s3").create_bucket(Bucket="trail-logs")
    code, out, err = smtrail(capsys, *DEDICATED, "--single-region", "--organization", "--prefix", "metrics",
                             "--name", "ml-metrics", "--apply", "--yes")
    assert code == 0, err
    assert ("applied: trail ml-metrics: create organisation trail ml-metrics in us-east-1 (region us-east-1 only), "
            "delivering to s3://trail-logs/metrics/AWSLogs/") in out
    assert out.splitlines()[-2:] == [
        "point the table at its prefix:",
        f"  smtrail-sql create-table --bucket trail-logs --prefix metrics --org-id {org_id} --accounts {ACCOUNT} "
        "--regions us-east-1",
    ]
    made = trails(moto)["ml-metrics"]
    assert (made["multi_region"], made["organization"], made["advanced"]) == (False, True, [metrics_selector()])


def test_the_printed_create_table_line_points_the_table_at_the_prefix(
    moto: MotoAws, capsys: pytest.CaptureFixture[str]
) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    _, out, _ = smtrail(capsys, *DEDICATED)
    command = shlex.split(out.splitlines()[-1])
    assert command[:2] == ["smtrail-sql", "create-table"]
    code, ddl, err = smtrail(capsys, *command[1:], "--print")
    assert code == 0, err
    assert f"LOCATION 's3://trail-logs/smtrail-sql-metrics/AWSLogs/{ACCOUNT}/CloudTrail/'" in ddl
    assert ("'storage.location.template'="
            "'s3://trail-logs/smtrail-sql-metrics/AWSLogs/${account_id}/CloudTrail/${region}/${day}'") in ddl


@pytest.mark.parametrize(("args", "message"), [
    (["check-trail", "--bucket", "trail-logs"], "error: --bucket goes only with --dedicated"),
    (["check-trail", "--prefix", "p", "--single-region"], "error: --prefix, --single-region go only with --dedicated"),
    (["check-trail", "--dedicated"], "error: --bucket is required with --dedicated"),
    ([*DEDICATED, "--trail", "main-trail"], "error: --dedicated plans its own trail"),
    ([*DEDICATED, "--name", "-bad"], "error: invalid trail name '-bad'"),
    ([*DEDICATED, "--prefix", "x/AWSLogs"], "error: invalid prefix 'x/AWSLogs'"),
])
def test_options_that_do_not_fit_are_one_line_and_exit_2(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = smtrail(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(message) and len(err.splitlines()) == 1


@pytest.mark.parametrize("name", ["ab", "a..b", "a_-b", "1.2.3.4", "a" * 129, "has space", "end-"])
def test_invalid_trail_names(name: str) -> None:
    with pytest.raises(SettingError):
        validate_trail_name(name)


def test_the_plan_of_nothing_and_of_a_broader_trail_under_another_name(moto: MotoAws) -> None:
    from smtrail_sql.aws.session import make_session

    target = DedicatedTrail.create("trail-logs")
    assert dedicated_plan(target, [], "eu-west-1").trail_arn == (
        "arn:aws:cloudtrail:eu-west-1:<account-id>:trail/smtrail-sql-metrics")
    make_trail(moto, "sagemaker-only", AdvancedEventSelectors=[TRIAL_COMPONENTS])
    plan = dedicated_plan(target, read_trails(make_session()), "us-east-1", ACCOUNT)
    assert plan.create and [d.name for d in plan.duplicates] == ["sagemaker-only"]
    assert "trail sagemaker-only also logs" in (plan.duplicate_warning() or "")
