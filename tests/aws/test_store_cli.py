"""The metric store's commands against moto's Athena, Glue and S3: the SQL ``refresh`` sends (and that it parses
as Athena SQL), a failed chunk, the source ``run`` picks and says, and the store in ``estimate`` and ``status``.

(moto's Athena runs no SQL: what the statements do is tested on Trino, in tests/test_store.py.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from smtrail_sql import ddl
from smtrail_sql.deploy import create_table
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.athena import AthenaEngine
from smtrail_sql.render import Naming
from smtrail_sql.settings import TableSettings
from smtrail_sql.store import RefreshChunk, chunk_statements, coverage_sql
from smtrail_sql.window import TimeWindow
from tests.aws.conftest import MotoAws, play_catalog
from tests.aws.test_athena_engine import result_set
from tests.aws.test_cli_aws import LOCATION, smtrail
from tests.aws.test_estimate_sync import BUCKET, A

ATHENA = ["--output-location", "s3://athena-results/q/"]
LOG_COLUMNS = [("first_day", "date"), ("last_day", "date"), ("started_at", "timestamp")]


def deploy(moto: MotoAws, versions: int | None = None) -> None:
    """create-table (every version, or the first ``versions``), played into moto's Glue catalog."""
    moto.client("s3").create_bucket(Bucket="athena-results")
    settings = TableSettings.create(bucket=BUCKET, accounts=A, regions="us-east-1")
    engine = AthenaEngine.from_settings(EngineSettings(output_location="s3://athena-results/q/", poll_interval=0.01))
    create_table(engine, settings, versions=ddl.versions()[:versions] if versions else None)
    play_catalog(moto)


def reads(sql: str) -> str:
    """Which source a rendered query reads: the store's tables or the trail's views (never both)."""
    tables = {(t.db, t.name) for t in sqlglot.parse_one(sql, read="athena").find_all(exp.Table) if t.db}
    assert tables in ({("smtrail", "sagemaker_metrics")}, {("smtrail", "sagemaker_metrics_store")}), tables
    return "store" if ("smtrail", "sagemaker_metrics_store") in tables else "trail"


def sent_after(moto: MotoAws, before: int) -> list[str]:
    return moto.athena_queries()[before:]


def test_refresh_needs_the_store_deployed(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto, versions=2)
    code, _, err = smtrail(capsys, "refresh", *ATHENA)
    assert code == 1
    assert err.strip() == ("error: the metric store is not deployed in smtrail (schema version 2): run smtrail-sql "
                           "migrate (or create-table) first")


def test_a_first_refresh_reads_the_log_then_merges_the_last_days_and_logs_them(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto)
    before = len(moto.athena_queries())
    code, out, err = smtrail(capsys, "refresh", *ATHENA)
    assert code == 0, err
    sent = sent_after(moto, before)
    today = datetime.now(UTC).date()
    chunk = RefreshChunk(today - timedelta(days=7), today)  # nothing stored yet: what a default query reads
    assert sent[0] == coverage_sql(Naming())
    assert sent[1:-1] == chunk_statements(Naming(), chunk)
    assert sent[-1].startswith("INSERT INTO smtrail.sagemaker_metrics_refreshes (")
    kinds = [type(sqlglot.parse_one(sql, read="athena")).__name__ for sql in sent]
    assert kinds == ["Select", "Delete", "Merge", "Delete", "Merge", "Insert"]
    merge = sqlglot.parse_one(sent[2], read="athena")
    assert {t.name for t in merge.find_all(exp.Table)} == {"sagemaker_metrics_store", "sagemaker_metrics"}
    assert f"refreshed delivery days {chunk} (8 days, 5 statements, read 0 B, cost $0.0002" in err
    assert out.strip().startswith(f"the metric store holds delivery days {chunk.first_day:%Y/%m/%d}..")


