"""The local engine: DuckDB over CloudTrail log files on disk, with the view's exact columns.

The reader turns the files the window needs into Arrow tables (through the cache); DuckDB gets them as
``<database>.<view>`` and ``<database>.<calls view>`` with exactly the columns and types of
:mod:`smtrail_sql.schema`, so the Athena SQL of every template runs unchanged once sqlglot has transpiled it.

>>> import tempfile
>>> from smtrail_sql.render import render
>>> from smtrail_sql.templates import TemplateLibrary
>>> from smtrail_sql.window import TimeWindow
>>> engine = LocalEngine(tempfile.mkdtemp(), use_cache=False)
>>> result = engine.execute(render(TemplateLibrary.load().get("runs"), window=TimeWindow.all_time()))
>>> result.stats.files_read, len(result.rows)
(0, 0)
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from smtrail_sql.engines.base import EngineSettings, RunProgress
from smtrail_sql.engines.columns import columns_named
from smtrail_sql.engines.database import (
    new_database,
    query_error,
    relations_connection,
    relations_database,
    sql_type,
)
from smtrail_sql.errors import MissingSettingError, SettingError
from smtrail_sql.result import ArrowRows, QueryResult, QueryStats
from smtrail_sql.settings import (
    DUCKDB_MEMORY_VARIABLE,
    MAX_LOG_SIZE_VARIABLE,
    validate_accounts,
    validate_duckdb_memory,
    validate_max_log_size,
    validate_regions,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.reader.layout import Discovery, LogFile
    from smtrail_sql.reader.pipeline import ReadResult
    from smtrail_sql.render import Naming, RenderedQuery
    from smtrail_sql.window import TimeWindow


#: Rows per Arrow record batch of :meth:`LocalEngine.execute_batches`.
BATCH_ROWS = 65536


class LocalEngine:
    """Runs rendered queries with DuckDB over the CloudTrail files under ``logs``.

    ``logs`` is a bucket copy (``[prefix/]AWSLogs/...``) or a plain folder of ``.json.gz``/``.json`` files.
    ``accounts``/``regions`` narrow what is read (with the query's window, before any file is opened).
    ``use_cache=False`` reads every file; ``cache`` chooses another cache folder; ``strict`` makes a bad file
    an error; ``workers`` caps the reader's processes.
    A ``logs`` that is not an existing folder is a :class:`~smtrail_sql.errors.SettingError` (a usage error,
    as every bad value of an option is), raised here, before any query.
    ``max_log_size`` (bytes, or a size such as ``512MB``; default: ``SMTRAIL_MAX_LOG_SIZE``, else 1 GiB) is the
    largest a file may be once inflated: a larger one is skipped as ``too-large``, which bounds the memory a
    file can take, whatever it holds. ``duckdb_memory`` (default: ``SMTRAIL_DUCKDB_MEMORY``, else 1 GiB) is what
    DuckDB may hold for a query; past it, DuckDB spills to a folder beside the reader's (the cache's ``tmp``).
    """

    name: ClassVar[str] = "local"
    dialect: ClassVar[str] = "duckdb"
    bills_scans: ClassVar[bool] = False

    def __init__(
        self,
        logs: str | Path,
        *,
        accounts: str | Iterable[str] | None = None,
        regions: str | Iterable[str] | None = None,
        use_cache: bool = True,
        cache: ExtractCache | None = None,
        strict: bool = False,
        workers: int | None = None,
        max_log_size: int | str | None = None,
        duckdb_memory: int | str | None = None,
    ) -> None:
        self.logs = logs_folder(logs)
        self.accounts = validate_accounts(accounts) if accounts else None
        self.regions = validate_regions(regions) if regions else None
        self.strict = strict
        self.workers = workers
        self.max_log_size = validate_max_log_size(
            max_log_size if max_log_size is not None else os.environ.get(MAX_LOG_SIZE_VARIABLE))
        self.duckdb_memory = validate_duckdb_memory(
            duckdb_memory if duckdb_memory is not None else os.environ.get(DUCKDB_MEMORY_VARIABLE))
        if use_cache and cache is None:
            from smtrail_sql.reader.cache import ExtractCache

            cache = ExtractCache()
        self.cache = cache if use_cache else None
        #: One DuckDB database per naming, reused by every query (see :func:`relations_database`).
        self._databases: dict[tuple[str, str, str], Any] = {}
        #: Databases made while the rows of a naming's first query were read (see engines.database).
        self._fresh: dict[tuple[str, str, str], Any] = {}
        #: Per naming, the connection of the last query with what its registered tables were read from: a
        #: query of the same columns over the same files, unchanged (path, size, mtime, inode, ctime), takes it
        #: over instead of registering the tables again (warm metric-summary 58 -> 49 ms, best of 30).
        self._idle: dict[tuple[str, str, str], tuple[Selection, Any]] = {}
        self._idle_lock = threading.Lock()
        #: The files found already for a window, taken by the next read of it (smtrail_sql.executor's).
        self.discovered: tuple[TimeWindow, Discovery] | None = None
        #: The rows of a window read already, taken by the next read of it (a cold read the executor did).
        self.handed: HandedRead | None = None

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> LocalEngine:
        """The engine over ``settings.logs`` (required: the one error for a missing logs folder)."""
        if settings.logs is None:
            raise MissingSettingError("--logs", "with --engine local: the folder of CloudTrail log files to read "
                                      "(or set SMTRAIL_LOGS; `smtrail-sql demo` writes a sample one)")
        return cls(settings.logs, accounts=settings.accounts, regions=settings.regions,
                   use_cache=settings.use_cache, strict=settings.strict)

    def _new_database(self) -> Any:
        """A new DuckDB database within :attr:`duckdb_memory`, spilling beside the reader's scratch files."""
        from smtrail_sql.reader.workers import spill_folder

        return new_database(self.duckdb_memory, spill_folder(self.cache))

    def adopt_database(self, naming: Naming, database: Any) -> None:
        """Run ``naming``'s queries in ``database`` (made ahead by :func:`new_database` with this engine's
        memory limit and spill folder: see smtrail_sql.executor), unless the engine has one already."""
        self._fresh.setdefault(_naming_key(naming), database)

    def _database(self, naming: Naming) -> Any:
        key = _naming_key(naming)
        if key not in self._databases:
            base = self._fresh.pop(key, None)
            self._databases[key] = relations_database(naming, base=base if base is not None else self._new_database())
        return self._databases[key]

    def _take_connection(self, naming: Naming, selection: Selection, read: ReadResult) -> Any:
        """The idle connection if its tables were read from this selection, else a new one with ``read``'s."""
        with self._idle_lock:
            idle = self._idle.get(_naming_key(naming))
            # (a file whose inode is not known could have been rewritten unseen: no reuse then)
            if idle is not None and idle[0] == selection and all(f.inode for f in selection[1]):
                del self._idle[_naming_key(naming)]
                return idle[1]
        return relations_connection(read.points, read.calls, naming, database=self._database(naming))

    def _give_back(self, naming: Naming, selection: Selection, con: Any) -> None:
        """Keep ``con`` (its tables read from ``selection``) for the next query, closing the one kept."""
        with self._idle_lock:
            previous = self._idle.get(_naming_key(naming))
            self._idle[_naming_key(naming)] = (selection, con)
        if previous is not None:
            previous[1].close()

    def close(self) -> None:
        """Close the DuckDB connections this engine keeps (it opens new ones if used again)."""
        with self._idle_lock:
            idle, self._idle = list(self._idle.values()), {}
        databases = [*self._databases.values(), *self._fresh.values()]
        self._databases, self._fresh = {}, {}
        for _, con in idle:
            con.close()
        for database in databases:
            database.close()

    def read(self, window: TimeWindow, columns: Collection[str] | None = None, *,
             alongside: Callable[[], object] | None = None, early: Callable[[], object] | None = None,
             progress: RunProgress | None = None) -> tuple[ReadResult, tuple[LogFile, ...], dict[str, int]]:
        """The rows the window may need, the files they were read from and the layout's skip counts.

        ``columns``: the only columns the caller reads, if known; ``alongside`` and ``early``: work to overlap
        with the reading (see :func:`~smtrail_sql.reader.pipeline.read_log_files` for all three); ``progress`` is told
        about the files as they are read.
        """
        from smtrail_sql.reader.layout import discover_log_files, raise_if_bad
        from smtrail_sql.reader.pipeline import read_log_files

        handed, self.handed = self.handed, None
        if handed is not None and handed.window == window:  # (read already: nothing to overlap with)
            if alongside is not None:
                alongside()
            return handed.read, handed.files, {}
        given, self.discovered = self.discovered, None
        found = (given[1] if given is not None and given[0] == window
                 else discover_log_files(self.logs, window, self.accounts, self.regions))
        if self.strict:  # a folder that could not be listed, a FIFO...: before any file is read
            raise_if_bad(found.skipped_paths)
        result = read_log_files(found.files, cache=self.cache, workers=self.workers, progress=progress,
                                strict=self.strict, columns=columns, alongside=alongside, early=early,
                                max_size=self.max_log_size)
        return result, tuple(found.files), dict(found.skipped)

    def partitions(self) -> set[tuple[str | None, str | None, str | None]]:
        """The ``(delivery day, account, region)`` of every log file under ``logs``, whatever the window and
        ``accounts``/``regions`` (what :mod:`smtrail_sql.explain` says the logs hold); ``None`` where the file's
        location does not say."""
        from smtrail_sql.reader.layout import discover_log_files

        return {(f.day, f.account_id, f.region) for f in discover_log_files(self.logs).files}

    def connect(self, window: TimeWindow, naming: Naming, *,
                columns: Collection[str] | None = None) -> tuple[Any, QueryStats]:
        """A DuckDB connection with both relations registered for ``window``, and what reading cost.

        Use it to run your own SQL over the rows: ``con.execute("SELECT ... FROM smtrail.sagemaker_metrics")``.
        Like the Athena views, the relations hold every copy of an event that was read: deduplicate on
        ``(event_id, point_index)`` (or run a rendered query, which does). ``columns`` promises that only these
        columns will be read (others may then be NULL).
        """
        con, _, _, stats = self._connect(window, naming, columns, None, None, reuse=False)
        return con, stats

    def _connect(self, window: TimeWindow, naming: Naming, columns: Collection[str] | None,
                 prepare: Callable[[], object] | None, progress: RunProgress | None, *,
                 reuse: bool) -> tuple[Any, ReadResult, Selection, QueryStats]:
        """:meth:`connect`, with DuckDB's set-up and ``prepare`` done while the logs are read; ``reuse`` takes
        the idle connection if its tables come from the same selection (give it back with :meth:`_give_back`)."""
        started = time.perf_counter()

        def start_database() -> None:  # (in a thread while the rows come from a snapshot: see engines.database)
            key = _naming_key(naming)
            if key not in self._databases and key not in self._fresh:
                self._fresh[key] = self._new_database()

        def set_up() -> None:
            self._database(naming)
            if prepare is not None:
                prepare()

        result, files, layout_skips = self.read(window, columns, alongside=set_up, early=start_database,
                                                progress=progress)
        selection: Selection = (None if columns is None else frozenset(columns), files)
        if reuse:
            con = self._take_connection(naming, selection, result)
        else:
            con = relations_connection(result.points, result.calls, naming, database=self._database(naming))
        skipped = dict(result.skipped)
        for reason, count in layout_skips.items():
            skipped[reason] = skipped.get(reason, 0) + count
        stats = QueryStats(
            engine=self.name,
            elapsed_seconds=time.perf_counter() - started,
            files_read=result.files_read,
            files_cached=result.files_cached,
            files_skipped=sum(skipped.values()),
            skipped_reasons=skipped,
        )
        return con, result, selection, stats

    def execute(self, query: RenderedQuery, *, progress: RunProgress | None = None,
                max_cells: int | None = None) -> QueryResult:
        """Run ``query`` (its DuckDB transpilation) over the files its window needs; ``progress`` is told about
        the files as they are read. ``max_cells``: raise :class:`ResultTooLarge` rather than fetch a result of
        more values (rows times columns) than this (only this many are made into Python objects)."""
        started = time.perf_counter()
        con, sql, parameters, selection, stats, read = self._start(query, progress)
        try:
            cursor = con.execute(sql, parameters)
            description = cursor.description or []
            if max_cells is None:
                rows = cursor.fetchall()
            else:
                most = max_cells // max(1, len(description))
                rows = cursor.fetchmany(most + 1)
                if len(rows) > most:
                    raise ResultTooLarge(f"{query.name}: more than {most} rows",
                                         HandedRead(query.window, replace(read, skipped=Counter(
                                             stats.skipped_reasons)), selection[1]))
        except BaseException as error:
            con.close()
            if isinstance(error, ResultTooLarge):
                raise
            raise query_error(query.name, error) from None
        self._end(query, selection, con)
        return QueryResult(columns=[d[0] for d in description], column_types=[sql_type(d[1]) for d in description],
                           rows=[tuple(r) for r in rows], stats=_timed(stats, started), sql=sql)

    def execute_batches(self, query: RenderedQuery, *, progress: RunProgress | None = None,
                        batch_rows: int = BATCH_ROWS) -> ArrowRows:
        """Run ``query`` as :meth:`execute` does, its rows as Arrow record batches that DuckDB makes as they are
        read: a result of any size is never held whole (an export of a whole bucket). The connection goes back
        to the engine once the last batch is read; :attr:`ArrowRows.stats` is then the whole query's."""
        started = time.perf_counter()
        con, sql, parameters, selection, stats, _ = self._start(query, progress)
        try:
            reader = con.sql(sql, params=parameters).to_arrow_reader(batch_rows)
        except BaseException as error:
            con.close()
            raise query_error(query.name, error) from None
        rows = ArrowRows(reader.schema, iter(()), stats)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            except BaseException as error:
                con.close()
                raise query_error(query.name, error) from None
            self._end(query, selection, con)
            rows.stats = _timed(stats, started)

        rows.batches = batches()
        return rows

    def _start(self, query: RenderedQuery, progress: RunProgress | None
               ) -> tuple[Any, str, dict[str, str], Selection, QueryStats, ReadResult]:
        """The connection with the rows ``query`` reads, its statement and parameters (the form without the
        deduplication of copies when the read found every event once), what the rows were read from, the stats,
        the rows."""
        statements: list[tuple[str, dict[str, str]]] = []

        def transpile() -> None:
            # both forms: the one without deduplication serves when the read found every event once (see
            # RenderedQuery.to_sql); the transpilation (its first use loads sqlglot's duckdb dialect) is done
            # while the logs are read. The window's bounds are bound as parameters, never written in the SQL
            statements.extend((query.duckdb_statement(), query.duckdb_statement(copies=False)))

        con, read, selection, stats = self._connect(query.window, query.naming, columns_named(query), transpile,
                                                    progress, reuse=True)
        sql, parameters = statements[1] if read.single_copy else statements[0]
        return con, sql, parameters, selection, stats, read

    def _end(self, query: RenderedQuery, selection: Selection, con: Any) -> None:
        if self.cache is not None:  # (without it, the tables are new every time: nothing to keep them for)
            self._give_back(query.naming, selection, con)
        else:
            con.close()


