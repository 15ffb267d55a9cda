"""Results as frames (aware UTC times, ``day`` a date) and as Jupyter shows them (repr, a capped HTML table)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from smtrail_sql.frames import to_arrow, to_pandas
from smtrail_sql.notebook import MAX_HTML_ROWS, html_table
from smtrail_sql.result import QueryResult, QueryStats

pytest.importorskip("pyarrow")

PARIS = dt.timezone(dt.timedelta(hours=2))


def _times(sql_type: str, *values: Any) -> QueryResult:
    return QueryResult(["t"], [sql_type], [(v,) for v in values])


@pytest.mark.parametrize(
    ("sql_type", "values", "expected"),
    [
        ("TIMESTAMP", [dt.datetime(2024, 5, 1, 12, 0, 0, 250000), None], "timestamp[ms, tz=UTC]"),
        ("timestamp(3)", [dt.datetime(2024, 5, 1, 12)], "timestamp[ms, tz=UTC]"),
        ("timestamp(6)", [dt.datetime(2024, 5, 1, 12)], "timestamp[us, tz=UTC]"),
        # a value finer than a millisecond keeps it: no silent truncation
        ("TIMESTAMP", [dt.datetime(2024, 5, 1, 12, 0, 0, 123456)], "timestamp[us, tz=UTC]"),
    ],
)
def test_timestamps_are_utc_aware(sql_type: str, values: list[Any], expected: str) -> None:
    table = to_arrow(_times(sql_type, *values))
    assert str(table.schema.field("t").type) == expected
    assert table.column("t").to_pylist() == [v and v.replace(tzinfo=dt.UTC) for v in values]


def test_aware_values_are_converted_and_pandas_says_utc() -> None:
    pytest.importorskip("pandas")
    frame = to_pandas(_times("timestamp(3)", dt.datetime(2024, 5, 1, 14, tzinfo=PARIS), dt.datetime(2024, 5, 1, 12)))
    assert str(frame["t"].dtype) == "datetime64[ms, UTC]"
    assert frame["t"][0] == frame["t"][1] and frame["t"][0].isoformat() == "2024-05-01T12:00:00+00:00"


def test_stored_arrow_keeps_the_engines_types() -> None:
    result = QueryResult(["day", "t"], ["VARCHAR", "TIMESTAMP"], [("2024/05/01", dt.datetime(2024, 5, 1, 12))])
    stored = to_arrow(result, as_stored=True)
    assert [str(t) for t in stored.schema.types] == ["string", "timestamp[us]"]
    assert stored.to_pylist() == [{"day": "2024/05/01", "t": dt.datetime(2024, 5, 1, 12)}]


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("day", ["2024/05/01", None], "date32[day]"),
        ("day", ["2024/02/30"], "string"),  # not a date: left as it is
        ("day", ["2024-05-01"], "string"),  # not the partition's spelling (a user's own column)
        ("delivery_day", ["2024/05/01"], "string"),  # only the partition column
    ],
)
def test_the_day_partition_becomes_a_date(name: str, values: list[Any], expected: str) -> None:
    table = to_arrow(QueryResult([name], ["VARCHAR"], [(v,) for v in values]))
    assert str(table.schema.field(name).type) == expected
    if expected.startswith("date"):
        assert table.column(name).to_pylist() == [dt.date(2024, 5, 1), None]


def test_repr_names_rows_columns_and_the_run() -> None:
    result = QueryResult(["metric_name", "points"], ["VARCHAR", "BIGINT"], [("loss", 3), ("acc", 1)],
                         stats=QueryStats("local", 0.5))
    assert repr(result) == "<QueryResult 2 rows x 2 columns: metric_name VARCHAR, points BIGINT; local, 0.50s>"
    wide = QueryResult([f"c{i}" for i in range(12)], ["BIGINT"] * 12, [])
    assert repr(wide).endswith("c7 BIGINT, ...>") and "0 rows x 12 columns" in repr(wide)


def test_html_escapes_values_caps_rows_and_shows_the_stats() -> None:
    rows = [(f"<script>alert({i})</script>", i, dt.datetime(2024, 5, 1, 12), None) for i in range(MAX_HTML_ROWS + 5)]
    stats = QueryStats("athena", 1.5, query_id="q-1", bytes_scanned=1024, cost_usd=4.8e-05, engine_seconds=0.5)
    result = QueryResult(["name", "n", "t", "empty"], ["VARCHAR", "BIGINT", "TIMESTAMP", "DOUBLE"], rows, stats=stats)
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(0)&lt;/script&gt;" in page
    assert page.count("<tr>") == 1 + MAX_HTML_ROWS  # the header and the capped rows
    assert f"55 rows x 4 columns; first {MAX_HTML_ROWS} shown; athena, 1.50s; scanned" in page
    assert "query id q-1" in page
    assert '<td style="text-align: right">0</td>' in page and "<td>2024-05-01 12:00:00Z</td>" in page
    assert '<td style="color: gray">NULL</td>' in page
    assert html_table(result, max_rows=2).count("<tr>") == 3


def test_html_of_an_empty_result() -> None:
    page = QueryResult(["a"], ["VARCHAR"], [])._repr_html_()
    assert "<th" in page and "0 rows x 1 column" in page and "first" not in page
