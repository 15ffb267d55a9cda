"""The pandas frames a metrics user reaches for, built from the canned queries (no SQL of their own):

- :func:`metric_history`: one metric of one trial component, indexed by step (or time): a learning curve;
- :func:`runs_table`: one row per trial component, a ``metrics.NAME`` column per metric, like
  ``mlflow.search_runs``.

They run through the toolkit (its engine, window, source and scan limit) and import pandas only when called; a
missing pandas is a :class:`~smtrail_sql.errors.MissingDependencyError`.

>>> kit.metric_history("job-1", "train:loss", all_time=True)["value"].plot()         # doctest: +SKIP
>>> kit.runs_table(metrics=["train:loss", "val:acc"], value="max", since="30d")      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import SettingError
from smtrail_sql.frames import require, to_pandas

if TYPE_CHECKING:
    from smtrail_sql.api import Toolkit

#: The canned queries the frames come from.
HISTORY_QUERY = "metric-history"
SUMMARY_QUERY = "metric-summary"
#: ``metric_history(index=...)``: the column each index is.
HISTORY_INDEXES = {"step": "step", "time": "metric_time"}
#: ``runs_table(value=...)``: which point (or aggregate) of a metric fills its column, from metric-summary.
RUN_VALUES = {"last": "last_value", "first": "first_value", "min": "min_value", "max": "max_value",
              "avg": "avg_value", "points": "points"}
#: The prefix of a metric's column in :func:`runs_table`, as ``mlflow.search_runs`` spells it.
METRIC_PREFIX = "metrics."


def metric_history(kit: Toolkit, trial_component: str, metric: str, *, index: str = "step", **options: Any) -> Any:
    """The points of one metric of one trial component as a DataFrame indexed by ``step`` (``index="time"``:
    the point's own ``metric_time``), in step then time order: ``value``, ``metric_time``, ``event_time``,
    ``caller_arn`` (the columns of the ``metric-history`` query; times UTC-aware).

    A step logged twice keeps both points (the index is then not unique); points without a step come last,
    with a missing index value. ``options`` are :meth:`Toolkit.run`'s: the window (``since``, ``until``,
    ``all_time``, ``delivery_lag``), ``source`` and ``limit`` (default 10,000 points).
    """
    if index not in HISTORY_INDEXES:
        raise SettingError("index", index, f"one of {', '.join(HISTORY_INDEXES)}")
    require("pandas", "pandas")
    frame = to_pandas(kit.run(HISTORY_QUERY, trial_components=[trial_component], metrics=[metric], **options))
    # (one trial component and one metric: their columns say nothing more)
    return frame.drop(columns=["trial_component", "metric_name"], errors="ignore").set_index(HISTORY_INDEXES[index])


def runs_table(
    kit: Toolkit,
    metrics: Sequence[str] | str | None = None,
    *,
    trial_components: Sequence[str] | str | None = None,
    value: str = "last",
    **options: Any,
) -> Any:
    """One row per trial component (the ``trial_component`` column), with ``first_metric_time`` and
    ``last_metric_time`` (over its metrics) and one ``metrics.NAME`` column per metric, from the
    ``metric-summary`` query. ``value`` chooses what fills a metric's column: ``last`` (the point with the
    highest step, then the latest time: what ``mlflow.search_runs`` shows), ``first``, ``min``, ``max``,
    ``avg`` or ``points`` (how many). A trial component without a metric has NaN in its column.

    ``metrics`` and ``trial_components`` (``None``: all) narrow the query; the metric columns follow the order of
    ``metrics``, else the names' order. ``options`` are :meth:`Toolkit.run`'s (window, ``source``, ``limit``:
    most trial component x metric pairs read, 10,000 by default). Rows come newest activity first.
    """
    if value not in RUN_VALUES:
        raise SettingError("value", value, f"one of {', '.join(RUN_VALUES)}")
    require("pandas", "pandas")
    params: dict[str, Any] = {"metrics": metrics or None, "trial_components": trial_components or None}
    summary = to_pandas(kit.run(SUMMARY_QUERY, **{k: v for k, v in params.items() if v is not None}, **options))
    names = _requested(metrics) or sorted(summary["metric_name"].unique())
    values = summary.pivot(index="trial_component", columns="metric_name", values=RUN_VALUES[value])
    values = values.reindex(columns=names).astype("Int64" if value == "points" else "float64")
    values.columns = [f"{METRIC_PREFIX}{name}" for name in names]
    times = summary.groupby("trial_component").agg(first_metric_time=("first_metric_time", "min"),
                                                   last_metric_time=("last_metric_time", "max"))
    table = times.join(values).reset_index()
    return table.sort_values(["last_metric_time", "trial_component"], ascending=[False, True],
                             ignore_index=True)


def _requested(metrics: Sequence[str] | str | None) -> list[str]:
    from smtrail_sql.settings import split_commas

    return list(dict.fromkeys(split_commas(metrics))) if metrics else []
