"""The notebook API: list, describe, render, run, frames and curves, on CloudTrail files written by the tests.

Queries run on DuckDB over the bucket copy of ``tests/events.py``: the Athena view SQL itself on an
Athena-shaped table, and the local engine once it is installed, so the API is proven on real engines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import smtrail_sql
from smtrail_sql.api import Toolkit
from smtrail_sql.errors import EngineError, ParameterError, SettingError, SmtrailError, UnknownQueryError
from smtrail_sql.result import QueryResult, QueryStats
from smtrail_sql.templates import TemplateLibrary
from tests.events import TRIAL_COMPONENT


class ViewsOnDuckDB:
    """An engine running the rendered DuckDB SQL on a connection holding the Athena table and views."""

    name = "duckdb-views"
    dialect = "duckdb"
    bills_scans = False

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def close(self) -> None:
        self.connection.close()

    def execute(self, query: Any, *, progress: Any = None) -> QueryResult:
        relation = self.connection.sql(query.to_sql("duckdb"))
        return QueryResult(columns=list(relation.columns), column_types=[str(t) for t in relation.types],
                           rows=relation.fetchall(), stats=QueryStats(engine=self.name, elapsed_seconds=0.0),
                           sql=query.sql)


@pytest.fixture(params=["views", "local"])
def toolkit(request: pytest.FixtureRequest, metric_logs: tuple[Path, list[Path]]) -> Iterator[Toolkit]:
    """A toolkit on the bucket copy, through each engine available."""
    if request.param == "local":
        yield Toolkit.local(metric_logs[0])
        return
    from tests.athena_shape import athena_shaped_duckdb

    connection = athena_shaped_duckdb(metric_logs[1])
    yield Toolkit(ViewsOnDuckDB(connection))
    connection.close()


# -- catalog, no engine needed ---------------------------------------------------------------------


def test_queries_lists_the_catalog() -> None:
    infos = Toolkit().queries()
    assert [q.name for q in infos] == TemplateLibrary.load().names()
    curves = next(q for q in infos if q.name == "metric-curves")
    assert [(p.name, p.type, p.required) for p in curves.params] == [
        ("trial_components", "list[str]", True), ("metrics", "list[str]", True), ("limit", "int", False)]
    assert curves.summary and curves.source == "built-in"


def test_describe_and_its_text() -> None:
    info = Toolkit().describe("metric-history")
    assert info.name == "metric-history"
    text = str(info)
    assert text.startswith("metric-history: ") and "trial_components (list[str], required)" in text

    assert "limit (int, default 10000)" in text
    runs = str(Toolkit().describe("runs"))  # an optional parameter reads as `show` prints it
    assert "trial_component_glob (glob, optional)" in runs and "default None" not in runs
    assert Toolkit().describe("runs").sql.lstrip().upper().startswith(("SELECT", "WITH", "--"))


def test_unknown_query_suggests_the_closest() -> None:
    with pytest.raises(UnknownQueryError, match="did you mean 'metric-history'"):
        Toolkit().describe("metric-histroy")


def test_render_gives_athena_sql_with_the_window() -> None:
    sql = Toolkit().render("metric-history", trial_components="job-1", metrics="loss",
                           since="2024-05-01", until="2024-05-02")
    assert "smtrail.sagemaker_metrics" in sql
    assert "'job-1'" in sql and "day >= '2024/05/01'" in sql


def test_render_for_duckdb_and_other_names() -> None:
    sql = Toolkit(database="analytics", view="points").render("runs", all_time=True, dialect="duckdb")
    assert "analytics.points" in sql and "smtrail." not in sql
    assert "day >=" not in sql  # no window: no partition predicate


def test_values_can_be_python_objects_or_cli_strings() -> None:
    tk = Toolkit()
    as_list = tk.render("metric-curves", trial_components=["a", "b"], metrics=["loss"], all_time=True)
    as_text = tk.render("metric-curves", trial_components="a,b", metrics="loss", all_time=True)
    assert as_list == as_text
    assert "IN ('a', 'b')" in as_list


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"trial_components": "x"}, "metrics"),  # a required parameter missing
        ({"trial_components": "x", "metrics": "m", "colour": "red"}, "unknown parameter 'colour'"),
        ({"trial_components": "x", "metrics": "m", "limit": "many"}, "limit"),
    ],
)
def test_bad_parameters_are_typed_errors(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message) as caught:
        Toolkit().render("metric-history", all_time=True, **params)
    assert isinstance(caught.value, SmtrailError)


def test_bad_window_is_a_setting_error() -> None:
    with pytest.raises(SettingError):
        Toolkit().render("runs", since="yesterday-ish")


@pytest.mark.parametrize(
    "bounds",
    [
        {"since": dt.datetime(2024, 5, 1), "until": dt.datetime(2024, 5, 2, 12)},  # naive: UTC
        {"since": dt.date(2024, 5, 1), "until": dt.datetime(2024, 5, 2, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))},
        {"since": "2024-05-01", "until": "2024-05-02T12:00:00Z"},
    ],
    ids=["datetime", "date-and-aware", "text"],
)
def test_windows_take_python_times(bounds: dict[str, Any]) -> None:
    sql = Toolkit().render("runs", **bounds)
    assert "day >= '2024/05/01'" in sql and "day <= '2024/05/03'" in sql
    assert "2024-05-02 12:00:00" in sql


def test_windows_take_a_pandas_timestamp_and_an_age() -> None:
    pd = pytest.importorskip("pandas")
    window = Toolkit().query("runs", since=pd.Timestamp("2024-05-01T12:00", tz="Europe/Paris"),
                             until=dt.timedelta(0)).window
    assert window.start == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC) and window.end is not None
    assert type(window.start) is dt.datetime
    assert dt.datetime.now(dt.UTC) - window.end < dt.timedelta(minutes=1)  # an age of 0 is now


def test_a_wrong_time_type_names_the_argument() -> None:
    with pytest.raises(SettingError, match=r"^invalid until 1714521600: expected a datetime .*, a date .*timedelta"):
        Toolkit().render("runs", since="2024-05-01", until=1714521600)


def test_api_errors_name_arguments_and_the_cli_flags() -> None:
    from typer.testing import CliRunner

    from smtrail_sql.cli import app

    with pytest.raises(ParameterError, match=r"pass metrics=VALUE \(Metrics") as caught:
        Toolkit().render("metric-history", trial_components="x", all_time=True)
    assert "-p" not in str(caught.value)
    with pytest.raises(SettingError, match=r"^invalid since 'soon'"):
        Toolkit().render("runs", since="soon")
    done = CliRunner().invoke(app, ["render", "metric-history", "-p", "trial_components=x", "--all-time"])
    assert isinstance(done.exception, ParameterError) and "pass -p metrics=VALUE" in str(done.exception)
    done = CliRunner().invoke(app, ["render", "runs", "--since", "soon"])
    assert "invalid --since 'soon'" in str(done.exception)
    with pytest.raises(SettingError, match=r"^invalid since"):  # the command's wording ended with it
        Toolkit().render("runs", since="soon")


def test_running_without_an_engine_says_how_to_get_one() -> None:
    with pytest.raises(EngineError, match=r"Toolkit\.local"):
        Toolkit().run("runs", all_time=True)


def test_local_toolkit_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="smtrail-sql demo"):
        Toolkit.local(tmp_path / "nowhere")


def test_user_templates_join_the_catalog(tmp_path: Path) -> None:
    (tmp_path / "loss-points.sql").write_text(
        "-- name: loss-points\n-- description: Points of train:loss.\n"
        "SELECT trial_component, step, value FROM sagemaker_metrics WHERE metric_name = 'train:loss'\n")
    tk = Toolkit(queries_dirs=[tmp_path])
    assert "loss-points" in [q.name for q in tk.queries()]
    assert tk.describe("loss-points").source == str(tmp_path)


# -- running ---------------------------------------------------------------------------------------


def test_run_returns_typed_rows(toolkit: Toolkit) -> None:
    result = toolkit.run("metric-history", trial_components=TRIAL_COMPONENT, metrics="train:loss",
                         all_time=True)
    rows = result.as_dicts()
    by_step = sorted((r["step"], r["value"]) for r in rows)
    # e-ms (read twice, counted once), the duplicate step 2, the late step 0; the failed call stored nothing
    assert by_step == [(0, 2.5), (1, 0.9), (2, 0.7), (2, 0.75)]
    types = dict(zip(result.columns, result.column_types, strict=True))
    assert types["step"] == "BIGINT" and types["value"] == "DOUBLE" and types["metric_time"] == "TIMESTAMP"
    assert all(isinstance(r["metric_time"], dt.datetime) for r in rows)


def test_the_window_limits_the_rows(toolkit: Toolkit) -> None:
    everything = toolkit.run("runs", all_time=True)
    first_day = toolkit.run("runs", since="2024-05-01", until="2024-05-01T23:00:00")
    assert {r["trial_component"] for r in everything.as_dicts()} == {TRIAL_COMPONENT,
                                                                     "bert-finetune-aws-training-job",
                                                                     "xgboost-aws-training-job"}
    assert "xgboost-aws-training-job" not in {r["trial_component"] for r in first_day.as_dicts()}
    assert toolkit.run("runs", since="2020-01-01", until="2020-01-02").rows == []


def test_records_arrow_and_pandas(toolkit: Toolkit) -> None:
    result = toolkit.run("metric-history", trial_components=TRIAL_COMPONENT, metrics="train:loss",
                         all_time=True)
    records = smtrail_sql.records(result)
    assert [r.step for r in records] == [r["step"] for r in result.as_dicts()]
    table = smtrail_sql.to_arrow(result)
    assert str(table.schema.field("step").type) == "int64"
    assert str(table.schema.field("metric_time").type) == "timestamp[ms, tz=UTC]"
    frame = smtrail_sql.to_pandas(result)
    assert list(frame.columns) == result.columns
    assert str(frame["step"].dtype) == "Int64" and str(frame["value"].dtype) == "float64"
    assert str(frame["metric_time"].dtype) == "datetime64[ms, UTC]"
    assert len(frame) == len(result)
    # the same instants as the rows (naive UTC there), now aware
    assert [t.to_pydatetime() for t in frame["metric_time"]] == [
        r["metric_time"].replace(tzinfo=dt.UTC) for r in result.as_dicts()]


def test_frames_give_the_delivery_day_as_a_date(toolkit: Toolkit) -> None:
    result = toolkit.run("ingest-volume", all_time=True)
    days = [r["day"] for r in result.as_dicts()]
    assert days and all(isinstance(d, str) and d.count("/") == 2 for d in days)  # the partition text, as SQL has it
    table = result.to_arrow()
    assert str(table.schema.field("day").type) == "date32[day]"
    assert [d.strftime("%Y/%m/%d") for d in table.column("day").to_pylist()] == days
    assert list(result.to_pandas()["day"]) == table.column("day").to_pylist()
    assert str(smtrail_sql.to_arrow(result, as_stored=True).schema.field("day").type) == "string"


def test_a_result_shows_itself_in_jupyter(toolkit: Toolkit) -> None:
    result = toolkit.run("metric-history", trial_components=TRIAL_COMPONENT, metrics="train:loss", all_time=True)
    assert repr(result).startswith("<QueryResult 4 rows x 7 columns: trial_component VARCHAR, metric_name VARCHAR, "
                                   "step BIGINT, metric_time TIMESTAMP")
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 4 and "4 rows x 7 columns" in page
    assert "2024-05-01 11:59:50Z" in page and toolkit.engine.name in page


# -- pandas helpers --------------------------------------------------------------------------------


def test_metric_history_is_indexed_by_step_or_time(toolkit: Toolkit) -> None:
    frame = toolkit.metric_history(TRIAL_COMPONENT, "train:loss", all_time=True)
    assert frame.index.name == "step" and list(frame.index) == [0, 1, 2, 2]  # step 2 logged twice: both kept
    assert list(frame["value"]) == [2.5, 0.9, 0.7, 0.75]
    assert list(frame.columns) == ["metric_time", "value", "event_time", "caller_arn"]
    by_time = toolkit.metric_history(TRIAL_COMPONENT, "train:loss", index="time", all_time=True)
    assert by_time.index.name == "metric_time" and str(by_time.index.dtype) == "datetime64[ms, UTC]"
    assert toolkit.metric_history(TRIAL_COMPONENT, "train:loss", since="2020-01-01", until="2020-01-02").empty
    with pytest.raises(SettingError, match="invalid index 'epoch': one of step, time"):
        toolkit.metric_history(TRIAL_COMPONENT, "train:loss", index="epoch", all_time=True)


def test_runs_table_is_runs_by_metrics(toolkit: Toolkit) -> None:
    table = toolkit.runs_table(["train:loss", "train:accuracy"], all_time=True)
    assert list(table.columns) == ["trial_component", "first_metric_time", "last_metric_time",
                                   "metrics.train:loss", "metrics.train:accuracy"]
    summary = toolkit.run("metric-summary", metrics=["train:loss", "train:accuracy"], all_time=True).as_dicts()
    assert set(table["trial_component"]) == {r["trial_component"] for r in summary}
    rows = table.set_index("trial_component")
    assert rows.loc[TRIAL_COMPONENT, "metrics.train:loss"] == 0.75  # the last step, the later of its two points
    assert rows.loc["xgboost-aws-training-job", "metrics.train:loss"] == 0.3
    for r in summary:
        assert rows.loc[r["trial_component"], f"metrics.{r['metric_name']}"] == r["last_value"]
        assert rows.loc[r["trial_component"], "first_metric_time"] <= r["first_metric_time"].replace(tzinfo=dt.UTC)
    assert list(table["last_metric_time"]) == sorted(table["last_metric_time"], reverse=True)  # newest first
    best = toolkit.runs_table("train:loss", value="max", all_time=True).set_index("trial_component")
    assert best.loc[TRIAL_COMPONENT, "metrics.train:loss"] == 2.5
    every = toolkit.runs_table(all_time=True)
    assert [c for c in every.columns if c.startswith("metrics.")] == sorted(
        f"metrics.{n}" for n in {r["metric_name"] for r in toolkit.run("metric-summary", all_time=True).as_dicts()})
    empty = toolkit.runs_table(["train:loss"], since="2020-01-01", until="2020-01-02")
    assert empty.empty and "metrics.train:loss" in empty.columns
    with pytest.raises(SettingError, match="invalid value 'median'"):
        toolkit.runs_table(value="median", all_time=True)


def test_helpers_without_pandas_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    kit = Toolkit()
    with pytest.raises(smtrail_sql.MissingDependencyError, match=r"pip install 'smtrail-sql\[pandas\]'"):
        kit.runs_table(all_time=True)
    with pytest.raises(smtrail_sql.MissingDependencyError):
        kit.metric_history("job", "loss", all_time=True)


def test_curves_and_plot(toolkit: Toolkit, tmp_path: Path) -> None:
    curves = toolkit.curves([TRIAL_COMPONENT, "xgboost-aws-training-job"], ["train:loss", "train:accuracy"],
                            all_time=True)
    assert curves.metrics == ["train:loss", "train:accuracy"]
    loss = {s.trial_component: s for s in curves.series["train:loss"]}
    assert loss[TRIAL_COMPONENT].x == [0, 1, 2, 2]
    assert loss["xgboost-aws-training-job"].y == [0.3]
    # train:accuracy has one point without a step, left out and said
    assert any("without a step" in note for note in curves.notes)
    figure = toolkit.plot(TRIAL_COMPONENT, "train:loss", all_time=True, output=tmp_path / "loss.png",
                          width=640, height=400)
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert len(figure.axes[0].get_lines()) == 1
