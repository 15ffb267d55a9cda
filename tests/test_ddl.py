"""Versioned DDL: discovery, order, rendering with settings, and what Athena needs in it."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from smtrail_sql import ddl
from smtrail_sql.resources import ddl_dir
from smtrail_sql.settings import TableSettings

SETTINGS = TableSettings.create(bucket="trail-bucket", prefix="audit/logs", org_id="o-abcdefghij",
                                accounts="123456789012,210987654321", regions="us-east-1,eu-west-1",
                                start_date="2023-06-01", database="ml_metrics")
VERSIONS = ddl.versions()


def test_every_ddl_file_is_a_version_in_order() -> None:
    assert [v.number for v in VERSIONS] == list(range(1, len(list(ddl_dir().glob("*.sql"))) + 1))
    assert ddl.latest_version() == VERSIONS[-1].number


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.path.name)
def test_every_rendered_statement_parses_in_athena(version: ddl.DdlVersion) -> None:
    statements = ddl.render_version(version, SETTINGS, comments=True)
    for sql in statements:
        parsed = [s for s in sqlglot.parse(sql, read="athena", error_level=ErrorLevel.RAISE) if s]
        assert len(parsed) == 1
        assert not list(parsed[0].find_all(exp.Placeholder))
    assert statements[-1] == (
        f"ALTER TABLE ml_metrics.cloudtrail_events SET TBLPROPERTIES ('smtrail.schema_version'='{version.number}')"
    )


def test_table_projects_partitions_from_the_settings() -> None:
    create_table = ddl.render_version(VERSIONS[0], SETTINGS)[0]
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS ml_metrics.cloudtrail_events" in create_table
    assert "'projection.account_id.values'='123456789012,210987654321'" in create_table
    assert "'projection.region.values'='us-east-1,eu-west-1'" in create_table
    assert "'projection.day.range'='2023/06/01,NOW'" in create_table
    assert "'projection.day.format'='yyyy/MM/dd'" in create_table
    template = "s3://trail-bucket/audit/logs/AWSLogs/o-abcdefghij/${account_id}/CloudTrail/${region}/${day}"
    assert f"'storage.location.template'='{template}'" in create_table
    # never rooted at AWSLogs/ itself, where digest files would be read as events
    assert "LOCATION 's3://trail-bucket/audit/logs/AWSLogs/o-abcdefghij/123456789012/CloudTrail/'" in create_table
    assert "org.apache.hive.hcatalog.data.JsonSerDe" in create_table
    assert "com.amazon.emr.cloudtrail.CloudTrailInputFormat" in create_table


def test_views_are_qualified_and_named_by_settings() -> None:
    settings = TableSettings.create(bucket="b-1", accounts="123456789012", regions="us-east-1",
                                    database="db1", table="trail", view="points")
    statements = ddl.render_version(VERSIONS[0], settings)
    assert any(s.startswith("CREATE OR REPLACE VIEW db1.points AS") for s in statements)
    assert any(s.startswith("CREATE OR REPLACE VIEW db1.points_calls AS") for s in statements)
    assert all("FROM db1.trail AS e" in s for s in statements if "VIEW" in s)


def test_newer_than_lists_what_to_apply() -> None:
    assert ddl.newer_than(None) == list(VERSIONS)
    assert ddl.newer_than(ddl.latest_version()) == []
    assert ddl.newer_than(0) == list(VERSIONS)


def test_render_all_starts_with_the_database_and_is_a_console_script() -> None:
    statements = ddl.render_all(SETTINGS)
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS ml_metrics"
    script = ddl.script(statements)
    assert script.count(";\n") == len(statements)
    assert ddl.render_all(SETTINGS, since=ddl.latest_version()) == []
