"""Metric curves: grouping and ordering, PNG files of the right size with the right lines, terminal text."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import struct
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.errors import SettingError
from smtrail_sql.legend import shorten_labels
from smtrail_sql.plot import (
    NOTHING_TO_DRAW,
    Curves,
    Series,
    build_figure,
    curves_from_result,
    explain_missing,
    save_png,
    series_colors,
)
from smtrail_sql.result import QueryResult
from smtrail_sql.textplot import MARKERS, color_for, render_text

COLUMNS = ["trial_component", "metric_name", "step", "value", "metric_time", "event_time"]
TYPES = ["VARCHAR", "VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP", "TIMESTAMP"]
START = dt.datetime(2024, 5, 1, 12)


def curve_rows(components: list[str], metrics: list[str], steps: int = 40) -> list[tuple[Any, ...]]:
    """Decaying losses and rising accuracies, one point per step, a second apart, shuffled order."""
    rows = []
    for c, component in enumerate(components):
        for metric in metrics:
            for step in range(steps):
                decay = math.exp(-step / (10 + 3 * c))
                value = decay if "loss" in metric else 1 - decay
                when = START + dt.timedelta(seconds=step + c)
                rows.append((component, metric, step, value, when, when))
    return rows[::-1]  # engines need not return points in order


def result_of(rows: list[tuple[Any, ...]]) -> QueryResult:
    return QueryResult(list(COLUMNS), list(TYPES), rows)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- grouping ------------------------------------------------------------------------------------------------


def test_curves_are_grouped_and_ordered_by_step() -> None:
    curves = curves_from_result(result_of(curve_rows(["run-b", "run-a"], ["train:loss", "val:acc"])),
                                trial_components=["run-b", "run-a"])
    assert curves.metrics == ["train:loss", "val:acc"]
    assert curves.trial_components == ["run-b", "run-a"]  # the order asked for, not sorted
    assert curves.series_count == 4
    for lines in curves.series.values():
        for line in lines:
            assert line.x == list(range(40))
    assert curves.notes == []


def test_time_axis_uses_metric_time() -> None:
    curves = curves_from_result(result_of(curve_rows(["run-a"], ["loss"], steps=5)), "time")
    (line,) = curves.series["loss"]
    assert line.x == [START + dt.timedelta(seconds=s) for s in range(5)]


def test_points_without_step_fall_back_to_time_order_or_are_reported() -> None:
    rows = [
        # run-a: no step at all -> drawn in time order
        ("run-a", "loss", None, 0.3, START + dt.timedelta(seconds=2), START),
        ("run-a", "loss", None, 0.9, START, START),
        ("run-a", "loss", None, 0.5, START + dt.timedelta(seconds=1), START),
        # run-b: steps, plus one point without -> left out and counted
        ("run-b", "loss", 1, 0.4, START, START),
        ("run-b", "loss", 0, 0.8, START, START),
        ("run-b", "loss", None, 0.1, START, START),
    ]
    curves = curves_from_result(result_of(rows))
    a, b = curves.series["loss"]
    assert (a.by_time_order, a.x, a.y) == (True, [0, 1, 2], [0.9, 0.5, 0.3])
    assert a.label == "run-a (time order)"
    assert (b.by_time_order, b.x, b.y) == (False, [0, 1], [0.8, 0.4])
    assert any("left out 1 point without a step" in note for note in curves.notes)
    assert any("run-a/loss has no steps" in note for note in curves.notes)


def test_non_finite_values_are_left_out_and_counted() -> None:
    values = [1.0, math.nan, math.inf, None, 0.5]
    rows = [("run-a", "loss", s, v, START, START) for s, v in enumerate(values)]
    curves = curves_from_result(result_of(rows))
    assert curves.series["loss"][0].y == [1.0, 0.5]
    assert "left out 3 points with a NULL, NaN or infinite value" in curves.notes


def test_max_series_keeps_the_first_and_says_so() -> None:
    components = [f"run-{i:02d}" for i in range(8)]
    curves = curves_from_result(result_of(curve_rows(components, ["loss"], steps=3)), max_series=5)
    assert curves.trial_components == components[:5]
    assert "showing 5 of 8 trial components (raise --max-series)" in curves.notes


def test_missing_names_are_reported() -> None:
    curves = curves_from_result(result_of(curve_rows(["run-a"], ["loss"], steps=3)),
                                trial_components=["run-a", "run-zzz"], metrics=["loss", "nope"])
    assert curves.notes == ["no points for trial component run-zzz", "no points for metric nope"]


WINDOW = QueryResult(["trial_component", "metric_name", "points"], ["VARCHAR", "VARCHAR", "BIGINT"], [
    ("sweep-001-training-job", "train:loss", 10), ("sweep-001-training-job", "validation:loss", 10),
    ("sweep-002-training-job", "train:loss", 10), ("xgboost-job", "train:accuracy", 3),
])


@pytest.mark.parametrize(
    ("components", "metrics", "expected"),
    [
        # a metric typo: the metric is named, with what was meant, and the trial component is not blamed
        (["sweep-001-training-job"], ["train_loss"], ["no metric train_loss in the window (did you mean train:loss?)"]),
        # a trial component typo, and nothing like it
        (["sweep-01-training-job"], ["train:loss"],
         ["no trial component sweep-01-training-job in the window "
          "(did you mean sweep-001-training-job or sweep-002-training-job?)"]),
        (["nope"], ["train:loss"], ["no trial component nope in the window"]),
        # both there, never together
        (["xgboost-job"], ["train:loss"], ["trial component xgboost-job has none of the metrics asked "
                                           "(it has train:accuracy)"]),
        (["sweep-001-training-job", "sweep-002-training-job"], ["train:loss", "train:accuracy"],
         ["no points for metric train:accuracy from the trial components asked "
          "(1 other trial component has it in the window)"]),
        # both wrong
        (["nope"], ["nada"], ["no trial component nope in the window", "no metric nada in the window"]),
    ],
)
def test_what_is_missing_is_named_accurately(components: list[str], metrics: list[str],
                                             expected: list[str]) -> None:
    points = [row for row in curve_rows(["sweep-001-training-job", "sweep-002-training-job"], ["train:loss"], 3)
              if row[0] in components and row[1] in metrics]
    curves = curves_from_result(result_of(points), trial_components=components, metrics=metrics)
    assert curves.notes and (curves.missing_trial_components or curves.missing_metrics)
    assert explain_missing(curves, WINDOW).notes == expected


def test_an_empty_window_says_so_once() -> None:
    curves = curves_from_result(result_of([]), trial_components=["a", "b"], metrics=["loss"])
    empty = QueryResult(["trial_component", "metric_name"], ["VARCHAR"] * 2, [])
    assert explain_missing(curves, empty).notes == [
        "no metric points at all in the window (widen it with --since, or --all-time)"]


def test_other_notes_stay_and_the_lookup_cost_is_told() -> None:
    from smtrail_sql.result import QueryStats

    rows = curve_rows(["sweep-001-training-job"], ["train:loss"], 3) + [
        ("sweep-001-training-job", "train:loss", 9, math.nan, START, START)]
    curves = curves_from_result(result_of(rows), trial_components=["sweep-001-training-job"],
                                metrics=["train:loss", "train:los"])
    stats = QueryStats("athena", 1.0, query_id="q-2", bytes_scanned=10**7, cost_usd=5e-5, engine_seconds=0.4)
    window = QueryResult(WINDOW.columns, WINDOW.column_types, WINDOW.rows, stats=stats)
    notes = explain_missing(curves, window).notes
    assert notes[0] == "no metric train:los in the window (did you mean train:loss?)"
    assert "left out 1 point with a NULL, NaN or infinite value" in notes
    assert notes[-1].startswith("looking up the names in the window: scanned ")


@pytest.mark.parametrize(("kwargs", "setting"),
                         [({"x": "epoch"}, "x axis"), ({"max_series": 0}, "max series")])
def test_bad_settings_are_clear(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(SettingError) as caught:
        curves_from_result(result_of([]), **kwargs)
    assert caught.value.setting == setting


def test_a_result_without_the_curve_columns_is_refused() -> None:
    with pytest.raises(SettingError, match="missing step, value"):
        columns = ["trial_component", "metric_name", "metric_time"]
        curves_from_result(QueryResult(columns, ["VARCHAR"] * 3, []))


# -- PNG ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("components", "metrics", "size"),
    [
        (["run-a"], ["loss"], (640, 480)),
        (["run-a", "run-b", "run-c"], ["train:loss", "val:acc"], (1200, 800)),
        ([f"job-{i:02d}" for i in range(14)], ["loss", "acc", "lr"], (1000, 700)),  # many runs; 2x2
    ],
)
def test_png_has_the_size_and_the_lines(tmp_path: Path, components: list[str], metrics: list[str],
                                        size: tuple[int, int]) -> None:
    curves = curves_from_result(result_of(curve_rows(components, metrics)), metrics=metrics)
    path = tmp_path / "curves.png"
    figure = save_png(curves, path, width=size[0], height=size[1])
    assert png_size(path) == size
    visible = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in visible] == metrics
    for axes in visible:
        assert len(axes.get_lines()) == len(components)
        assert axes.get_xlabel() == "step"
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == components
    # each trial component keeps one colour across every subplot
    colours = {line.get_label(): line.get_color() for axes in visible for line in axes.get_lines()}
    assert len(set(map(str, colours.values()))) == len(components)


def test_png_default_height_grows_with_the_subplots(tmp_path: Path) -> None:
    path = tmp_path / "tall.png"
    save_png(curves_from_result(result_of(curve_rows(["a"], ["m1", "m2"]))), path, width=800)
    assert png_size(path) == (800, 720)


def test_png_against_time_has_a_time_axis(tmp_path: Path) -> None:
    curves = curves_from_result(result_of(curve_rows(["run-a", "run-b"], ["loss"])), "time")
    figure = save_png(curves, tmp_path / "t.png", width=500, height=400)
    assert figure.axes[0].get_xlabel() == "metric time (UTC)"
    assert png_size(tmp_path / "t.png") == (500, 400)


def test_png_of_nothing_says_so(tmp_path: Path) -> None:
    figure = save_png(Curves("step", {}, []), tmp_path / "empty.png", width=300, height=200)
    assert png_size(tmp_path / "empty.png") == (300, 200)
    assert "no metric points" in figure.axes[0].texts[0].get_text()


@pytest.mark.parametrize(("width", "height"), [(50, None), (20000, None), (400, 99), (400, 70000)])
def test_png_size_is_checked(tmp_path: Path, width: int, height: int | None) -> None:
    with pytest.raises(SettingError, match="from 100 to 16384 pixels a side"):
        save_png(Curves("step", {}, []), tmp_path / "x.png", width=width, height=height)


def test_log_scale_only_when_every_value_is_positive() -> None:
    positive = curves_from_result(result_of(curve_rows(["a"], ["loss"])))
    assert build_figure(positive, log_y=True).axes[0].get_yscale() == "log"
    with_zero = curves_from_result(result_of(curve_rows(["a"], ["acc"])))  # 1 - exp(0) = 0 at step 0
    assert build_figure(with_zero, log_y=True).axes[0].get_yscale() == "linear"


def test_many_series_get_distinct_colours() -> None:
    for count in (3, 15, 40):
        colours = series_colors(count)
        assert len(set(colours)) == count


def drawn_edges(path: Path) -> dict[str, int]:
    """Pixels on each edge of the image that are not background (white): a clipped legend leaves some."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)[:, :, :3]
    ink = (pixels < 0.98).any(axis=2)
    return {edge: int(line.sum()) for edge, line in
            {"top": ink[0], "bottom": ink[-1], "left": ink[:, 0], "right": ink[:, -1]}.items()}


