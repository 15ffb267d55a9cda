"""Metric curves: a metric query's rows as one line per trial component and metric, drawn as a PNG.

The query result needs the columns ``trial_component``, ``metric_name``, ``step``, ``value`` and
``metric_time`` (what the ``metric-curves`` template returns). :func:`curves_from_result` groups and
orders the points; :func:`save_png` draws them with matplotlib (imported only here, Agg, no pyplot state) and
:func:`smtrail_sql.textplot.render_text` draws them on a terminal.

>>> import datetime as dt
>>> from smtrail_sql.result import QueryResult
>>> t = dt.datetime(2024, 1, 1)
>>> r = QueryResult(["trial_component", "metric_name", "step", "value", "metric_time"],
...                 ["VARCHAR", "VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP"],
...                 [("run-a", "loss", 1, 0.5, t), ("run-a", "loss", 0, 0.9, t)])
>>> curves = curves_from_result(r)
>>> [(s.label, s.x, s.y) for s in curves.series["loss"]]
[('run-a', [0, 1], [0.9, 0.5])]
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from smtrail_sql.errors import SettingError
from smtrail_sql.legend import fit_title, place_legend

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smtrail_sql.result import QueryResult, QueryStats

XAxis = Literal["step", "time"]
X_AXES: Final = ("step", "time")
REQUIRED_COLUMNS: Final = ("trial_component", "metric_name", "step", "value", "metric_time")

#: What an empty plot says (the notes say why).
NOTHING_TO_DRAW: Final = "no metric points for the trial components and metrics asked"

#: Default number of trial components drawn; past a few dozen lines no plot is readable.
DEFAULT_MAX_SERIES: Final = 20


@dataclass(frozen=True)
class Series:
    """One curve: the points of one metric of one trial component, in x order.

    ``x`` holds steps (``int``) or, when plotting against time or when the points carry no step, positions in
    time order (``int``) or timestamps (``datetime``), per ``Curves.x_axis`` and ``by_time_order``.
    """

    trial_component: str
    metric_name: str
    x: list[Any]
    y: list[float]
    #: True when the points had no step and are placed by their order in time instead.
    by_time_order: bool = False

    @property
    def label(self) -> str:
        """The legend label: the trial component, marked when its x is time order rather than steps."""
        return f"{self.trial_component} (time order)" if self.by_time_order else self.trial_component


@dataclass(frozen=True)
class Curves:
    """Every series to draw, grouped by metric, with notes on what was left out and why."""

    x_axis: XAxis
    #: metric name -> its series, one per trial component, in the order the trial components were asked for.
    series: dict[str, list[Series]]
    #: Trial components drawn, in order (each keeps one colour across every metric).
    trial_components: list[str]
    notes: list[str] = field(default_factory=list)
    #: What the query behind the curves cost (``None`` when not known).
    stats: QueryStats | None = None
    #: Trial components and metrics asked for that have no points (see :func:`explain_missing`).
    missing_trial_components: list[str] = field(default_factory=list)
    missing_metrics: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> list[str]:
        """Metric names, one subplot each."""
        return list(self.series)

    @property
    def series_count(self) -> int:
        """Number of lines drawn over all subplots."""
        return sum(len(lines) for lines in self.series.values())


def curves_from_result(
    result: QueryResult,
    x: str = "step",
    *,
    trial_components: list[str] | None = None,
    metrics: list[str] | None = None,
    max_series: int | None = DEFAULT_MAX_SERIES,
) -> Curves:
    """Group a metric query's rows into curves.

    ``x="step"`` orders each curve by step; points without a step are left out and counted in a note, and a
    curve whose points have no step at all is drawn in time order instead. ``x="time"`` uses ``metric_time``.
    NaN and infinite values are left out and counted. ``trial_components``/``metrics`` fix the order (and
    report the ones with no points); ``max_series`` keeps the first N trial components and says so.

    >>> from smtrail_sql.result import QueryResult
    >>> empty = QueryResult(list(REQUIRED_COLUMNS), ["VARCHAR"] * 5, [])
    >>> curves_from_result(empty, trial_components=["run-a"], metrics=["loss"]).notes
    ['no points for trial component run-a', 'no points for metric loss']
    """
    if x not in X_AXES:
        raise SettingError("x axis", x, "step or time")
    if max_series is not None and max_series < 1:
        raise SettingError("max series", max_series, "a positive number of trial components")
    missing = [c for c in REQUIRED_COLUMNS if c not in result.columns]
    if missing:
        wanted = ", ".join(REQUIRED_COLUMNS)
        raise SettingError("plot columns", result.columns,
                           f"a result with the columns {wanted} (missing {', '.join(missing)})")
    index = {name: result.columns.index(name) for name in REQUIRED_COLUMNS}
    points: dict[tuple[str, str], list[tuple[Any, Any, float]]] = {}
    non_finite = 0
    for row in result.rows:
        value = row[index["value"]]
        if value is None or not math.isfinite(float(value)):
            non_finite += 1
            continue
        key = (str(row[index["trial_component"]]), str(row[index["metric_name"]]))
        points.setdefault(key, []).append((row[index["step"]], row[index["metric_time"]], float(value)))

    found_components = _ordered({tc for tc, _ in points}, trial_components)
    found_metrics = _ordered({m for _, m in points}, metrics)
    missing_components = [tc for tc in trial_components or [] if tc not in found_components]
    missing_metrics = [m for m in metrics or [] if m not in found_metrics]
    notes = [f"no points for trial component {tc}" for tc in missing_components]
    notes += [f"no points for metric {m}" for m in missing_metrics]
    if max_series is not None and len(found_components) > max_series:
        notes.append(f"showing {max_series} of {len(found_components)} trial components (raise --max-series)")
        found_components = found_components[:max_series]
    if non_finite:
        notes.append(f"left out {non_finite} point{'s' if non_finite > 1 else ''} "
                     "with a NULL, NaN or infinite value")

    series: dict[str, list[Series]] = {}
    without_step = 0
    for metric in found_metrics:
        lines = []
        for component in found_components:
            if (component, metric) not in points:
                continue
            line, dropped = _series(component, metric, points[(component, metric)], x)
            without_step += dropped
            lines.append(line)
        if lines:
            series[metric] = lines
    if without_step:
        notes.append(f"left out {without_step} point{'s' if without_step > 1 else ''} without a step "
                     "from curves that have steps (plot with --x time to see them)")
    for lines in series.values():
        notes += [f"{s.trial_component}/{s.metric_name} has no steps: drawn in time order"
                  for s in lines if s.by_time_order]
    return Curves(x_axis="time" if x == "time" else "step", series=series,
                  trial_components=found_components, notes=notes, stats=result.stats,
                  missing_trial_components=missing_components, missing_metrics=missing_metrics)


def explain_missing(curves: Curves, window: QueryResult) -> Curves:
    """``curves`` with its "no points for ..." notes replaced by what was really not found, from ``window``:
    the trial component and metric names that have points in the window (a result with the columns
    ``trial_component`` and ``metric_name``, such as ``metric-summary``'s). A name absent from the window is
    told so, with the closest names that are there; a name that is there but has no points for what it was
    paired with says what it does have; a metric typo does not blame the trial components.

    >>> from smtrail_sql.result import QueryResult
    >>> empty = QueryResult(list(REQUIRED_COLUMNS), ["VARCHAR"] * 5, [])
    >>> asked = curves_from_result(empty, trial_components=["job-a"], metrics=["train_loss"])
    >>> window = QueryResult(["trial_component", "metric_name"], ["VARCHAR"] * 2, [("job-a", "train:loss")])
    >>> explain_missing(asked, window).notes
    ['no metric train_loss in the window (did you mean train:loss?)']
    """
    import difflib

    at = window.columns.index("trial_component"), window.columns.index("metric_name")
    pairs = {(str(row[at[0]]), str(row[at[1]])) for row in window.rows}
    by_component: dict[str, set[str]] = {}
    for component, metric in pairs:
        by_component.setdefault(component, set()).add(metric)
    metrics_there = {metric for _, metric in pairs}

    def hint(name: str, names: set[str]) -> str:
        # a high cutoff: names that share a long "-aws-training-job" tail are not alike for that alone
        close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.75)
        listed = f"{', '.join(close[:-1])} or {close[-1]}" if len(close) > 1 else "".join(close)
        return f" (did you mean {listed}?)" if close else ""

    asked_metrics = [*curves.metrics, *curves.missing_metrics]
    explained: list[str] = []
    if not pairs:
        explained.append("no metric points at all in the window (widen it with --since, or --all-time)")
    for component in curves.missing_trial_components if pairs else ():
        if component not in by_component:
            explained.append(f"no trial component {component} in the window{hint(component, set(by_component))}")
        elif any(m in metrics_there for m in asked_metrics):  # else the metrics are what is missing
            has = sorted(by_component[component])
            shown = ", ".join(has[:5]) + (f" and {len(has) - 5} more" if len(has) > 5 else "")
            explained.append(f"trial component {component} has none of the metrics asked (it has {shown})")
    for metric in curves.missing_metrics if pairs else ():
        if metric not in metrics_there:
            explained.append(f"no metric {metric} in the window{hint(metric, metrics_there)}")
        elif curves.trial_components:  # else each trial component's note says what it has
            others = sum(metric in names for names in by_component.values())
            explained.append(f"no points for metric {metric} from the trial components asked ({others} other "
                             f"trial component{' has' if others == 1 else 's have'} it in the window)")
    unexplained = {f"no points for trial component {c}" for c in curves.missing_trial_components}
    unexplained |= {f"no points for metric {m}" for m in curves.missing_metrics}
    looked_up = [f"looking up the names in the window: {line}" for line in
                 (window.stats.describe() if window.stats is not None else [])]
    notes = explained + [note for note in curves.notes if note not in unexplained] + looked_up
    return replace(curves, notes=notes)


def _ordered(found: set[str], wanted: list[str] | None) -> list[str]:
    """The names asked for first, in their order, then any others sorted."""
    first = [name for name in wanted or [] if name in found]
    return first + sorted(found - set(first))


def _series(component: str, metric: str, points: list[tuple[Any, Any, float]], x: str) -> tuple[Series, int]:
    """One curve and the number of points left out for having no step."""
    never = dt.datetime.max
    if x == "time":
        timed = sorted((p for p in points if p[1] is not None), key=lambda p: (p[1], p[0] or 0))
        curve = Series(component, metric, [p[1] for p in timed], [p[2] for p in timed])
        return curve, len(points) - len(timed)
    stepped = [p for p in points if p[0] is not None]
    if not stepped:
        # no step anywhere on this curve: the time order is the only order there is
        ordered = sorted(points, key=lambda p: p[1] or never)
        return Series(component, metric, list(range(len(ordered))), [p[2] for p in ordered], True), 0
    stepped.sort(key=lambda p: (p[0], p[1] or never))
    curve = Series(component, metric, [p[0] for p in stepped], [p[2] for p in stepped])
    return curve, len(points) - len(stepped)


# -- PNG ---------------------------------------------------------------------------------------------------


def series_colors(count: int) -> list[tuple[float, float, float, float]]:
    """Distinct colours for ``count`` lines: tab10, then tab20, then an evenly sampled perceptual map.

    >>> len(series_colors(3)), len(series_colors(40))
    (3, 40)
    """
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        return [colormaps["tab20"](i) for i in range(count)]
    turbo = colormaps["turbo"]
    return [turbo(0.05 + 0.9 * i / (count - 1)) for i in range(count)]


def build_figure(
    curves: Curves, *, width: int = 1200, height: int | None = None, dpi: int = 100, log_y: bool = False,
) -> Figure:
    """A matplotlib figure: one subplot per metric, one line per trial component, one shared legend.

    The figure is exactly ``width`` x ``height`` pixels (height defaults to 360 per row of subplots). The
    legend lies below the plots, inside the image whatever the number of trial components (see
    :mod:`smtrail_sql.legend`); the title is shortened to the width.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    metrics = curves.metrics or ["(no points)"]
    columns = 1 if len(metrics) < 3 else 2
    rows = math.ceil(len(metrics) / columns)
    height = height or max(300, 360 * rows)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)  # a renderer to measure text with, before the file is written
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    colors = dict(zip(curves.trial_components, series_colors(len(curves.trial_components)), strict=True))
    handles: dict[str, Any] = {}
    for position, axes in enumerate(axes_grid.flat):
        if position >= len(metrics):
            axes.set_visible(False)
            continue
        metric = metrics[position]
        for line in curves.series.get(metric, []):
            short = len(line.x) < 30  # markers show where the points are when there are few of them
            (handle,) = axes.plot(line.x, line.y, color=colors[line.trial_component], linewidth=1.4,
                                  marker="o" if short else None, markersize=3, label=line.label)
            handles.setdefault(line.label, handle)
        axes.set_title(metric)
        axes.set_ylabel("value")
        axes.grid(True, alpha=0.3)
        if log_y and all(v > 0 for s in curves.series.get(metric, []) for v in s.y):
            axes.set_yscale("log")
        if curves.x_axis == "time":
            locator = AutoDateLocator()  # type: ignore[no-untyped-call]
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
            axes.set_xlabel("metric time (UTC)")
        else:
            axes.set_xlabel("step")
    if not curves.metrics:
        # wrapped to the plot, and left out of the layout, so a narrow image keeps its plot
        axes_grid.flat[0].text(0.5, 0.5, NOTHING_TO_DRAW, ha="center", va="center", wrap=True, in_layout=False,
                               transform=axes_grid.flat[0].transAxes)
    components = len(curves.trial_components)
    by = f"by {'step' if curves.x_axis == 'step' else 'time'}: {components} trial " \
         f"component{'s' if components != 1 else ''}"
    named = f"{', '.join(curves.metrics) or 'metrics'} {by}"
    fit_title(figure, [named, f"{len(curves.metrics)} metric{'s' if len(curves.metrics) != 1 else ''} {by}"])
    if handles:
        place_legend(figure, list(handles.values()), list(handles))
    return figure


