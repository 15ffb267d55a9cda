"""create-table / status / migrate against moto's Athena (the SQL sent) and Glue (the recorded version)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from smtrail_sql import ddl
from smtrail_sql.deploy import create_table, migrate, read_deployed_version, status
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.athena import AthenaEngine
from smtrail_sql.errors import EngineError, QueryFailedError
from smtrail_sql.settings import TableSettings
from tests.aws.conftest import MotoAws, play_catalog

SETTINGS = TableSettings.create(
    bucket="trail-logs",
    accounts="111111111111,222222222222",
    regions="us-east-1,eu-west-1",
    prefix="audit",
    start_date="2024-01-01",
)


def engine() -> AthenaEngine:
    return AthenaEngine.from_settings(EngineSettings(poll_interval=0.01))


def next_version(tmp_path: Path) -> ddl.DdlVersion:
    """A version after the newest shipped one."""
    number = ddl.latest_version() + 1
    path = tmp_path / f"{number:04d}_describe_the_table.sql"
    path.write_text(
        f"-- version: {number}\n-- description: Describe the table.\n\n"
        "ALTER TABLE cloudtrail_events SET TBLPROPERTIES ('comment' = 'SageMaker metrics source');\n"
    )
    return ddl.parse_version(path)


def test_create_table_sends_every_version_and_records_it(moto: MotoAws) -> None:
    athena = engine()
    assert status(athena.session, SETTINGS).deployed is None
    result = create_table(athena, SETTINGS)

    sent = moto.athena_queries()
    assert sent == ddl.render_all(SETTINGS)
    assert sent[0] == "CREATE DATABASE IF NOT EXISTS smtrail"
    assert sent[-1] == ("ALTER TABLE smtrail.cloudtrail_events SET TBLPROPERTIES "
                        f"('smtrail.schema_version'='{ddl.latest_version()}')")
    for sql in sent:
        sqlglot.parse_one(sql, read="athena")
    assert (result.before, result.after, result.changed) == (None, ddl.latest_version(), True)
    assert "applied DDL version(s) 1, 2" in result.describe()
    assert moto.client("athena").get_database(CatalogName="AwsDataCatalog", DatabaseName="smtrail")


def test_a_second_create_table_changes_nothing_and_says_so(moto: MotoAws) -> None:
    athena = engine()
    create_table(athena, SETTINGS)
    played = play_catalog(moto)
    assert read_deployed_version(athena.session, SETTINGS) == ddl.latest_version()

    again = create_table(athena, SETTINGS)
    assert not again.changed
    assert len(moto.athena_queries()) == played  # not one statement reached Athena
    assert (
        again.describe() == f"smtrail.cloudtrail_events is already at schema version {ddl.latest_version()}: "
        "nothing to do"
    )
    assert status(athena.session, SETTINGS).up_to_date


def test_migrate_takes_version_1_to_the_newest(moto: MotoAws) -> None:
    athena = engine()
    create_table(athena, SETTINGS, versions=ddl.versions()[:1])
    played = play_catalog(moto)
    assert read_deployed_version(athena.session, SETTINGS) == 1

    pending = status(athena.session, SETTINGS)
    latest = ddl.latest_version()
    assert (pending.deployed, pending.latest, [v.number for v in pending.pending]) == (1, latest,
                                                                                       list(range(2, latest + 1)))
    assert "0002 views_read_times_in_utc_and_number_points" in pending.describe()[1]

    seen: list[str] = []
    result = migrate(athena, SETTINGS, on_statement=lambda v, sql: seen.append(sql))
    sent = moto.athena_queries()[played:]
    assert sent == [sql for v in ddl.versions()[1:] for sql in ddl.render_version(v, SETTINGS)] == seen
    assert [s.split(" AS")[0] for s in sent[:2]] == [
        "CREATE OR REPLACE VIEW smtrail.sagemaker_metrics", "CREATE OR REPLACE VIEW smtrail.sagemaker_metric_calls"]
    for sql in sent:
        sqlglot.parse_one(sql, read="athena")
    assert (result.before, result.after) == (1, latest)
    assert sum(sql.startswith("CREATE TABLE IF NOT EXISTS smtrail.sagemaker_metric") for sql in sent) == 3  # the store
    play_catalog(moto, played)
    assert status(athena.session, SETTINGS).up_to_date
    assert not migrate(athena, SETTINGS).changed


def test_status_and_migrate_apply_only_what_is_newer(moto: MotoAws, tmp_path: Path) -> None:
    athena = engine()
    create_table(athena, SETTINGS)
    played = play_catalog(moto)
    latest = ddl.latest_version()
    versions = [*ddl.versions(), next_version(tmp_path)]

    pending = status(athena.session, SETTINGS, versions)
    assert (pending.deployed, pending.latest, [v.number for v in pending.pending]) == (latest, latest + 1,
                                                                                      [latest + 1])
    assert f"{latest + 1:04d} describe_the_table: Describe the table." in pending.describe()[1]

    seen: list[str] = []
    result = migrate(athena, SETTINGS, versions=versions, on_statement=lambda v, sql: seen.append(sql))
    assert moto.athena_queries()[played:] == ddl.render_version(versions[-1], SETTINGS) == seen
    assert (result.before, result.after) == (latest, latest + 1)
    play_catalog(moto, played)
    assert status(athena.session, SETTINGS, versions).up_to_date
    assert not migrate(athena, SETTINGS, versions=versions).changed


def test_migrate_needs_a_table(moto: MotoAws) -> None:
    with pytest.raises(EngineError, match="does not exist .* run create-table first"):
        migrate(engine(), SETTINGS)
    assert moto.athena_queries() == []


def test_a_table_without_a_recorded_version_is_version_0(moto: MotoAws) -> None:
    glue = moto.client("glue")
    glue.create_database(DatabaseInput={"Name": "smtrail"})
    glue.create_table(DatabaseName="smtrail", TableInput={"Name": "cloudtrail_events", "Parameters": {}})
    current = status(engine().session, SETTINGS)
    assert current.deployed == 0 and [v.number for v in current.pending] == [v.number for v in ddl.versions()]
    assert "no recorded version" in current.describe()[0]


def test_a_failing_statement_names_its_version(moto: MotoAws) -> None:
    # CREATE DATABASE succeeds, then the CREATE TABLE fails
    moto.fail_next_athena_query("FAILED: SemanticException Access denied to s3://trail-logs/", after=1)
    athena = engine()
    with pytest.raises(
        QueryFailedError,
        match=r"DDL version 1 \(.*\) failed, the table stays at no table: .*"
        r"Access denied",
    ):
        create_table(athena, SETTINGS)
    assert len(moto.athena_queries()) == 2  # nothing was sent after the failure


def test_a_failure_after_a_version_is_recorded_names_that_version(moto: MotoAws, tmp_path: Path) -> None:
    versions = [*ddl.versions(), next_version(tmp_path)]
    first = len(ddl.render_all(SETTINGS))  # CREATE DATABASE + every statement of the shipped versions
    moto.fail_next_athena_query("line 1:1: mismatched input", after=first)
    latest = ddl.latest_version()
    with pytest.raises(QueryFailedError,
                       match=f"DDL version {latest + 1} .* the table stays at version {latest}: .*mismatched input"):
        create_table(engine(), SETTINGS, versions=versions)
