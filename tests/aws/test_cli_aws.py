"""The AWS commands driven through the real entry point (errors become one line and an exit code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smtrail_sql import ddl
from smtrail_sql.settings import TableSettings
from tests.aws.conftest import MotoAws, play_catalog
from tests.aws.test_estimate_sync import BUCKET, A, fill_bucket

LOCATION = ["--bucket", BUCKET, "--accounts", A, "--regions", "us-east-1"]
WINDOW = ["--since", "2024-05-02", "--until", "2024-05-03T06:00:00Z"]


def smtrail(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``smtrail-sql ARGS`` in-process through :func:`main` (the console-script entry point)."""
    import sys

    from smtrail_sql.cli import main

    argv = sys.argv
    sys.argv = ["smtrail-sql", *args]
    try:
        main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_create_table_runs_the_ddl_then_a_rerun_does_nothing(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = smtrail(capsys, "create-table", *LOCATION)
    assert code == 0, err
    settings = TableSettings.create(bucket=BUCKET, accounts=A, regions="us-east-1")
    assert moto.athena_queries() == ddl.render_all(settings)
    assert f"applied DDL version(s) {', '.join(str(v.number) for v in ddl.versions())} (" in out
    played = play_catalog(moto)

    code, out, _ = smtrail(capsys, "create-table", *LOCATION)
    assert code == 0
    assert out.strip() == (f"smtrail.cloudtrail_events is already at schema version {ddl.latest_version()}: "
                           "nothing to do")
    assert len(moto.athena_queries()) == played

    code, out, _ = smtrail(capsys, "status")
    latest = ddl.latest_version()
    assert (code, out.splitlines()) == (0, [f"smtrail.cloudtrail_events: deployed version {latest}, newest "
                                            f"{latest}: up to date",
                                            "metric store: deployed, nothing refreshed yet (run smtrail-sql refresh)"])


def test_status_of_nothing_and_migrate_without_a_table(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = smtrail(capsys, "status", "--database", "metrics")
    assert code == 0 and "metrics.cloudtrail_events: not deployed" in out
    code, out, err = smtrail(capsys, "migrate", *LOCATION)
    assert code == 1
    assert err.strip() == (
        "error: table smtrail.cloudtrail_events does not exist in catalog AwsDataCatalog: run create-table first"
    )


def test_estimate_prints_files_bytes_and_cost(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    expected = fill_bucket(moto)
    code, out, err = smtrail(capsys, "estimate", "metric-summary", *LOCATION, *WINDOW)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{len(expected)} files"
    assert lines[1] == f"{sum(len(f.body) for f in expected)} bytes"
    assert "$5/TB" in lines[3]


def test_sync_then_resume(moto: MotoAws, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    expected = fill_bucket(moto)
    code, out, err = smtrail(capsys, "sync", *LOCATION, *WINDOW, str(tmp_path))
    assert code == 0, err
    assert out.startswith(f"{len(expected)} files") and f"{len(expected)} downloaded" in out
    assert all((tmp_path / f.key).read_bytes() == f.body for f in expected)
    code, out, _ = smtrail(capsys, "sync", *LOCATION, *WINDOW, str(tmp_path))
    assert "0 downloaded" in out and f"{len(expected)} already present" in out


def test_estimate_and_sync_read_the_days_the_delivery_lag_reaches(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fill_bucket(moto)  # two files a day in A/us-east-1, 05-01 .. 05-06; the window ends 05-03 06:00
    for options, env, days in ((["--delivery-lag", "0"], None, ["02", "03"]),
                               (["--delivery-lag", "2d"], None, ["02", "03", "04", "05"]),
                               ([], "3d", ["02", "03", "04", "05", "06"])):
        with pytest.MonkeyPatch.context() as patch:
            if env:
                patch.setenv("SMTRAIL_DELIVERY_LAG", env)
            code, out, err = smtrail(capsys, "estimate", "runs", *LOCATION, *WINDOW, *options)
            assert code == 0, err
            assert out.splitlines()[0] == f"{2 * len(days)} files", (options, env)
            target = tmp_path / "-".join(days)
            code, out, err = smtrail(capsys, "sync", *LOCATION, *WINDOW, *options, str(target))
            assert code == 0, err
        synced = sorted({p.parent.name for p in target.rglob("*.json.gz")})
        assert synced == days, (options, env)


def test_check_trail_prints_the_selector_then_applies_it(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    ct = moto.client("cloudtrail")
    ct.create_trail(Name="main-trail", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    ct.start_logging(Name="main-trail")
    management = {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
    ct.put_event_selectors(TrailName="main-trail", AdvancedEventSelectors=[management])

    code, out, _ = smtrail(capsys, "check-trail")
    assert code == 1
    assert "does NOT log BatchPutMetrics" in out
    selector = json.loads(out[out.index("{") :])
    assert {"Field": "resources.type", "Equals": ["AWS::SageMaker::ExperimentTrialComponent"]} in selector[
        "FieldSelectors"
    ]

    code, out, _ = smtrail(capsys, "check-trail", "--trail", "main-trail", "--apply")
    assert code == 0 and "applied: trail main-trail now has 2 advanced selectors" in out
    code, out, _ = smtrail(capsys, "check-trail")
    assert code == 0 and "logs every BatchPutMetrics data event" in out
    stored = ct.get_event_selectors(TrailName="main-trail")["AdvancedEventSelectors"]
    assert stored[0] == management and len(stored) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "estimate",
                "metric-summary",
                "--bucket",
                "Bad_Bucket",
                "--accounts",
                A,
                "--regions",
                "us-east-1",
            ],
            "error: invalid bucket 'Bad_Bucket'",
        ),
        (
            ["sync", "--bucket", BUCKET, "--accounts", "123", "--regions", "us-east-1", "/tmp/x"],
            "error: invalid account '123'",
        ),
        (
            ["create-table", *LOCATION, "--output-location", "results/"],
            "error: invalid output location 'results/'",
        ),
        (["status", "--database", "Not-Valid"], "error: invalid database 'Not-Valid'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = smtrail(capsys, *args)
    assert code == 2
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_max_scan_refuses_a_query_over_the_limit(moto: MotoAws) -> None:
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.errors import EngineError, SettingError
    from smtrail_sql.render import render
    from smtrail_sql.scan import refuse_over_max_scan
    from smtrail_sql.templates import TemplateLibrary
    from smtrail_sql.window import TimeWindow

    expected = fill_bucket(moto)
    size = sum(len(f.body) for f in expected)
    query = render(
        TemplateLibrary.load().get("metric-summary"),
        {},
        window=TimeWindow.parse(since="2024-05-02", until="2024-05-03T06:00:00Z"),
    )

    def limit(max_scan: str | None, bucket: str | None = BUCKET) -> EngineSettings:
        return EngineSettings(max_scan=max_scan, bucket=bucket, accounts=A, regions="us-east-1")

    refuse_over_max_scan(query, limit(str(size)))  # exactly at the limit: allowed
    refuse_over_max_scan(query, limit(None))  # no limit: nothing listed
    with pytest.raises(EngineError, match=r"refusing to run metric-summary: it would scan about .* \(6 files\)"):
        refuse_over_max_scan(query, limit(str(size - 1)))
    with pytest.raises(SettingError, match="give --bucket, --accounts and --regions"):
        refuse_over_max_scan(query, limit("1GB", bucket=None))


def test_the_console_progress_shows_athenas_status_line(moto: MotoAws, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from smtrail_sql.cli.console import ConsoleProgress, live_progress
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.engines.athena import AthenaEngine

    monkeypatch.setenv("SMTRAIL_DATABASE", "metrics")
    monkeypatch.setenv("AWS_ATHENA_WORK_GROUP", "primary")
    with live_progress() as progress:
        assert progress is None  # pytest's stderr is not a terminal
    screen = io.StringIO()
    progress = ConsoleProgress(Console(file=screen, force_terminal=True, width=120))
    engine = AthenaEngine.from_settings(EngineSettings(poll_interval=0.01))
    assert (engine.settings.database, engine.settings.workgroup) == ("metrics", "primary")
    result = engine.run_sql("SELECT 1", progress=progress)
    progress.close()
    assert result.stats is not None and result.stats.query_id in screen.getvalue()
    assert "scanned" in screen.getvalue()


@pytest.mark.parametrize("command", [
    ["run", "runs", "--database", "metrics"],
    ["plot", "-t", "tc-1", "-m", "loss", "--database", "metrics", "--output", "curves.png"],
], ids=["run", "plot"])
def test_every_command_that_runs_on_athena_checks_max_scan_and_reports_the_cost(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    command: list[str],
) -> None:
    from tests.aws.test_athena_engine import result_set

    monkeypatch.chdir(tmp_path)
    expected = fill_bucket(moto)
    curve = [("trial_component", "varchar"), ("metric_name", "varchar"), ("step", "bigint"), ("value", "double"),
             ("metric_time", "timestamp")]
    moto.seed_athena_results(result_set(curve, [["tc-1", "loss", "1", "0.5", "2024-05-02 10:00:00.000"]]))
    athena = [*command, "--engine", "athena", "--output-location", "s3://athena-results/q/", *LOCATION, *WINDOW]
    moto.client("s3").create_bucket(Bucket="athena-results")
    code, _, err = smtrail(capsys, *athena, "--max-scan", "1KB")
    assert code == 1 and "over --max-scan" in err
    assert moto.athena_queries() == []  # refused before anything reached Athena
    code, _, err = smtrail(capsys, *athena, "--max-scan", str(sum(len(f.body) for f in expected)))
    assert len(moto.athena_queries()) == 1 and "FROM metrics.sagemaker_metrics" in moto.athena_queries()[0]
    assert "scanned 0 B, cost $0.000048 (10 MiB minimum)" in err
    assert code == 0, err
    execution = moto.client("athena").get_query_execution(QueryExecutionId=err.split("query id ")[-1].split()[0])
    assert execution["QueryExecution"]["ResultConfiguration"]["OutputLocation"].startswith("s3://athena-results/q/")


@pytest.mark.parametrize("command", [["estimate", "runs", *LOCATION, *WINDOW], ["sync", *LOCATION, *WINDOW, "logs"]])
def test_no_credentials_is_one_clear_line(
    moto: MotoAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    command: list[str],
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    code, out, err = smtrail(capsys, *command)
    assert code == 1 and out == ""
    assert err.startswith("error: cannot list s3://") and "no AWS credentials found" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").rglob("*.json.gz"))


def test_a_missing_bucket_names_the_service_error(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = smtrail(capsys, "estimate", "runs", "--bucket", "no-such-bucket", "--accounts", A,
                           "--regions", "us-east-1", *WINDOW)
    assert code == 1
    assert err.startswith("error: cannot list s3://no-such-bucket/AWSLogs/") and "NoSuchBucket" in err