class ResultTooLarge(Exception):
    """A result with more values than :meth:`LocalEngine.execute` was told to fetch (``max_cells``); ``read``:
    the rows it was computed from, for another engine's :attr:`~LocalEngine.handed` (never pickled)."""

    def __init__(self, message: str, read: HandedRead) -> None:
        super().__init__(message)
        self.read = read


@dataclass
class HandedRead:
    """The rows of ``window`` read from ``files``, for a :class:`LocalEngine` to query without reading them
    (:attr:`LocalEngine.handed`): ``read.skipped`` counts the files the layout skipped too."""

    window: TimeWindow
    read: ReadResult
    files: tuple[LogFile, ...]


def _timed(stats: QueryStats, started: float) -> QueryStats:
    """``stats`` with the time since ``started``."""
    return replace(stats, elapsed_seconds=time.perf_counter() - started)


#: What a connection's tables were read from: the columns asked for (None: all) and the files, as listed.
Selection = tuple[frozenset[str] | None, tuple["LogFile", ...]]


def logs_folder(logs: str | Path) -> Path:
    """``logs`` as a path, checked to be an existing folder (the local engine's ``--logs``).

    >>> logs_folder("/no/such/folder")
    Traceback (most recent call last):
    ...
    smtrail_sql.errors.SettingError: invalid logs folder '/no/such/folder': it does not exist; give a folder \
of CloudTrail files (a bucket copy, AWSLogs/..., or .json.gz files), e.g. one `smtrail-sql demo` writes
    """

    path = Path(logs)
    if not path.is_dir():
        problem = "it is not a folder" if path.exists() else "it does not exist"
        raise SettingError("logs folder", str(logs), f"{problem}; give a folder of CloudTrail files (a bucket "
                           "copy, AWSLogs/..., or .json.gz files), e.g. one `smtrail-sql demo` writes")
    return path


def _naming_key(naming: Naming) -> tuple[str, str, str]:
    return naming.database, naming.view, naming.calls_view