def test_a_refresh_starts_where_the_store_stops_being_whole_less_the_lag(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto)
    today = datetime.now(UTC).date()
    held_until = datetime.combine(today - timedelta(days=2), datetime.min.time()) + timedelta(hours=3)
    moto.seed_athena_results(result_set(LOG_COLUMNS, [
        [str(today - timedelta(days=20)), str(today - timedelta(days=2)), f"{held_until:%Y-%m-%d %H:%M:%S}.000"]]))
    before = len(moto.athena_queries())
    code, _, err = smtrail(capsys, "refresh", *ATHENA, "--delivery-lag", "2d")
    assert code == 0, err
    merge = sent_after(moto, before)[2]
    first = held_until.date() - timedelta(days=2)
    assert f"day BETWEEN '{first:%Y/%m/%d}' AND '{today:%Y/%m/%d}'" in merge


def test_a_failed_chunk_exits_1_and_keeps_the_chunks_before_it(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto)
    before = len(moto.athena_queries())
    moto.fail_next_athena_query("ICEBERG_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers",
                                after=5 + 1)  # chunk 1's five statements, then chunk 2's first DELETE
    code, out, err = smtrail(capsys, "refresh", *ATHENA, "--since", "2024-05-01", "--until", "2024-05-02T12:00:00Z",
                             "--chunk-days", "1", "--delivery-lag", "0")
    assert code == 1
    assert err.splitlines()[-1].startswith(
        "error: refresh of delivery days 2024/05/02..2024/05/02 failed (the 1 chunk(s) before it are in the store; "
        "run refresh again to redo it): ")
    assert "ICEBERG_TOO_MANY_OPEN_PARTITIONS" in err.splitlines()[-1]
    assert "refreshed delivery days 2024/05/01..2024/05/01" in err and "Traceback" not in err
    sent = sent_after(moto, before)  # a backfill reads no log; chunk 1 logged, chunk 2 stopped at its MERGE
    assert [type(sqlglot.parse_one(s, read="athena")).__name__ for s in sent] == [
        "Delete", "Merge", "Delete", "Merge", "Insert", "Delete", "Merge"]
    assert "DATE '2024-05-01'" in sent[4] or "CAST('2024-05-01' AS DATE)" in sent[4]


