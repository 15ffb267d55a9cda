"""Deployments that follow their settings, against moto (Athena receives the SQL, Glue holds what it did):
create-table changes the projection, refuses a table it did not make, creates dropped views again; status sees
them missing; estimate, sync and migrate read the location back from the table; a config profile feeds them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from smtrail_sql import ddl
from smtrail_sql.deploy import DeployedTable, create_table, status
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.athena import AthenaEngine
from smtrail_sql.errors import EngineError
from smtrail_sql.projection import TableProjection, read_projection
from smtrail_sql.settings import TableSettings
from tests.aws.conftest import MotoAws, play_catalog
from tests.aws.test_cli_aws import WINDOW, smtrail
from tests.aws.test_estimate_sync import BUCKET, A, B, fill_bucket

FIRST = TableSettings.create(bucket=BUCKET, accounts=A, regions="us-east-1", start_date="2024-01-01")


def engine() -> AthenaEngine:
    return AthenaEngine.from_settings(EngineSettings(poll_interval=0.01))


def deployed(moto: MotoAws, settings: TableSettings = FIRST) -> int:
    """create-table with ``settings``, played into Glue; the number of statements sent so far."""
    create_table(engine(), settings)
    return play_catalog(moto)


def properties(sql: str) -> dict[str, str]:
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Alter)
    return {p.name: p.args["value"].name for p in tree.find_all(exp.Property)}


def test_the_table_gives_back_its_settings(moto: MotoAws) -> None:
    settings = TableSettings.create(bucket=BUCKET, accounts=f"{A},{B}", regions="us-east-1,eu-west-1",
                                    prefix="audit/trails", org_id="o-abcdef1234", start_date="2024-01-01")
    deployed(moto, settings)
    found = read_projection(engine().session, settings)
    assert found == TableProjection(BUCKET, "audit/trails", "o-abcdef1234", f"{A},{B}", "us-east-1,eu-west-1",
                                    settings.start_date)
    assert read_projection(engine().session, DeployedTable("smtrail", "nothing_here")) is None


@pytest.mark.parametrize(("change", "expected"), [
    ({"accounts": f"{A},{B}"}, {"projection.account_id.values": f"{A},{B}"}),
    ({"regions": "us-east-1,eu-west-1"}, {"projection.region.values": "us-east-1,eu-west-1"}),
    ({"start_date": "2023-06-01"}, {"projection.day.range": "2023/06/01,NOW"}),
    ({"prefix": "audit"}, {"storage.location.template":
                           f"s3://{BUCKET}/audit/AWSLogs/${{account_id}}/CloudTrail/${{region}}/${{day}}"}),
])
def test_a_rerun_with_other_settings_changes_the_projection(moto: MotoAws, change: dict[str, str],
                                                            expected: dict[str, str]) -> None:
    played = deployed(moto)
    settings = TableSettings.create(**{"bucket": BUCKET, "accounts": A, "regions": "us-east-1",
                                       "start_date": "2024-01-01", **change})
    result = create_table(engine(), settings)
    sent = moto.athena_queries()[played:]
    assert len(sent) == 1 and properties(sent[0]) == expected  # only what changed, nothing else
    assert result.applied == [] and [c.property for c in result.projection] == list(expected)
    assert result.describe().startswith("smtrail.cloudtrail_events: the partition projection follows the settings "
                                        "now: ")
    play_catalog(moto, played)
    assert not create_table(engine(), settings).changed  # it follows them now


def test_create_table_says_what_changed(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deployed(moto)
    code, out, err = smtrail(capsys, "create-table", "--accounts", f"{A},{B}", "--regions", "us-east-1,eu-west-1")
    assert code == 0, err
    assert out.strip() == ("smtrail.cloudtrail_events: the partition projection follows the settings now: "
                           f"accounts {A} -> {A},{B}; regions us-east-1 -> us-east-1,eu-west-1")
    assert "[table] ALTER TABLE smtrail.cloudtrail_events SET TBLPROPERTIES" in err
    # the bucket and start date were not given: they stayed as deployed
    assert "log location" not in out and "start date" not in out


def test_a_table_smtrail_sql_did_not_create_is_refused_then_adopted(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    glue = moto.client("glue")
    glue.create_database(DatabaseInput={"Name": "smtrail"})
    glue.create_table(DatabaseName="smtrail", TableInput={"Name": "cloudtrail_events", "Parameters": {
        "projection.account_id.values": B}})
    location = ["--bucket", BUCKET, "--accounts", A, "--regions", "us-east-1"]
    for command in ("create-table", "migrate"):
        code, out, err = smtrail(capsys, command, *location)
        assert code == 1 and out == ""
        assert err.strip() == ("error: table smtrail.cloudtrail_events exists but smtrail-sql did not create it (it "
                               "records no smtrail.schema_version): pass --adopt to take it over (its partition "
                               "projection is set to these settings), or name another one with --table")
    assert moto.athena_queries() == []

    code, out, err = smtrail(capsys, "create-table", *location, "--adopt")
    assert code == 0, err
    sent = moto.athena_queries()
    settings = TableSettings.create(bucket=BUCKET, accounts=A, regions="us-east-1")
    assert sent[:-1] == [sql for v in ddl.versions() for sql in ddl.render_version(v, settings)]
    assert properties(sent[-1])["projection.account_id.values"] == A
    assert f"applied DDL version(s) {', '.join(str(v.number) for v in ddl.versions())}" in out
    assert f"accounts {B} -> {A}" in out


def test_status_reports_missing_views_and_create_table_makes_them_again(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    played = deployed(moto)
    glue = moto.client("glue")
    glue.delete_table(DatabaseName="smtrail", Name="sagemaker_metric_calls")
    glue.delete_table(DatabaseName="smtrail", Name="sagemaker_metrics_refreshes")
    current = status(engine().session, FIRST)
    assert current.missing == ["smtrail.sagemaker_metric_calls (view)", "smtrail.sagemaker_metrics_refreshes (table)"]
    code, out, _ = smtrail(capsys, "status")
    assert code == 0
    assert ("smtrail.cloudtrail_events: missing from the catalog: smtrail.sagemaker_metric_calls (view), "
            "smtrail.sagemaker_metrics_refreshes (table) (run create-table to create them again)") in out.splitlines()

    assert len(moto.athena_queries()) == played  # nor did status read the store's missing log

    result = create_table(engine(), FIRST)
    sent = moto.athena_queries()[played:]
    latest_view = ddl.render_version(ddl.versions()[1], FIRST)[1]  # version 2 replaced version 1's calls view
    assert sent[0] == latest_view and sent[0].startswith("CREATE OR REPLACE VIEW smtrail.sagemaker_metric_calls")
    assert sent[1].startswith("CREATE TABLE IF NOT EXISTS smtrail.sagemaker_metrics_refreshes")
    assert len(sent) == 2 and result.recreated == ["smtrail.sagemaker_metric_calls",
                                                   "smtrail.sagemaker_metrics_refreshes"]
    play_catalog(moto, played)
    assert status(engine().session, FIRST).missing == []


def test_estimate_sync_and_migrate_read_the_location_from_the_table(
        moto: MotoAws, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    expected = fill_bucket(moto)
    played = deployed(moto)
    code, out, err = smtrail(capsys, "estimate", "metric-summary", *WINDOW)
    assert code == 0, err
    assert out.splitlines()[0] == f"{len(expected)} files"
    code, out, err = smtrail(capsys, "sync", *WINDOW, str(tmp_path))
    assert code == 0, err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json.gz")) == sorted(
        f.key for f in expected)
    code, out, err = smtrail(capsys, "migrate")
    assert (code, out.strip()) == (0, f"smtrail.cloudtrail_events is already at schema version "
                                      f"{ddl.latest_version()}: nothing to do"), err
    # a flag still wins over the table: account B's files, B is not projected (estimate reads S3 as told)
    code, out, _ = smtrail(capsys, "estimate", "metric-summary", "--accounts", B, *WINDOW)
    assert code == 0 and out.splitlines()[0] == "3 files"
    assert len(moto.athena_queries()) == played


def test_without_a_table_the_missing_setting_is_named(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = smtrail(capsys, "estimate", "runs", "--bucket", BUCKET, *WINDOW)
    assert code == 2 and out == ""
    assert err.strip() == ("error: accounts is required (--accounts, SMTRAIL_ACCOUNTS or the config file): it is not "
                           "given and the deployed table smtrail.cloudtrail_events cannot supply it (there is no "
                           "such table)")


def test_a_config_profile_feeds_the_commands_and_config_shows_the_table(
        moto: MotoAws, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = fill_bucket(moto)
    path = tmp_path / "config.toml"
    path.write_text(f'[metrics]\nbucket = "{BUCKET}"\naccounts = ["{A}"]\nregions = "us-east-1"\n'
                    'database = "metrics"\n', encoding="utf-8")
    monkeypatch.setenv("SMTRAIL_CONFIG_FILE", str(path))
    monkeypatch.setenv("SMTRAIL_CONFIG_PROFILE", "metrics")
    code, out, err = smtrail(capsys, "estimate", "metric-summary", *WINDOW)
    assert code == 0, err
    assert out.splitlines()[0] == f"{len(expected)} files"
    code, out, err = smtrail(capsys, "create-table", "--start-date", "2024-01-01")
    assert code == 0, err
    assert moto.athena_queries()[0] == "CREATE DATABASE IF NOT EXISTS metrics"
    play_catalog(moto)

    path.write_text('[metrics]\ndatabase = "metrics"\n', encoding="utf-8")
    code, out, err = smtrail(capsys, "config", "show", "--deployed")
    assert code == 0, err
    shown = {line.split()[0]: line.split(maxsplit=2)[1:] for line in out.splitlines()[2:]}
    assert shown["bucket"] == [BUCKET, "deployed table"]
    assert shown["start_date"] == ["2024-01-01", "deployed table"]
    assert shown["database"] == ["metrics", "profile metrics"]


def test_migrate_of_a_foreign_table_in_the_library_is_refused(moto: MotoAws) -> None:
    from smtrail_sql.deploy import migrate

    glue = moto.client("glue")
    glue.create_database(DatabaseInput={"Name": "smtrail"})
    glue.create_table(DatabaseName="smtrail", TableInput={"Name": "cloudtrail_events", "Parameters": {}})
    with pytest.raises(EngineError, match="did not create it"):
        migrate(engine(), FIRST)
    result = migrate(engine(), FIRST, adopt=True)
    assert result.before == 0 and result.after == ddl.latest_version()
