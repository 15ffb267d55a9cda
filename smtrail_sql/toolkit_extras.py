"""The :class:`~smtrail_sql.api.Toolkit`'s methods built on its core (``query``, ``_build``, ``execute``): your
own SQL and exports, pandas frames of the canned queries, curves and plots. A mixin, so that each file keeps to one
job and a readable size; use them through ``Toolkit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from smtrail_sql.window import api_window

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smtrail_sql.api import Toolkit
    from smtrail_sql.engines.base import Engine, RunProgress
    from smtrail_sql.export import ExportSummary
    from smtrail_sql.plot import Curves
    from smtrail_sql.render import RenderedQuery
    from smtrail_sql.result import QueryResult
    from smtrail_sql.source import SourceChoice
    from smtrail_sql.templates import Template
    from smtrail_sql.window import TimeSpec, TimeWindow

#: The canned template :meth:`ToolkitExtras.curves` and :meth:`ToolkitExtras.plot` run.
CURVES_QUERY = "metric-curves"
#: The canned template whose rows name every trial component and metric in a window (when a curve is missing).
NAMES_QUERY = "metric-summary"


class ToolkitExtras:
    """Methods of :class:`~smtrail_sql.api.Toolkit` over its core; not used on their own."""

    if TYPE_CHECKING:  # the core, defined by Toolkit
        def query(self, name: str, params: Mapping[str, Any] | None = None, *, since: TimeSpec | None = None,
                  until: TimeSpec | None = None, all_time: bool = False,
                  delivery_lag: str | timedelta | None = None, source: str | None = None) -> RenderedQuery: ...

        def _build(self, template: Template, params: Mapping[str, Any], window: TimeWindow,
                   source: str | None) -> RenderedQuery: ...

        def execute(self, query: RenderedQuery, *, progress: RunProgress | None = None) -> QueryResult: ...

        def prepare(self, name: str, params: Mapping[str, Any], trial_components: Sequence[str] | None = None,
                    metrics: Sequence[str] | None = None, *, since: TimeSpec | None = None,
                    until: TimeSpec | None = None, all_time: bool = False,
                    delivery_lag: str | timedelta | None = None) -> RenderedQuery: ...

        def choose_source(self, source: str | None, window: TimeWindow) -> SourceChoice: ...

        @property
        def engine(self) -> Engine: ...

    def sql_query(self, text: str, *, since: TimeSpec | None = None, until: TimeSpec | None = None,
                  all_time: bool = False, delivery_lag: str | timedelta | None = None,
                  source: str | None = None) -> RenderedQuery:
        """Your own read-only SQL over the views, built as :meth:`query` builds a template's (window, one copy
        of each event); :func:`smtrail_sql.adhoc.adhoc_template` says what is refused."""
        from smtrail_sql.adhoc import adhoc_template

        window = api_window(since, until, all_time=all_time, delivery_lag=delivery_lag)
        return self._build(adhoc_template(text), {}, window, source)

    def sql(self, text: str, *, since: TimeSpec | None = None, until: TimeSpec | None = None,
            all_time: bool = False,
            delivery_lag: str | timedelta | None = None, source: str = "auto") -> QueryResult:
        """Run your own read-only SQL over the views, e.g. ``kit.sql("SELECT count(*) FROM sagemaker_metrics")``."""
        return self.execute(self.sql_query(text, since=since, until=until, all_time=all_time,
                                           delivery_lag=delivery_lag, source=source))

    def export(self, to: Path | str, *, fmt: str | None = None, force: bool = False, since: TimeSpec | None = None,
               until: TimeSpec | None = None, all_time: bool = False, delivery_lag: str | timedelta | None = None,
               source: str = "auto", progress: RunProgress | None = None) -> ExportSummary:
        """Write both views over a window, one copy of each event, to a DuckDB or SQLite file or to Parquet
        (:func:`smtrail_sql.export.export_relations`)."""
        from smtrail_sql.export import export_relations

        window = api_window(since, until, all_time=all_time, delivery_lag=delivery_lag)
        # the local engine streams each view to the file in Arrow batches; Athena's rows come whole
        stream = getattr(self.engine, "execute_batches", None)
        return export_relations(to, fmt=fmt, force=force, build=lambda t: self._build(t, {}, window, source),
                                execute=lambda query: self.execute(query, progress=progress),
                                batches=(lambda query: stream(query, progress=progress)) if stream else None)

    # -- frames: pandas DataFrames from the canned queries (smtrail_sql.metric_frames) -----------------------

    def metric_history(self, trial_component: str, metric: str, *, index: str = "step", **options: Any) -> Any:
        """One metric of one trial component as a DataFrame indexed by ``step`` (or ``index="time"``), with
        ``value`` and its times; ``options`` are :meth:`run`'s (``since``, ``all_time``, ``limit``...).

        >>> kit.metric_history("job-1", "train:loss", all_time=True)["value"].plot()  # doctest: +SKIP
        """
        from smtrail_sql.metric_frames import metric_history

        return metric_history(cast("Toolkit", self), trial_component, metric, index=index, **options)

    def runs_table(self, metrics: Sequence[str] | str | None = None, **options: Any) -> Any:
        """Trial components x metrics, like ``mlflow.search_runs``: one row per trial component, its first and
        last metric time and a ``metrics.NAME`` column per metric (the last value, or ``value="max"``...).
        ``options``: ``trial_components``, ``value`` and :meth:`run`'s (see :mod:`smtrail_sql.metric_frames`).

        >>> kit.runs_table(["train:loss", "val:acc"], since="30d")                 # doctest: +SKIP
        """
        from smtrail_sql.metric_frames import runs_table

        return runs_table(cast("Toolkit", self), metrics, **options)

    # -- curves --------------------------------------------------------------------------------------------

    def curves(
        self,
        trial_components: Sequence[str] | str,
        metrics: Sequence[str] | str,
        *,
        x: str = "step",
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        max_series: int | None = None,
        limit: int | None = None,
        progress: RunProgress | None = None,
        max_points: int | None = None,
    ) -> Curves:
        """The metric curves of some trial components, grouped for plotting (see :mod:`smtrail_sql.plot`);
        ``limit`` caps the points read (``max_points``, its old name, warns); ``curves.stats`` says what the
        query cost."""
        from smtrail_sql.plot import DEFAULT_MAX_SERIES, curves_from_result, explain_missing
        from smtrail_sql.settings import required_names

        components, names = required_names(trial_components), required_names(metrics)
        params: dict[str, Any] = {"trial_components": components, "metrics": names}
        if max_points is not None:
            import warnings

            from smtrail_sql.errors import RenamedWarning

            warnings.warn("curves(max_points=...) is now curves(limit=...)", RenamedWarning, stacklevel=2)
            limit = max_points if limit is None else limit
        if limit is not None:
            params["limit"] = limit
        query = self.prepare(CURVES_QUERY, params, since=since, until=until, all_time=all_time,
                             delivery_lag=delivery_lag)  # (a built-in: its shipped form, no sqlglot, locally)
        choice = self.choose_source("auto", query.window)
        if choice.source != "trail":
            query = self.query(CURVES_QUERY, params, since=since, until=until, all_time=all_time,
                               delivery_lag=delivery_lag, source=choice.source)
        curves = curves_from_result(self.execute(query, progress=progress), x, trial_components=components,
                                    metrics=names, max_series=max_series or DEFAULT_MAX_SERIES)
        if curves.missing_trial_components or curves.missing_metrics:
            # say which name was not found and what was meant: the names in the window (the same instants,
            # not "3d" read again), on the same engine
            start, end = query.window.start, query.window.end
            lookup = self.query(NAMES_QUERY, {"limit": 100_000}, since=start.isoformat() if start else None,
                                until=end.isoformat() if end else None, all_time=not query.window.is_bounded,
                                delivery_lag=query.window.delivery_lag, source="auto")
            curves = explain_missing(curves, self.execute(lookup, progress=progress))
        return curves

    def plot(
        self,
        trial_components: Sequence[str] | str,
        metrics: Sequence[str] | str,
        *,
        output: Path | str | None = None,
        x: str = "step",
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        max_series: int | None = None,
        width: int = 1200,
        height: int | None = None,
        log_y: bool = False,
    ) -> Figure:
        """Draw metric curves as a matplotlib figure (shown inline by Jupyter), saved as PNG if ``output``.

        >>> tk.plot(["job-a", "job-b"], "train:loss", output="loss.png")         # doctest: +SKIP
        """
        from smtrail_sql.plot import build_figure, save_png

        curves = self.curves(trial_components, metrics, x=x, since=since, until=until, all_time=all_time,
                             delivery_lag=delivery_lag, max_series=max_series)
        if output is not None:
            return save_png(curves, Path(output), width=width, height=height, log_y=log_y)
        return build_figure(curves, width=width, height=height, log_y=log_y)
