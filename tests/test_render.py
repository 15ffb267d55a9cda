"""Rendering through sqlglot: typed literals, vanishing filters, windows, errors, and injection."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from smtrail_sql.errors import ParameterError, TemplateError
from smtrail_sql.render import Naming, render
from smtrail_sql.schema import METRIC_POINT_COLUMNS
from smtrail_sql.templates import Template, TemplateLibrary, parse_template
from smtrail_sql.window import TimeWindow
from tests.sample_params import all_params, required_params

LIBRARY = TemplateLibrary.load()
TEMPLATES = list(LIBRARY)
WINDOW = TimeWindow.parse(since="2024-05-01", until="2024-05-03")

INJECTIONS = [
    "it's",
    "'; DROP TABLE cloudtrail_events; --",
    "x' OR '1'='1",
    "-- comment",
    "/* comment */ x",
    "line\nbreak; SELECT 1",
    "unicode ü ✓ 漢字 \u202e",
    "back\\slash\\'",
    '"double" `back` ticks',
    "$${{x}}:other",
]


def _parse_one(sql: str, dialect: str) -> exp.Expr:
    statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s]
    assert len(statements) == 1, f"expected one statement, got {len(statements)}"
    return statements[0]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
@pytest.mark.parametrize("params", [required_params, all_params], ids=["required", "all"])
def test_every_template_renders_to_one_athena_statement(template: Template, params: object) -> None:
    rendered = render(template, params(template), window=WINDOW)  # type: ignore[operator]
    _parse_one(rendered.sql, "athena")
    _parse_one(rendered.to_sql("duckdb"), "duckdb")
    assert not list(rendered.expression.find_all(exp.Placeholder))


WITH_STRINGS = [t for t in TEMPLATES if any(s.scalar_type == "str" for s in t.params.values())]


@pytest.mark.parametrize("template", WITH_STRINGS, ids=lambda t: t.name)
def test_string_parameters_cannot_inject(template: Template) -> None:
    for spec in (s for s in template.params.values() if s.scalar_type == "str"):
        for payload in INJECTIONS:
            values = required_params(template)
            values[spec.name] = [payload, "other"] if spec.is_list else payload
            rendered = render(template, values, window=WINDOW)
            for dialect in ("athena", "duckdb"):
                tree = _parse_one(rendered.to_sql(dialect), dialect)
                literals = [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]
                assert payload in literals, f"{payload!r} not intact in {dialect} SQL of {template.name}"
                assert not list(tree.find_all(exp.Drop))


def test_injection_attempt_is_inert_when_executed(athena_duckdb: object) -> None:
    rendered = render(LIBRARY.get("metric-history"),
                      {"trial_components": ["x'; DROP TABLE smtrail.cloudtrail_events; --"], "metrics": "train:loss"},
                      window=TimeWindow.all_time())
    assert athena_duckdb.execute(rendered.to_sql("duckdb")).fetchall() == []  # type: ignore[attr-defined]
    count = athena_duckdb.execute("SELECT COUNT(*) FROM smtrail.cloudtrail_events").fetchone()  # type: ignore[attr-defined]
    assert count[0] > 0


def test_unset_optional_filter_disappears_and_set_one_is_a_typed_literal() -> None:
    template = LIBRARY.get("metric-summary")
    without = render(template, {}, window=WINDOW).sql
    assert "trial_component IN" not in without and "metric_name IN" not in without
    with_ = render(template, {"metrics": "a,b", "limit": "5"}, window=WINDOW)
    tree = with_.expression
    in_node = next(n for n in tree.find_all(exp.In) if n.this.name == "metric_name")
    assert [e.this for e in in_node.expressions] == ["a", "b"]
    limit = tree.args["limit"].expression
    assert isinstance(limit, exp.Literal) and not limit.is_string and limit.this == "5"
    assert "trial_component IN" not in with_.sql


def _view_reads(sql: str) -> list[exp.Select]:
    """The SELECTs of a rendered query that read a view of the smtrail database."""
    tree = sqlglot.parse_one(sql, read="athena")
    return [t.find_ancestor(exp.Select) for t in tree.find_all(exp.Table) if t.db == "smtrail"]


def test_window_becomes_event_time_and_widened_partition_predicates() -> None:
    (read,) = _view_reads(render(LIBRARY.get("runs"), {}, window=WINDOW).sql)
    where = read.args["where"].sql("athena")
    assert "day >= '2024/05/01'" in where
    assert "day <= '2024/05/04'" in where  # widened by a day for delivery lag
    assert "event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)" in where
    assert "event_time < CAST('2024-05-03 00:00:00.000' AS TIMESTAMP)" in where


def test_all_time_adds_no_window_but_still_deduplicates() -> None:
    sql = render(LIBRARY.get("runs"), {}, window=TimeWindow.all_time()).sql
    (read,) = _view_reads(sql)
    assert read.args.get("where") is None
    assert "PARTITION BY event_id, point_index" in sql and "copy_number = 1 OR event_id IS NULL" in sql


def test_each_view_read_becomes_one_deduplicating_cte_of_its_name() -> None:
    sql = render(LIBRARY.get("compare-runs"), {"trial_components": "a,b", "metrics": "loss"}, window=WINDOW).sql
    tree = sqlglot.parse_one(sql, read="athena")
    ctes = {cte.alias: cte for cte in tree.args["with_"].expressions}
    assert "sagemaker_metrics" in ctes
    window = ctes["sagemaker_metrics"].find(exp.Window)
    assert [c.name for c in window.args["partition_by"]] == ["event_id", "point_index"]
    order = [o.this.name for o in window.args["order"].expressions]
    assert order[:3] == ["day", "account_id", "region"]  # the earliest delivery day's copy is kept
    calls = sqlglot.parse_one(render(LIBRARY.get("failed-calls"), {}, window=WINDOW).sql, read="athena")
    assert [c.name for c in calls.find(exp.Window).args["partition_by"]] == ["event_id"]


def test_a_query_computes_only_the_columns_it_reads() -> None:
    tree = sqlglot.parse_one(render(LIBRARY.get("metric-summary"), {}, window=WINDOW).sql, read="athena")
    cte = tree.args["with_"].expressions[0]
    assert [c.alias_or_name for c in cte.this.expressions] == [
        "trial_component", "metric_name", "step", "value", "metric_time"]
    assert "user_agent" not in cte.sql() and "caller_arn" not in cte.sql()


def test_a_select_star_reads_every_column(tmp_path: Path) -> None:
    path = tmp_path / "star.sql"
    path.write_text("-- name: star\n-- description: all\nSELECT * FROM sagemaker_metrics\n")
    tree = sqlglot.parse_one(render(parse_template(path.read_text(), path, source="test"),
                                    window=WINDOW).sql, read="athena")
    cte = tree.args["with_"].expressions[0]
    assert [c.alias_or_name for c in cte.this.expressions] == list(METRIC_POINT_COLUMNS)


def test_a_template_reading_the_raw_trail_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raw.sql"
    path.write_text("-- name: raw\n-- description: raw\nSELECT eventname FROM cloudtrail_events\n")
    with pytest.raises(TemplateError, match="not cloudtrail_events: the time window"):
        parse_template(path.read_text(), path, source="test")


def test_max_by_keeps_trinos_meaning_on_duckdb() -> None:
    duckdb_sql = render(LIBRARY.get("metric-summary"), {}, window=WINDOW).to_sql("duckdb")
    assert "ARG_MAX_NULL(" in duckdb_sql and "ARG_MIN_NULL(" in duckdb_sql


def test_an_average_gives_the_same_digits_every_run_on_duckdb() -> None:
    """AVG becomes FAVG on DuckDB (compensated sums): its threads' partial sums, added in whatever order they
    finish, give the same result every run (AVG gives several here). 600,000 values over several row groups."""
    import random

    import duckdb
    import pyarrow as pa

    duckdb_sql = render(LIBRARY.get("metric-summary"), {}, window=WINDOW).to_sql("duckdb")
    assert "FAVG(" in duckdb_sql and "AVG(" not in duckdb_sql.replace("FAVG(", "")
    rng = random.Random(1616)
    values = pa.table({"series": [i % 7 for i in range(600_000)],
                       "value": [rng.uniform(-1e6, 1e6) * 10 ** rng.randrange(-6, 6) for _ in range(600_000)]})
    seen = set()
    for _ in range(6):
        with duckdb.connect(config={"threads": 2}) as con:
            con.register("points", values)
            seen.add(tuple(con.execute("SELECT series, FAVG(value) FROM points GROUP BY 1 ORDER BY 1").fetchall()))
    assert len(seen) == 1


def test_default_window_is_the_last_seven_days() -> None:
    now = datetime(2024, 5, 10, 12, tzinfo=UTC)
    window = TimeWindow.parse(now=now)
    sql = render(LIBRARY.get("runs"), {}, window=window).sql
    assert "day >= '2024/05/03'" in sql and "day <= '2024/05/11'" in sql


def test_naming_qualifies_views() -> None:
    naming = Naming(database="analytics", view="sm_points", calls_view="sm_calls")
    sql = render(LIBRARY.get("failed-calls"), {}, window=WINDOW, naming=naming).sql
    assert "FROM analytics.sm_calls" in sql and "WITH sagemaker_metric_calls AS (" in sql


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"metrics": "loss"}, "missing required parameter 'trial_components'"),
        ({"trial_components": "a", "metrics": "b", "limt": "3"}, "unknown parameter 'limt'"),
        ({"trial_components": "a", "metrics": "b", "limit": "ten"}, "parameter 'limit' expects an integer"),
        ({"trial_components": "a", "metrics": "b", "limit": True}, "parameter 'limit' expects an integer"),
        ({"trial_components": "a", "metrics": "b", "limit": "-5"}, "parameter 'limit' is a row count"),
    ],
)
def test_bad_parameters_are_clear_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message) as error:
        render(LIBRARY.get("metric-history"), values, window=WINDOW)
    if "unknown" in message:
        assert "valid parameters: trial_components (list[str], required)" in str(error.value)


def test_typed_literals_for_every_type(tmp_path: Path) -> None:
    path = tmp_path / "typed.sql"
    path.write_text(
        "-- name: typed\n-- description: every type\n"
        "-- param: s str required  a string\n-- param: i int = 3  an int\n-- param: f float = 1.5  a float\n"
        "-- param: b bool = false  a bool\n-- param: t timestamp required  a time\n"
        "-- param: d date required  a date\n-- param: ids list[int] required  ids\n"
        "SELECT * FROM sagemaker_metrics WHERE metric_name = :s AND step > :i AND value < :f AND :b\n"
        "  AND metric_time > :t AND CAST(event_time AS DATE) = :d AND step IN (:ids)\n"
    )
    template = parse_template(path.read_text(), path, source="test")
    sql = render(template, {"s": "x", "t": "2024-05-01T10:00:00+02:00", "d": "2024-05-01", "ids": "1,2"},
                 window=TimeWindow.all_time()).sql
    assert "metric_name = 'x'" in sql and "step > 3" in sql and "value < 1.5" in sql and "FALSE" in sql
    assert "metric_time > CAST('2024-05-01 08:00:00.000' AS TIMESTAMP)" in sql
    assert "= CAST('2024-05-01' AS DATE)" in sql and "step IN (1, 2)" in sql


def test_the_single_copy_form_keeps_the_window_and_drops_only_the_deduplication() -> None:
    query = render(LIBRARY.get("metric-summary"), {}, window=WINDOW)
    single = sqlglot.parse_one(query.to_sql("duckdb", copies=False), read="duckdb")
    assert single.find(exp.Window) is None and "copy_number" not in single.sql()
    (read,) = [t.find_ancestor(exp.Select) for t in single.find_all(exp.Table) if t.db == "smtrail"]
    assert "day >= '2024/05/01'" in read.args["where"].sql("duckdb")
    assert sqlglot.parse_one(query.to_sql("duckdb"), read="duckdb").find(exp.Window) is not None


def test_a_query_naming_no_column_of_a_view_still_counts_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "count.sql"
    path.write_text("-- name: count\n-- description: rows\nSELECT COUNT(*) AS n FROM sagemaker_metrics\n")
    query = render(parse_template(path.read_text(), path, source="test"), window=WINDOW)
    for copies in (True, False):
        cte = sqlglot.parse_one(query.to_sql("duckdb", copies=copies), read="duckdb").args["with_"].expressions[0]
        assert [c.alias_or_name for c in cte.this.expressions] == ["event_id"]


def _user_template(tmp_path: Path, name: str, sql: str) -> Template:
    path = tmp_path / f"{name}.sql"
    path.write_text(f"-- name: {name}\n-- description: {name}\n{sql}\n")
    return parse_template(path.read_text(), path, source="test")


def test_a_query_that_names_no_column_still_reads_every_point(
        tmp_path: Path, athena_duckdb: object, metric_logs: tuple[Path, list[Path]]) -> None:
    # COUNT(*) reads no column: the view's CTE must still select something (SELECT FROM ... is not SQL)
    from smtrail_sql.engines.local import LocalEngine

    count_star = render(_user_template(tmp_path, "count-star", "SELECT COUNT(*) FROM sagemaker_metrics"),
                        window=WINDOW)
    named = render(_user_template(tmp_path, "count-named", "SELECT COUNT(point_index) FROM sagemaker_metrics"),
                   window=WINDOW)
    expected = athena_duckdb.execute(named.to_sql("duckdb")).fetchall()  # type: ignore[attr-defined]
    assert expected[0][0] > 0
    assert athena_duckdb.execute(count_star.to_sql("duckdb")).fetchall() == expected  # type: ignore[attr-defined]
    assert LocalEngine(metric_logs[0], use_cache=False).execute(count_star).rows == expected


def test_relation_names_are_case_insensitive_as_in_trino(tmp_path: Path, athena_duckdb: object) -> None:
    # Trino (and DuckDB) fold unquoted names: SAGEMAKER_METRICS is the view, and must get the window and the
    # deduplication like sagemaker_metrics (else Athena reads every day of the bucket, every copy)
    upper = render(_user_template(tmp_path, "upper", "SELECT COUNT(point_index) FROM SageMaker_Metrics"),
                   window=WINDOW)
    lower = render(_user_template(tmp_path, "lower", "SELECT COUNT(point_index) FROM sagemaker_metrics"),
                   window=WINDOW)
    assert "day >= '2024/05/01'" in upper.sql and "copy_number = 1" in upper.sql
    assert {t.name for t in upper.expression.find_all(exp.Table) if t.db == "smtrail"} == {"sagemaker_metrics"}
    run = athena_duckdb.execute  # type: ignore[attr-defined]
    assert run(upper.to_sql("duckdb")).fetchall() == run(lower.to_sql("duckdb")).fetchall()
    with pytest.raises(TemplateError, match="not cloudtrail_events"):
        _user_template(tmp_path, "raw-upper", "SELECT eventname FROM CloudTrail_Events")
    # a CTE of the template named in another case still shadows the view
    shadow = render(_user_template(tmp_path, "shadow", "WITH Sagemaker_Metrics AS (SELECT 1 AS n) "
                                   "SELECT n FROM sagemaker_metrics"), window=WINDOW)
    assert "smtrail.sagemaker_metrics" not in shadow.sql