def test_refresh_print_needs_no_aws_with_a_window(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing answers there
    code, out, err = smtrail(capsys, "refresh", "--print", "--since", "2024-05-01", "--until", "2024-05-03",
                             "--compact", "--database", "select")
    assert code == 0, err
    statements = [s for s in sqlglot.parse(out, read="athena") if s]
    assert [type(s).__name__ for s in statements] == [
        "Delete", "Merge", "Delete", "Merge", "Insert", "Command", "Command", "Command", "Command"]
    assert out.startswith("-- delivery days 2024/05/01..2024/05/04: 5 statements, in order\n")
    assert 'MERGE INTO "select".sagemaker_metrics_store AS stored' in out


@pytest.mark.parametrize("days", ["0", "61", "x"])
def test_bad_chunk_days_is_exit_2(capsys: pytest.CaptureFixture[str], days: str) -> None:
    code, _, err = smtrail(capsys, "refresh", "--print", "--since", "2024-05-01", "--chunk-days", days)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- which source run reads ---------------------------------------------------------------------------------------

RUN = ["run", "runs", "--engine", "athena", *ATHENA, "--since", "2024-05-01", "--until", "2024-05-03"]


def test_auto_reads_the_trail_when_the_store_is_not_deployed(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto, versions=2)
    before = len(moto.athena_queries())
    code, _, err = smtrail(capsys, *RUN)
    assert code == 0, err
    assert err.splitlines()[0] == ("source: the trail (the metric store is not deployed: schema version 2; "
                                   "`smtrail-sql migrate` adds it)")
    assert reads(sent_after(moto, before)[0]) == "trail"


def test_auto_reads_the_store_when_it_holds_the_window_else_says_why(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto)
    whole = [["2024-04-01", "2024-05-10", "2024-05-11 00:30:00.000"]]
    moto.seed_athena_results(result_set(LOG_COLUMNS, whole))
    before = len(moto.athena_queries())
    code, _, err = smtrail(capsys, *RUN)
    assert code == 0, err
    assert err.splitlines()[0] == "source: the metric store (it holds files delivered until 2024-05-11 00:00 UTC)"
    sent = sent_after(moto, before)
    assert sent[0] == coverage_sql(Naming()) and reads(sent[1]) == "store"

    short = [["2024-04-01", "2024-05-02", "2024-05-02 09:00:00.000"]]  # the window needs days up to 05-04
    moto.seed_athena_results(result_set(LOG_COLUMNS, short))
    before = len(moto.athena_queries())
    code, _, err = smtrail(capsys, *RUN)
    assert code == 0, err
    assert err.splitlines()[0] == (
        "source: the trail (the metric store holds files delivered until 2024-05-02 09:00 UTC, the window needs "
        "them until 2024-05-04 00:00 UTC (run smtrail-sql refresh))")
    assert reads(sent_after(moto, before)[1]) == "trail"


@pytest.mark.parametrize("source", ["store", "trail"])
def test_a_chosen_source_is_read_without_asking(moto: MotoAws, capsys: pytest.CaptureFixture[str], source: str) -> None:
    moto.client("s3").create_bucket(Bucket="athena-results")
    code, _, err = smtrail(capsys, *RUN, "--source", source)
    assert code == 0, err
    sent = moto.athena_queries()
    assert len(sent) == 1  # no catalog read, no log query
    assert reads(sent[0]) == source


def test_the_store_on_the_local_engine_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = smtrail(capsys, "run", "runs", "--logs", str(tmp_path), "--source", "store")
    assert code == 2
    assert err.strip().startswith("error: ") and "--engine athena" in err and len(err.strip().splitlines()) == 1
    code, _, err = smtrail(capsys, "run", "runs", "--logs", str(tmp_path), "--source", "lake")
    assert code == 2 and "auto, store, trail" in err


# -- the store in estimate and status ---------------------------------------------------------------------------------

def test_estimate_lists_the_stores_parquet_files_of_the_window(
        moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.aws.test_estimate_sync import fill_bucket

    fill_bucket(moto)
    s3 = moto.client("s3")
    for table, day, size in (("sagemaker_metrics_store", "2024-05-02", 300), ("sagemaker_metric_calls_store",
                             "2024-05-02", 100), ("sagemaker_metrics_store", "2024-05-09", 5000)):
        key = f"smtrail-sql/smtrail/{table}/data/a1b2/event_time_day={day}/00000-0-x.parquet"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"p" * size)
    s3.put_object(Bucket=BUCKET, Key="smtrail-sql/smtrail/sagemaker_metrics_store/metadata/v1.metadata.json",
                  Body=b"{}")
    code, out, err = smtrail(capsys, "estimate", "metric-summary", *LOCATION, "--since", "2024-05-02",
                             "--until", "2024-05-03T06:00:00Z")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("from the metric store: 2 Parquet files, 400 bytes at most; the trail's")


def test_status_says_what_the_store_holds(moto: MotoAws, capsys: pytest.CaptureFixture[str]) -> None:
    deploy(moto)
    moto.seed_athena_results(result_set(LOG_COLUMNS, [["2024-04-01", "2024-05-10", "2024-05-11 00:30:00.000"]]))
    code, out, err = smtrail(capsys, "status", *ATHENA)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("up to date")
    assert lines[1] == "metric store: holds files delivered 2024-04-01 00:00 to 2024-05-11 00:00 UTC"
    assert lines[2].startswith("metric store: last refresh began 2024-05-11 00:30 UTC (")
    assert date(2024, 5, 11) < datetime.now(UTC).date()


def test_the_api_reads_the_source_asked_for(moto: MotoAws) -> None:
    from smtrail_sql import Toolkit

    deploy(moto)
    kit = Toolkit.athena(database="smtrail", output_location="s3://athena-results/q/", poll_interval=0.01)
    window = TimeWindow.parse(since="2024-05-01", until="2024-05-03")
    moto.seed_athena_results(result_set(LOG_COLUMNS, [["2024-04-01", "2024-05-10", "2024-05-11 00:30:00.000"]]))
    assert kit.choose_source("auto", window).source == "store"
    before = len(moto.athena_queries())
    kit.run("runs", since="2024-05-01", until="2024-05-03", source="trail")
    kit.run("runs", since="2024-05-01", until="2024-05-03", source="store")
    assert [reads(sql) for sql in sent_after(moto, before)] == ["trail", "store"]
    assert reads(kit.query("runs", since="2024-05-01", until="2024-05-03").sql) == "trail"  # rendering asks nothing
