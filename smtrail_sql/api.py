"""The Python API a notebook reaches for: open a toolkit on local logs or on Athena, then list, describe,
render, run and plot the canned queries (and your own).

>>> tk = Toolkit.local("smtrail-demo")                                          # doctest: +SKIP
>>> [q.name for q in tk.queries()][:3]                                          # doctest: +SKIP
['callers', 'compare-runs', 'duplicate-points']
>>> rows = tk.run("metric-summary", since="30d").as_dicts()                     # doctest: +SKIP
>>> from smtrail_sql import to_pandas
>>> df = to_pandas(tk.run("metric-history", trial_components="job-1", metrics="loss"))  # doctest: +SKIP

Every error is a :class:`smtrail_sql.errors.SmtrailError` (``ParameterError``, ``UnknownQueryError``,
``SettingError``, ``EngineError``...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from smtrail_sql.errors import EngineError, SettingError
from smtrail_sql.toolkit_extras import ToolkitExtras
from smtrail_sql.window import api_window

if TYPE_CHECKING:

    from smtrail_sql.aws.estimate import ScanEstimate
    from smtrail_sql.engines.base import Engine, EngineSettings, RunProgress
    from smtrail_sql.query_info import QueryInfo
    from smtrail_sql.render import Naming, RenderedQuery
    from smtrail_sql.result import QueryResult
    from smtrail_sql.source import SourceChoice
    from smtrail_sql.templates import Template, TemplateLibrary
    from smtrail_sql.window import TimeSpec, TimeWindow

class Toolkit(ToolkitExtras):
    """Queries bound to an engine: local DuckDB over CloudTrail files, or Athena.

    Build one with :meth:`local`, :meth:`athena` or :meth:`open` (from :class:`~smtrail_sql.engines.EngineSettings`,
    as the CLI does), or pass any object that follows the :class:`~smtrail_sql.engines.Engine` protocol;
    ``Toolkit()`` alone lists, describes and renders. Every query is built by :meth:`query` and run by
    :meth:`execute`, which applies the settings' scan limit (``max_scan``) on an engine that bills scans.
    Time windows default to the last 7 days, like the CLI; pass ``since``/``until`` (a ``datetime``, naive
    meaning UTC, a ``date``, a ``timedelta`` age, ``pandas.Timestamp``, or text: ISO dates or ages such as
    ``"30d"``) or ``all_time=True``, and ``delivery_lag`` (``"4d"`` or a ``timedelta``;
    default ``SMTRAIL_DELIVERY_LAG``, else one day) for files delivered late.

    >>> tk = Toolkit.local("smtrail-demo")                                      # doctest: +SKIP
    >>> tk.run("runs", all_time=True).as_dicts()[0]["trial_component"]          # doctest: +SKIP
    'resnet50-lr-0-1-aws-training-job'
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        settings: EngineSettings | None = None,
        queries_dirs: Sequence[Path | str] | None = None,
        database: str | None = None,
        view: str | None = None,
    ) -> None:
        self._engine = engine
        self.settings = settings
        self._queries_dirs = [Path(d) for d in queries_dirs or ()]
        self._database = database or (settings.database if settings else None)
        self._view = view
        self._templates: TemplateLibrary | None = None
        #: Queries rendered by :meth:`prepare` to keep once they ran: id -> (cache folder, key, query).
        self._to_keep: dict[int, tuple[Path, str, RenderedQuery]] = {}

    @classmethod
    def open(
        cls, settings: EngineSettings, *, queries_dirs: Sequence[Path | str] | None = None, view: str | None = None
    ) -> Toolkit:
        """A toolkit whose engine the settings describe, opened on the first query (so that rendering needs
        none, and a missing ``logs`` folder is told only when a query runs), as every command opens it."""
        return cls(settings=settings, queries_dirs=queries_dirs, view=view)

    @property
    def engine(self) -> Engine:
        """The engine queries run on (opened from the settings on first use)."""
        if self._engine is None:
            if self.settings is None:
                raise EngineError("this toolkit has no engine: open it with Toolkit.local(logs_dir) or "
                                  "Toolkit.athena(database=..., workgroup=...)")
            from smtrail_sql.engines import open_engine

            self._engine = open_engine(self.settings)
        return self._engine

    def close(self) -> None:
        """Close the engine's connections, if it was opened."""
        if self._engine is not None:
            self._engine.close()

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

        Settings not given come from ``SMTRAIL_*`` variables (see the README). ``engine_options`` are the other
        fields of :class:`~smtrail_sql.engines.EngineSettings` (``region``, ``profile``, ``output_location``,
        ``catalog``, and ``max_scan`` with ``bucket``, ``accounts`` and ``regions`` for the scan limit).

        >>> tk = Toolkit.athena(database="smtrail", workgroup="primary", region="us-east-1")  # doctest: +SKIP
        """
        from smtrail_sql.engines import EngineSettings
        from smtrail_sql.engines.athena import AthenaEngine

        settings = EngineSettings(engine="athena", database=database, workgroup=workgroup, **engine_options)
        engine = AthenaEngine.from_settings(settings)
        # the views live in the engine's database, which may have come from SMTRAIL_DATABASE
        return cls(engine, settings=settings, queries_dirs=queries_dirs, database=engine.settings.database,
                   view=view)

    # -- the templates -------------------------------------------------------------------------------------

    @property
    def templates(self) -> TemplateLibrary:
        """The templates: built-in ones, then those of ``queries_dirs`` (loaded once)."""
        if self._templates is None:
            from smtrail_sql.templates import TemplateLibrary

            self._templates = TemplateLibrary.load(self._queries_dirs)
        return self._templates

    def queries(self) -> list[QueryInfo]:
        """Every query, sorted by name.

        >>> [q.name for q in Toolkit().queries()][:2]
        ['callers', 'compare-runs']
        """
        from smtrail_sql.query_info import query_info

        return [query_info(t) for t in self.templates.templates.values()]

    def describe(self, name: str) -> QueryInfo:
        """What one query answers and its parameters; :class:`UnknownQueryError` suggests the closest name.

        >>> [p.name for p in Toolkit().describe("metric-history").params]
        ['trial_components', 'metrics', 'limit']
        """
        from smtrail_sql.query_info import query_info

        return query_info(self.templates.get(name))

    # -- rendering and running -----------------------------------------------------------------------------

    def query(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        source: str | None = None,
    ) -> RenderedQuery:
        """The one place a query is built: the template, its parameters (Python values or the CLI's strings),
        the time window and the names of the relations, rendered through sqlglot.

        ``source``: ``"trail"`` (the default: the views over the trail), ``"store"`` (the metric store's
        tables, see :mod:`smtrail_sql.store`) or ``"auto"`` (:meth:`choose_source` decides, on the engine).

        >>> Toolkit().query("runs", {}, since="2024-05-01", until="2024-05-02").name
        'runs'
        """
        window = api_window(since, until, all_time=all_time, delivery_lag=delivery_lag)
        return self._build(self.templates.get(name), params or {}, window, source)

    def _build(self, template: Template, params: Mapping[str, Any], window: TimeWindow,
               source: str | None) -> RenderedQuery:
        from smtrail_sql.render import render
        from smtrail_sql.source import STORE, TRAIL, validate_source

        chosen = validate_source(source or TRAIL)
        if chosen not in (STORE, TRAIL):
            chosen = self.choose_source(chosen, window).source
        naming = self._naming().reading_store() if chosen == STORE else self._naming()
        return render(template, params, window=window, naming=naming)

    def prepare(
        self,
        name: str,
        params: Mapping[str, Any],
        trial_components: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
        *,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
    ) -> RenderedQuery:
        """:meth:`query` with ``-t``/``-m`` given as the query's parameters (as the CLI's ``run`` takes them),
        served without rendering when the local engine's cache kept the same query rendered (see
        :mod:`smtrail_sql.prerendered`); a query rendered here is kept once it ran."""
        window, local, kept_at = self._rendered_key(name, params, trial_components, metrics,
                                                    (since, until, all_time, delivery_lag))

        def full() -> RenderedQuery:
            from smtrail_sql.params import with_name_options

            values = with_name_options(self.describe(name), dict(params), trial_components, metrics)
            if window is None:  # (its error, if any, comes after those of the parameters, as in query())
                return self.query(name, values, since=since, until=until, all_time=all_time,
                                  delivery_lag=delivery_lag)
            return self._build(self.templates.get(name), values, window, None)

        if not local or window is None:
            return full()
        from smtrail_sql import prerendered

        query, keep = prerendered.prepared(name, params, trial_components, metrics, window, self._naming(),
                                           self._queries_dirs, kept_at, full)
        where = kept_at() if keep else None
        if where is not None:
            self._to_keep[id(query)] = (*where, query)
        return cast("RenderedQuery", query)  # (it answers what the engines ask; the rest from its full())

    def _rendered_key(self, name: str, params: Mapping[str, Any], trial_components: Sequence[str] | None,
                      metrics: Sequence[str] | None, when: tuple[Any, ...]
                      ) -> tuple[TimeWindow | None, bool, Callable[[], tuple[Path, str] | None]]:
        """The window, whether the engine is the local one, and (when called: it costs a digest of the templates
        and the code) the cache folder and the key of a rendering :meth:`prepare` may keep (None: not kept)."""
        from smtrail_sql.errors import SmtrailError

        try:
            window = api_window(when[0], when[1], all_time=when[2], delivery_lag=when[3])
            local, root = False, None
            if self._engine is not None:
                local = self._engine.name == "local"
                root = getattr(getattr(self._engine, "cache", None), "root", None) if local else None
            elif self.settings is not None:
                from smtrail_sql.engines import choose_engine
                from smtrail_sql.reader.cache import default_cache_dir

                local = choose_engine(self.settings) == "local"
                root = default_cache_dir() if local and self.settings.use_cache else None
            naming = self._naming()
        except SmtrailError:
            return None, False, lambda: None

        @cache
        def kept_at() -> tuple[Path, str] | None:
            from smtrail_sql.prerendered import request_key
            from smtrail_sql.resources import queries_dir

            # the window's shape, not its values: the kept SQL leaves them as parameters (a relative window hits)
            parts = (name, tuple(params.items()), tuple(trial_components or ()), tuple(metrics or ()),
                     tuple(sorted(window.bindings())), naming, "duckdb")
            key = request_key(parts, [queries_dir(), *self._queries_dirs]) if root is not None else None
            return (root, key) if root is not None and key is not None else None

        return window, local, kept_at

    def choose_source(self, source: str | None, window: TimeWindow) -> SourceChoice:
        """Which source a query over ``window`` reads on this toolkit's engine, and a line saying why
        (:func:`smtrail_sql.source.choose_source`): ``auto`` reads the store when it holds the window."""
        from smtrail_sql.engines import choose_engine
        from smtrail_sql.source import choose_source

        if self._engine is not None:
            name = self._engine.name
        else:
            name = choose_engine(self.settings) if self.settings is not None else "local"
        return choose_source(source, name, lambda: self.engine, self._naming(), window)

    def execute(self, query: RenderedQuery, *, progress: RunProgress | None = None) -> QueryResult:
        """Run a built query on the engine, after the scan limit (``max_scan``) where the engine bills scans.

        ``progress`` hears what the engine reports while it runs; ``result.stats`` says what the run cost.
        """
        engine = self.engine
        if self.settings is not None and engine.bills_scans:
            from smtrail_sql.scan import refuse_over_max_scan

            refuse_over_max_scan(query, self.settings)
        from smtrail_sql import executor

        served = executor.serve(engine, query, progress)  # (a local query of the console script: see executor)
        result = served if served is not None else engine.execute(query, progress=progress)
        kept = self._to_keep.pop(id(query), None)
        if kept is not None and kept[2] is query:
            from smtrail_sql.engines.columns import columns_named
            from smtrail_sql.prerendered import store

            store(kept[0], kept[1], query, columns_named(getattr(query, "full", query)))
        return result

    def estimate(self, query: RenderedQuery) -> ScanEstimate:
        """The log files ``query`` would read on Athena, and the cost, listed in S3 before paying (the settings
        give the bucket, accounts and regions)."""
        from smtrail_sql.engines import EngineSettings
        from smtrail_sql.scan import estimate_scan

        return estimate_scan(query, self.settings or EngineSettings())

    def console_sql(self, query: RenderedQuery, dialect: str = "athena") -> str:
        """The query's SQL for a console: a comment header (name, description, values, window), then the
        pretty SQL and ``;``. It parses as one statement: paste it into the Athena console."""
        from smtrail_sql.annotate import commented_sql
        from smtrail_sql.render import DIALECTS

        if dialect not in DIALECTS:  # (a usage error here: the value is the user's)
            raise SettingError("dialect", dialect, f"one of {', '.join(DIALECTS)}")
        return commented_sql(query, dialect)

    def rendered(
        self,
        name: str,
        *,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        **params: Any,
    ) -> RenderedQuery:
        """The rendered query object (its SQL for either dialect, window, bound parameters)."""
        return self.query(name, params, since=since, until=until, all_time=all_time, delivery_lag=delivery_lag)

    def render(
        self,
        name: str,
        *,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
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
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        source: str = "auto",
        **params: Any,
    ) -> QueryResult:
        """Run a query on the toolkit's engine and return its typed rows.

        Parameters are Python values (``trial_components=["a", "b"]``) or the CLI's strings (``"a,b"``).
        ``result.as_dicts()`` gives dicts, :func:`smtrail_sql.records` named tuples,
        :func:`smtrail_sql.to_pandas` / :func:`smtrail_sql.to_arrow` frames. On Athena, ``source="auto"``
        reads the metric store when it holds the window, else the trail (``"store"``, ``"trail"`` to choose).
        """
        return self.execute(self.query(name, params, since=since, until=until, all_time=all_time,
                                       delivery_lag=delivery_lag, source=source))

    def _naming(self) -> Naming:
        from smtrail_sql.naming import Naming

        options: dict[str, Any] = {k: v for k, v in {"database": self._database, "view": self._view}.items() if v}
        if self._view:
            from smtrail_sql.schema import calls_view_for

            options["calls_view"] = calls_view_for(self._view)
        return Naming(**options)
