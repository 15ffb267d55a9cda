"""The metric store: refresh on a real Trino with Iceberg (reruns change nothing, late files and redeliveries are
folded in once, every template reads the same rows from the store as from the trail), and the pure parts: chunks,
what the refresh log says the store holds, and the SQL sent to Athena.

(The equivalence suite compares the store with the three engines on the lead and hostile buckets too.)
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from smtrail_sql import ddl
from smtrail_sql.errors import EngineError, SettingError
from smtrail_sql.refresh import RefreshFailed, read_coverage, run_refresh
from smtrail_sql.render import Naming, render
from smtrail_sql.result import QueryResult
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS, REFRESH_LOG_COLUMNS
from smtrail_sql.settings import TableSettings
from smtrail_sql.store import (
    RefreshChunk,
    StoreCoverage,
    chunk_statements,
    compact_sql,
    log_sql,
    plan_chunks,
    refresh_range,
)
from smtrail_sql.templates import TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.events import ACCOUNT, REGION, batch_put_metrics, log_key, metric_bucket, write_log_file
from tests.sample_params import all_params, required_params

TEMPLATES = TemplateLibrary.load()
WINDOW = TimeWindow.parse(since="2024-04-30", until="2024-05-03")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- chunks and ranges ---------------------------------------------------------------------------------------

def test_chunks_cover_the_range_once_in_order() -> None:
    chunks = plan_chunks(date(2024, 1, 1), date(2024, 3, 31), 30)
    assert [c.days for c in chunks] == [30, 30, 30, 1]  # 91 days
    assert chunks[0].first_day == date(2024, 1, 1) and chunks[-1].last_day == date(2024, 3, 31)
    assert all(b.first_day == a.last_day + timedelta(days=1) for a, b in zip(chunks, chunks[1:], strict=False))


@pytest.mark.parametrize("days", [0, -1, 61])
def test_chunk_days_out_of_range_is_a_setting_error(days: int) -> None:
    with pytest.raises(SettingError, match="--chunk-days"):
        plan_chunks(date(2024, 1, 1), date(2024, 1, 2), days)


def test_a_refresh_starts_where_the_store_stops_being_whole_less_the_lag() -> None:
    coverage = StoreCoverage.from_log([(date(2024, 5, 1), date(2024, 5, 3), at("2024-05-03 10:00"))])
    assert refresh_range(coverage, None, timedelta(days=1), date(2024, 5, 5)) == (date(2024, 5, 2), date(2024, 5, 5))
    assert refresh_range(coverage, None, timedelta(days=4), date(2024, 5, 5)) == (date(2024, 4, 29),
                                                                                  date(2024, 5, 5))
    backfill = TimeWindow.parse(since="2024-01-01", until="2024-02-01")
    assert refresh_range(coverage, backfill, timedelta(days=1), date(2024, 5, 5)) == (date(2024, 1, 1),
                                                                                      date(2024, 2, 2))
    empty = refresh_range(StoreCoverage(()), None, timedelta(days=1), date(2024, 5, 5))
    assert empty == (date(2024, 4, 28), date(2024, 5, 5))  # the days a default (7-day) query reads


# -- what the refresh log says the store holds -------------------------------------------------------------------

def test_coverage_holds_days_read_after_they_ended_and_the_last_one_in_part() -> None:
    log = [(date(2024, 5, 1), date(2024, 5, 2), at("2024-05-03 00:10")),  # both days whole
           (date(2024, 5, 2), date(2024, 5, 3), at("2024-05-03 09:00"))]  # 05-03 up to 09:00
    coverage = StoreCoverage.from_log(log)
    assert [(s.start, s.until) for s in coverage.spans] == [(at("2024-05-01 00:00"), at("2024-05-03 09:00"))]
    assert coverage.last_refresh == at("2024-05-03 09:00")


def test_coverage_breaks_at_a_gap_and_at_a_day_held_in_part() -> None:
    log = [(date(2024, 5, 1), date(2024, 5, 1), at("2024-05-01 12:00")),  # 05-01 in part
           (date(2024, 5, 2), date(2024, 5, 2), at("2024-05-03 01:00")),  # 05-02 whole
           (date(2024, 5, 5), date(2024, 5, 5), at("2024-05-06 01:00"))]  # a gap before it
    spans = [(s.start, s.until) for s in StoreCoverage.from_log(log).spans]
    assert spans == [(at("2024-05-01"), at("2024-05-01 12:00")), (at("2024-05-02"), at("2024-05-03")),
                     (at("2024-05-05"), at("2024-05-06"))]


def test_the_store_serves_a_window_only_when_it_holds_all_its_delivery_days() -> None:
    coverage = StoreCoverage.from_log([(date(2024, 5, 1), date(2024, 5, 10), at("2024-05-10 12:00"))])
    now = at("2024-05-10 12:30")
    inside = TimeWindow.parse(since="2024-05-02", until="2024-05-05")  # delivery days 05-02..05-06
    assert coverage.serves(inside, now) is None
    up_to_now = TimeWindow.parse(since="2024-05-08", now=now)  # runs to now: 30 min stale is fresh enough
    assert coverage.serves(up_to_now, now) is None
    stale = coverage.serves(up_to_now, at("2024-05-10 15:00"))
    assert stale is not None and "until 2024-05-10 12:00 UTC" in stale and "refresh" in stale
    before = coverage.serves(TimeWindow.parse(since="2024-04-20", until="2024-05-05"), now)
    assert before is not None and "2024-04-20" in before
    assert "nothing" in (StoreCoverage(()).serves(inside, now) or "")
    assert "all-time" in (coverage.serves(TimeWindow.all_time(), now) or "")


# -- the SQL sent to Athena ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("database", ["smtrail", "select", "_metrics"])
def test_every_refresh_statement_is_one_athena_statement_of_its_kind(database: str) -> None:
    naming = Naming(database=database)
    chunk = RefreshChunk(date(2024, 5, 1), date(2024, 5, 30))
    sent = [*chunk_statements(naming, chunk), log_sql(naming, chunk, at("2024-05-30 10:00"), at("2024-05-30 10:01"),
                                                       "smtrail-sql 'quoted' \\ version")]
    kinds = []
    for sql in sent:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s]
        assert len(statements) == 1
        kinds.append(type(statements[0]).__name__)
        tables = {t.sql(dialect="athena") for t in statements[0].find_all(exp.Table)}
        assert all(t.startswith((f'"{database}".', f"{database}.")) for t in tables), tables
    assert kinds == ["Delete", "Merge", "Delete", "Merge", "Insert"]
    assert "'smtrail-sql ''quoted'' \\ version'" in sent[-1]  # a value is a literal, never SQL


def test_compaction_names_both_store_tables() -> None:
    assert compact_sql(Naming(database="select")) == [
        'OPTIMIZE "select".sagemaker_metrics_store REWRITE DATA USING BIN_PACK',
        'VACUUM "select".sagemaker_metrics_store',
        'OPTIMIZE "select".sagemaker_metric_calls_store REWRITE DATA USING BIN_PACK',
        'VACUUM "select".sagemaker_metric_calls_store']


def test_the_store_tables_have_the_views_columns() -> None:
    """One truth: the DDL's store tables hold exactly the views' columns (and the log its own), same types."""
    settings = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1")
    version = next(v for v in ddl.versions() if v.name == "metric_store")
    created = {}
    for sql in ddl.render_version(version, settings)[:-1]:
        tree = sqlglot.parse_one(sql, read="athena")
        assert isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema)
        columns = {c.name: c.args["kind"].sql(dialect="trino") for c in tree.this.expressions}
        created[tree.this.this.name] = columns
        assert f"LOCATION 's3://trail-logs/smtrail-sql/smtrail/{tree.this.this.name}/'" in sql
    assert created["sagemaker_metrics_store"] == METRIC_POINT_COLUMNS
    assert created["sagemaker_metric_calls_store"] == METRIC_CALL_COLUMNS
    assert created["sagemaker_metrics_refreshes"] == REFRESH_LOG_COLUMNS


# -- on Trino, with Iceberg ------------------------------------------------------------------------------------------

def _snapshots(shape: Any, table: str) -> int:
    return int(shape.server.execute(f'SELECT count(*) FROM iceberg."{shape.schema}"."{table}$snapshots"')[0][0])


def _stored(shape: Any) -> dict[str, Counter[tuple[Any, ...]]]:
    return {table: Counter(shape.execute(f"SELECT * FROM {table}"))
            for table in ("sagemaker_metrics_store", "sagemaker_metric_calls_store")}


def _every_template_reads_the_same_rows(shape: Any) -> None:
    trail, store = Naming(database=shape.schema), Naming(database=shape.schema).reading_store()
    for template in TEMPLATES.templates.values():
        for params in (required_params(template), all_params(template)):
            from_trail = render(template, params, window=WINDOW, naming=trail)
            from_store = render(template, params, window=WINDOW, naming=store)
            assert "_store" in from_store.sql and "_store" not in from_trail.sql
            assert Counter(shape.execute(from_store.sql)) == Counter(shape.execute(from_trail.sql)), template.name


@pytest.mark.trino
def test_refresh_again_changes_nothing_and_late_files_and_redeliveries_come_in_once(
        trino: Any, tmp_path: Path) -> None:
    from tests.trino_shape import add_log_files, athena_shaped_trino
    from tests.trino_store import TrinoStatements, refresh_store

    shape = athena_shaped_trino(trino, metric_bucket(tmp_path), schema="store_refresh")
    first = refresh_store(shape, chunk_days=1)
    assert first.chunks and all(c.bytes_scanned for c in first.chunks)  # Trino says what each chunk read
    stored = _stored(shape)
    assert sum(stored["sagemaker_metrics_store"].values()) >= 9  # every point of the bucket (two days)
    snapshots = {t: _snapshots(shape, t) for t in stored}

    refresh_store(shape)  # the same days again: nothing is added, no table changes (not even a snapshot)
    assert _stored(shape) == stored
    assert {t: _snapshots(shape, t) for t in stored} == snapshots

    # a late file on a day already folded in, and an event delivered again two days later
    late = batch_put_metrics("e-late", "2024-05-01T23:50:00Z", [
        {"metricName": "train:loss", "timestamp": 1714607400, "step": 99, "value": 0.125}])
    redelivered = batch_put_metrics("e-ms", "2024-05-01T12:00:00Z", [  # e-ms's points, as first delivered
        {"metricName": "train:loss", "timestamp": 1714564790000, "step": 1, "value": 0.9},
        {"metricName": "train:loss", "timestamp": 1714564795500, "step": 2, "value": 0.7}])
    add_log_files(shape, [
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/01", "20240501T2355Z", "late"), [late]),
        write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/03", "20240503T0105Z", "again"), [redelivered]),
    ])
    refresh_store(shape)
    after = _stored(shape)["sagemaker_metrics_store"]
    added = after - stored["sagemaker_metrics_store"]
    assert sorted((row[4], row[2]) for row in added.elements()) == [  # (event_id, delivery day)
        ("e-late", "2024/05/01"), ("e-ms", "2024/05/03"), ("e-ms", "2024/05/03")]  # the copy, stored once
    _every_template_reads_the_same_rows(shape)  # ... and read once, as from the trail
    points = shape.execute("SELECT count(*) FROM (SELECT DISTINCT event_id, point_index FROM sagemaker_metrics)")
    assert points[0][0] == sum(1 for _ in {(r[4], r[5]) for r in after.elements()})

    snapshots = {t: _snapshots(shape, t) for t in stored}
    refresh_store(shape)
    assert {t: _snapshots(shape, t) for t in stored} == snapshots

    coverage = read_coverage(TrinoStatements(shape), Naming(database=shape.schema))
    assert coverage.spans[0].start == at("2024-05-01 00:00") and coverage.last_refresh is not None


class FailingOn:
    """Runs statements on Trino, and fails the one that reads the given delivery day (as Athena fails a query)."""

    def __init__(self, runner: Any, day: str) -> None:
        self.runner, self.day, self.failed = runner, day, False

    def run_sql(self, sql: str, *, progress: Any = None) -> QueryResult:
        if f"'{self.day}'" in sql and sql.startswith("MERGE") and not self.failed:
            self.failed = True
            raise EngineError("Athena query FAILED: ICEBERG_TOO_MANY_OPEN_PARTITIONS (a stand-in failure)")
        result: QueryResult = self.runner.run_sql(sql, progress=progress)
        return result


@pytest.mark.trino
def test_a_failed_chunk_stops_the_refresh_and_keeps_the_chunks_before_it(trino: Any, tmp_path: Path) -> None:
    from tests.trino_shape import athena_shaped_trino
    from tests.trino_store import TrinoStatements

    files = metric_bucket(tmp_path)
    files.append(write_log_file(tmp_path / log_key(ACCOUNT, REGION, "2024/05/02", "20240502T0105Z", "next"), [
        batch_put_metrics("e-next-day", "2024-05-02T01:00:00Z", [
            {"metricName": "train:loss", "timestamp": 1714611600, "step": 5, "value": 0.5}])]))
    shape = athena_shaped_trino(trino, files, schema="store_failure")
    naming = Naming(database=shape.schema)
    chunks = plan_chunks(date(2024, 5, 1), date(2024, 5, 2), 1)
    runner = FailingOn(TrinoStatements(shape), "2024/05/02")
    with pytest.raises(RefreshFailed, match=r"2024/05/02\.\.2024/05/02 failed \(the 1 chunk\(s\) before it") as failed:
        run_refresh(runner, naming, chunks, tool_version="tests")
    assert [str(c.chunk) for c in failed.value.done.chunks] == ["2024/05/01..2024/05/01"]
    assert shape.execute("SELECT first_day, last_day FROM sagemaker_metrics_refreshes") == [
        (date(2024, 5, 1), date(2024, 5, 1))]
    days = {row[0] for row in shape.execute("SELECT DISTINCT day FROM sagemaker_metrics_store")}
    assert days == {"2024/05/01"}  # the first chunk's rows are in; none of the failed one's

    again = run_refresh(runner, naming, chunks, tool_version="tests")  # a rerun redoes it: nothing twice
    assert len(again.chunks) == 2
    assert {row[0] for row in shape.execute("SELECT DISTINCT day FROM sagemaker_metrics_store")} == {
        "2024/05/01", "2024/05/02"}
    assert shape.execute("SELECT count(*) FROM sagemaker_metrics_store WHERE event_id = 'e-next-day'") == [(1,)]
