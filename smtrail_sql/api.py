"""The Python API a notebook reaches for: open a toolkit on local logs or on Athena, then list, describe,
render, run and plot the canned queries (and your own).

>>> tk = Toolkit.local("smtrail-demo")                                          # doctest: +SKIP
>>> [q.name for q in tk.queries()][:3]                                          # doctest: +SKIP
['callers', 'compare-runs', 'duplicate-points']
>>> rows = tk.run("metric-summary", since="30d").as_dicts()                     # doctest: +SKIP
>>> from smtrail_sql import to_pandas
>>> df = to_pandas(tk.run("metric-history", trial_component="job-1", metric="loss"))  # doctest: +SKIP

Every error is a :class:`smtrail_sql.errors.SmtrailError` (``ParameterError``, ``UnknownQueryError``,
``SettingError``, ``EngineError``...).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import EngineError, SettingError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smtrail_sql.catalog import Catalog, Template
    from smtrail_sql.engines import Engine
    from smtrail_sql.plot import Curves
    from smtrail_sql.render import Naming, RenderedQuery
    from smtrail_sql.result import QueryResult
    from smtrail_sql.window import TimeWindow

#: The canned template :meth:`Toolkit.curves` and :meth:`Toolkit.plot` run.
CURVES_QUERY = "metric-curves"


@dataclass(frozen=True)
class ParamInfo:
    """One declared parameter of a query."""

    name: str
    type: str
    required: bool
    default: Any
    help: str


@dataclass(frozen=True)
class QueryInfo:
    """What a query answers and what it takes."""

    name: str
    summary: str
    description: str
    params: list[ParamInfo]
    source: str
    path: Path

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.description}"]
        for p in self.params:
            need = "required" if p.required else f"default {p.default!r}"
            lines.append(f"  {p.name} ({p.type}, {need}): {p.help}")
        return "\n".join(lines)


class Toolkit:
    """Queries bound to an engine: local DuckDB over CloudTrail files, or Athena.

    Build one with :meth:`local` or :meth:`athena` (or pass any object that follows the
    :class:`~smtrail_sql.engines.Engine` protocol); ``Toolkit()`` alone lists, describes and renders.
    Time windows default to the last 7 days, like the CLI; pass ``since``/``until`` (ISO dates, datetimes
    or ages such as ``"30d"``) or ``all_time=True``, and ``delivery_lag`` (``"4d"`` or a ``timedelta``;
    default ``SMTRAIL_DELIVERY_LAG``, else one day) for files delivered late.

    >>> tk = Toolkit.local("smtrail-demo")                                      # doctest: +SKIP
    >>> tk.run("runs", all_time=True).as_dicts()[0]["trial_component"]          # doctest: +SKIP
    'resnet50-lr-0-1-aws-training-job'
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        queries_dirs: Sequence[Path | str] | None = None,
        database: str | None = None,
        view: str | None = None,
    ) -> None:
        self.engine = engine
        self._queries_dirs = [Path(d) for d in queries_dirs or ()]
        self._database = database
        self._view = view
        self._catalog: Catalog | None = None

    @classmethod
    def local(
        cls,
        logs_dir: Path | str,
        *,
        queries_dirs: Sequence[Path | str] | None = None,
        **engine_options: Any,
    ) -> Toolkit:
        """A toolkit on a folder of CloudTrail log files (a bucket copy or loose files), run by DuckDB.

        ``engine_options`` go to :class:`smtrail_sql.engines.local.LocalEngine` (cache, strict...).

        >>> tk = Toolkit.local("smtrail-demo")                                  # doctest: +SKIP
        """
        from smtrail_sql.engines.local import LocalEngine

        # (a logs_dir that is not a folder is a SettingError from the engine, as on the command line)
        return cls(LocalEngine(logs_dir, **engine_options), queries_dirs=queries_dirs)

    @classmethod
    def athena(
        cls,
        *,
        database: str | None = None,
        workgroup: str | None = None,
        view: str | None = None,
        queries_dirs: Sequence[Path | str] | None = None,
        **engine_options: Any,
    ) -> Toolkit:
        """A toolkit on Athena, through boto3's standard credentials (profile, region, environment).

        Settings not given come from ``SMTRAIL_*`` variables (see the README). ``engine_options``
        (``region``, ``profile``, ``output_location``, ``catalog``, ``status``...) go to
        :meth:`smtrail_sql.engines.athena.AthenaEngine.from_settings`.

        >>> tk = Toolkit.athena(database="smtrail", workgroup="primary", region="us-east-1")  # doctest: +SKIP
        """
        from smtrail_sql.engines.athena import AthenaEngine

        engine = AthenaEngine.from_settings(database=database, workgroup=workgroup, **engine_options)
        # the views live in the engine's database, which may have come from SMTRAIL_DATABASE
        return cls(engine, queries_dirs=queries_dirs, database=engine.settings.database, view=view)

    # -- the catalog ---------------------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The templates: built-in ones, then those of ``queries_dirs`` (loaded once)."""
        if self._catalog is None:
            from smtrail_sql.catalog import Catalog

            self._catalog = Catalog.load(self._queries_dirs)
        return self._catalog

    def queries(self) -> list[QueryInfo]:
        """Every query, sorted by name.

        >>> [q.name for q in Toolkit().queries()][:2]
        ['callers', 'compare-runs']
        """
        return [_info(t) for t in self.catalog.templates.values()]

    def describe(self, name: str) -> QueryInfo:
        """What one query answers and its parameters; :class:`UnknownQueryError` suggests the closest name.

        >>> [p.name for p in Toolkit().describe("metric-history").params]
        ['trial_component', 'metric', 'limit']
        """
        return _info(self.catalog.get(name))

    # -- rendering and running -----------------------------------------------------------------------------

    def rendered(
        self,
        name: str,
        *,
        since: str | None = None,
        until: str | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        **params: Any,
    ) -> RenderedQuery:
        """The rendered query object (its SQL for either dialect, window, bound parameters)."""
        from smtrail_sql.render import render

        return render(self.catalog.get(name), params, window=_window(since, until, all_time, delivery_lag),
                      naming=self._naming())

    def render(
        self,
        name: str,
        *,
        since: str | None = None,
        until: str | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        dialect: str = "athena",
        **params: Any,
    ) -> str:
        """The query's SQL with its parameters filled in: Athena SQL to paste into the console by default.

        >>> sql = Toolkit().render("runs", since="2024-05-01", until="2024-05-02")
        >>> "day >= '2024/05/01'" in sql
        True
        """
        return self.rendered(name, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag,
                             **params).to_sql(dialect)

    def run(
        self,
        name: str,
        *,
        since: str | None = None,
        until: str | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        **params: Any,
    ) -> QueryResult:
        """Run a query on the toolkit's engine and return its typed rows.

        Parameters are Python values (``trial_components=["a", "b"]``) or the CLI's strings (``"a,b"``).
        ``result.as_dicts()`` gives dicts, :func:`smtrail_sql.records` named tuples,
        :func:`smtrail_sql.to_pandas` / :func:`smtrail_sql.to_arrow` frames.
        """
        query = self.rendered(name, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag,
                              **params)
        if self.engine is None:
            raise EngineError("this toolkit has no engine: open it with Toolkit.local(logs_dir) or "
                              "Toolkit.athena(database=..., workgroup=...)")
        return self.engine.execute(query)

    # -- curves --------------------------------------------------------------------------------------------

    def curves(
        self,
        trial_components: Sequence[str] | str,
        metrics: Sequence[str] | str,
        *,
        x: str = "step",
        since: str | None = None,
        until: str | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        max_series: int | None = None,
        max_points: int | None = None,
    ) -> Curves:
        """The metric curves of some trial components, grouped for plotting (see :mod:`smtrail_sql.plot`)."""
        from smtrail_sql.plot import DEFAULT_MAX_SERIES, curves_from_result

        components, names = _names(trial_components), _names(metrics)
        params: dict[str, Any] = {"trial_components": components, "metrics": names}
        if max_points is not None:
            params["max_points"] = max_points
        result = self.run(CURVES_QUERY, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag,
                          **params)
        return curves_from_result(result, x, trial_components=components, metrics=names,
                                  max_series=max_series or DEFAULT_MAX_SERIES)

    def plot(
        self,
        trial_components: Sequence[str] | str,
        metrics: Sequence[str] | str,
        *,
        output: Path | str | None = None,
        x: str = "step",
        since: str | None = None,
        until: str | None = None,
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

    def _naming(self) -> Naming:
        from smtrail_sql.render import Naming

        options = {k: v for k, v in {"database": self._database, "view": self._view}.items() if v}
        if self._view:
            from smtrail_sql.schema import calls_view_for

            options["calls_view"] = calls_view_for(self._view)
        return Naming(**options)


def _info(template: Template) -> QueryInfo:
    params = [ParamInfo(s.name, s.type, s.required, s.default, s.help) for s in template.params.values()]
    return QueryInfo(template.name, template.summary, template.description, params, template.source,
                     template.path)


def _window(since: str | None, until: str | None, all_time: bool, delivery_lag: str | timedelta | None) -> TimeWindow:
    from smtrail_sql.window import TimeWindow

    if delivery_lag is None:  # as the CLI does: the variable, else the default
        delivery_lag = os.environ.get("SMTRAIL_DELIVERY_LAG")
    return TimeWindow.parse(since, until, all_time=all_time, delivery_lag=delivery_lag)


def _names(values: Sequence[str] | str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    names = [part.strip() for item in items for part in item.split(",") if part.strip()]
    if not names:
        raise SettingError("names", values, "at least one name")
    return names