#: The widest and tallest PNG drawn: matplotlib refuses 65,536 pixels a side, and a quarter of that is already
#: a poster (a typo such as ``--width 120000`` is refused before the query runs, not after).
MAX_PNG_SIDE: Final = 16384


def save_png(
    curves: Curves, path: Path, *, width: int = 1200, height: int | None = None, dpi: int = 100,
    log_y: bool = False,
) -> Figure:
    """Draw ``curves`` into a PNG file of exactly ``width`` x ``height`` pixels and return the figure.

    >>> import tempfile, pathlib
    >>> empty = Curves(x_axis="step", series={}, trial_components=[])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = save_png(empty, pathlib.Path(d) / "curves.png", width=400, height=300)
    >>> fig.get_size_inches() * fig.dpi
    array([400., 300.])
    """
    if not 100 <= width <= MAX_PNG_SIDE or (height is not None and not 100 <= height <= MAX_PNG_SIDE):
        raise SettingError("plot size", f"{width}x{height}", f"from 100 to {MAX_PNG_SIDE} pixels a side")
    figure = build_figure(curves, width=width, height=height, dpi=dpi, log_y=log_y)
    # no bbox_inches="tight": it would change the pixel size the caller asked for
    figure.savefig(path, format="png", dpi=dpi)
    return figure