def ink_inside(path: Path, box: Any) -> int:
    """Drawn pixels inside a display-coordinate box (origin bottom left; image rows run top down)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)[:, :, :3]
    height = pixels.shape[0]
    rows = slice(height - math.ceil(box.y1), height - math.floor(box.y0))
    return int((pixels[rows, math.floor(box.x0):math.ceil(box.x1)] < 0.5).any(axis=2).sum())


@pytest.mark.parametrize("width", [640, 800, 1200])
@pytest.mark.parametrize("count", [1, 4, 8, 20, 50])
def test_the_legend_lies_inside_the_image(tmp_path: Path, count: int, width: int) -> None:
    components = [f"resnet50-lr-{i}-aws-training-job" for i in range(count)]
    curves = curves_from_result(result_of(curve_rows(components, ["train:loss"], steps=12)),
                                trial_components=components, max_series=None)
    path = tmp_path / "curves.png"
    figure = save_png(curves, path, width=width)
    assert png_size(path) == (width, 360)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    (legend,) = figure.legends
    box = legend.get_window_extent(renderer)
    assert 0 < box.x0 < box.x1 < width and 0 < box.y0 < box.y1 < 360, box
    assert not box.overlaps(figure._suptitle.get_window_extent(renderer))
    for axes in figure.axes:
        assert not box.overlaps(axes.get_tightbbox(renderer))
    # on the pixels: the legend is drawn where its box says, and nothing touches the image's edges
    assert ink_inside(path, box) > 100
    assert drawn_edges(path) == {"top": 0, "bottom": 0, "left": 0, "right": 0}
    # every trial component is in the legend, or counted in its last entry
    texts = [text.get_text() for text in legend.get_texts()]
    if texts[-1].startswith("and "):
        assert texts[-1] == f"and {count - len(texts) + 1} more"
        texts = texts[:-1]
    else:
        assert len(texts) == count
    assert len(set(texts)) == len(texts)
    for shown, full in zip(texts, components, strict=False):
        assert shown == full or "…" in shown


def test_on_main_the_legend_was_clipped(tmp_path: Path) -> None:
    """(The checks above bite: a legend wider than the image, as main drew it, touches both edges.)"""
    curves = curves_from_result(result_of(curve_rows([f"run-{i}-of-a-sweep" for i in range(8)], ["loss"])))
    figure = build_figure(curves, width=640)
    figure.legends[0].remove()
    figure.legend(ncols=8, loc="outside lower center")
    figure.savefig(tmp_path / "clipped.png")
    edges = drawn_edges(tmp_path / "clipped.png")
    assert edges["left"] > 0 and edges["right"] > 0


@pytest.mark.parametrize("width", [640, 1200])
def test_long_names_are_shortened_and_still_told_apart(tmp_path: Path, width: int) -> None:
    components = [f"hyperparameter-tuning-job-2024-05-01-{i:03d}-of-a-very-long-sweep-name-train" for i in range(12)]
    curves = curves_from_result(result_of(curve_rows(components, ["loss"], steps=5)), trial_components=components)
    figure = save_png(curves, tmp_path / "long.png", width=width)
    texts = [text.get_text() for text in figure.legends[0].get_texts()]
    assert [re.findall(r"(?<!\d)\d{3}(?!\d)", text) for text in texts] == [[f"{i:03d}"] for i in range(12)]
    assert width > 640 or all("…" in text for text in texts)
    assert drawn_edges(tmp_path / "long.png") == {"top": 0, "bottom": 0, "left": 0, "right": 0}


@pytest.mark.parametrize(
    ("labels", "limit", "expected"),
    [
        (["a", "b"], 10, ["a", "b"]),
        (["job-a", "a-very-long-trial-component-name"], 12, ["job-a", "a-very…-name"]),
        (["sweep-001-training-job", "sweep-002-training-job"], 12, ["swe…001…-job", "swe…002…-job"]),
    ],
)
def test_labels_are_shortened_keeping_what_differs(labels: list[str], limit: int, expected: list[str]) -> None:
    assert shorten_labels(labels, limit) == expected
    assert all(len(label) <= limit for label in shorten_labels(labels, limit))


# -- text ------------------------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_text_chart_shape_and_content() -> None:
    curves = curves_from_result(result_of(curve_rows(["run-a", "run-b"], ["train:loss", "val:acc"])))
    text = render_text(curves, width=70, height=8, color=False, markers=False)
    assert "\x1b[" not in text
    charts = text.split("\n\n")
    assert [chart.splitlines()[0] for chart in charts] == ["train:loss by step", "val:acc by step"]
    for chart in charts:
        lines = chart.splitlines()
        plot_rows = lines[1:9]
        assert all("┤" in row or "│" in row for row in plot_rows)
        assert all(len(row) <= 70 for row in lines)
        assert any(ord(c) >= 0x2800 for c in "".join(plot_rows))  # braille dots drawn
        assert lines[9].lstrip().startswith("└")
        assert lines[10].split() == ["0", "19.5", "39"]  # the step range
        assert lines[11].split() == ["━", "run-a", "━", "run-b"]


def test_text_y_labels_show_the_range() -> None:
    curves = Curves("step", {"loss": [Series("a", "loss", [0, 1, 2, 3], [4.0, 3.0, 2.0, 1.0])]}, ["a"])
    rows = render_text(curves, width=40, height=5, color=False).splitlines()[1:6]
    assert [row.split("┤")[0].strip() for row in rows if "┤" in row] == ["4", "2.5", "1"]
    # a falling line: the top row's dots are left of the bottom row's
    top, bottom = rows[0].split("┤")[1], rows[-1].split("┤")[1]
    assert len(top.rstrip()) < len(bottom) and bottom.strip() and top.strip()


def test_text_colours_each_trial_component_on_a_terminal() -> None:
    curves = curves_from_result(result_of(curve_rows(["run-a", "run-b", "run-c"], ["loss"])))
    text = render_text(curves, width=80, height=10, color=True)
    codes = set(re.findall(r"\x1b\[(\d+)m", text)) - {"0"}
    assert codes == {"34", "33", "32"}  # blue, yellow, green: one per trial component
    plain = ANSI.sub("", text)
    assert plain == render_text(curves, width=80, height=10, color=False, markers=False)


def test_text_of_a_flat_curve_and_of_nothing() -> None:
    flat = Curves("step", {"lr": [Series("a", "lr", [0, 10], [0.1, 0.1])]}, ["a"])
    assert "lr by step" in render_text(flat, width=40, height=4, color=False)
    assert render_text(Curves("step", {}, []), color=False) == NOTHING_TO_DRAW


def test_text_against_time_labels_dates() -> None:
    curves = curves_from_result(result_of(curve_rows(["a"], ["loss"], steps=600)), "time")
    text = render_text(curves, width=80, height=6, color=False)
    assert "05-01 12:00" in text and "05-01 12:09" in text


def plot_rows(chart: str) -> list[str]:
    """The rows of a chart between its title and its x axis, without the y labels."""
    rows = chart.splitlines()[1:]
    return [row.split("┤" if "┤" in row else "│", 1)[1] for row in rows[:next(
        i for i, row in enumerate(rows) if "└" in row)]]


def test_without_colour_each_trial_component_has_its_marker() -> None:
    components = [f"run-{name}" for name in "abcde"]
    curves = curves_from_result(result_of(curve_rows(components, ["loss", "acc"])), trial_components=components)
    text = render_text(curves, width=80, height=16, color=False)
    assert "\x1b[" not in text
    assert not any(0x2800 <= ord(c) <= 0x28FF for c in text)  # braille cannot carry a marker
    for chart in text.split("\n\n"):
        drawn = set("".join(plot_rows(chart)))
        assert drawn - {" "} == set(MARKERS[:5])  # every curve shows, in its own character
        legend = chart.splitlines()[-1].split("  ")
        assert [entry for entry in legend if entry] == [f"{m} {c}" for m, c in zip(MARKERS, components, strict=False)]


def test_markers_follow_the_trial_component_across_charts() -> None:
    curves = curves_from_result(result_of(curve_rows(["a", "b", "c"], ["loss"]) + curve_rows(["c"], ["lr"])
                                          + curve_rows(["a", "c"], ["acc"])), trial_components=["a", "b", "c"])
    charts = dict(zip(curves.metrics, render_text(curves, color=False).split("\n\n"), strict=True))
    assert charts["acc"].splitlines()[-1].split() == [MARKERS[0], "a", MARKERS[2], "c"]
    assert set("".join(plot_rows(charts["acc"]))) - {" "} == {MARKERS[0], MARKERS[2]}
    assert any(0x2800 <= ord(c) <= 0x28FF for c in charts["lr"])  # one curve: nothing to tell apart, braille


def test_markers_are_distinct_and_come_round_again() -> None:
    assert len(set(MARKERS)) == len(MARKERS) >= 30
    assert not {"O", "X"} & set(MARKERS)
    components = [f"r{i:02d}" for i in range(len(MARKERS) + 2)]
    curves = curves_from_result(result_of(curve_rows(components, ["loss"], steps=3)), max_series=None)
    legend = render_text(curves, width=400, color=False).splitlines()[-1].split()
    assert legend[-4:] == [MARKERS[0], components[-2], MARKERS[1], components[-1]]


@pytest.mark.parametrize(("tty", "no_color", "expected"),
                         [(True, None, True), (True, "1", False), (True, "", True), (False, None, False)])
def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch, tty: bool,
                                                    no_color: str | None, expected: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert color_for(Stream()) is expected


class RecordingEngine:
    """An engine that answers metric-curves with ``points`` and metric-summary with ``WINDOW``, and records
    which queries ran, with their windows."""

    name = "local"  # reads what it is given: no metric store to choose
    bills_scans = False

    def __init__(self, points: list[tuple[Any, ...]]) -> None:
        self.points = points
        self.ran: list[tuple[str, Any]] = []

    def execute(self, query: Any, *, progress: Any = None) -> QueryResult:
        self.ran.append((query.name, query.window))
        return result_of(self.points) if query.name == "metric-curves" else WINDOW


@pytest.mark.parametrize(("metric", "queries"), [("train:loss", ["metric-curves"]),
                                                 ("train_loss", ["metric-curves", "metric-summary"])])
def test_the_names_are_looked_up_only_when_something_is_missing(metric: str, queries: list[str]) -> None:
    from smtrail_sql.api import Toolkit

    engine = RecordingEngine(curve_rows(["sweep-001-training-job"], ["train:loss"], 3))
    curves = Toolkit(engine).curves("sweep-001-training-job", metric, since="3d")  # type: ignore[arg-type]
    assert [name for name, _ in engine.ran] == queries
    assert len({window for _, window in engine.ran}) == 1  # the same window
    assert (curves.notes == []) == (len(queries) == 1)
    if len(queries) > 1:
        assert curves.notes == ["no metric train_loss in the window (did you mean train:loss?)"]
