"""The DuckDB database a local query runs in: the part of it that needs DuckDB alone.

Creating a DuckDB database costs about 35 ms (its catalog of functions, the time zones), nearly all of it
outside the GIL. A warm query creates it in a thread while its rows are read from the snapshot (see ``early``
in :func:`smtrail_sql.reader.pipeline.read_log_files`), so it no longer waits for it; it needs no pyarrow, so it
cannot race the snapshot's loading of pyarrow (:mod:`smtrail_sql.process`).
:func:`relations_database` adds the views and locks it; :func:`relations_connection` hands a query's rows to it.
:func:`is_interrupt` tells DuckDB's answer to Ctrl-C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import EngineError
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.naming import Naming


def new_database(memory_limit: int | None = None, spill_to: str | None = None) -> Any:
    """A new in-memory DuckDB database (as its first connection) that can read no file and whose session time
    zone is UTC, as on Athena.

    ``memory_limit`` (bytes) caps what DuckDB holds for a query (its default is 80% of the machine's memory);
    past it, sorts, joins and aggregations spill to ``spill_to``, a folder DuckDB makes only when it spills
    (see :func:`~smtrail_sql.engines.local.LocalEngine`): what a query over a large bucket holds stays bounded.
    """
    import duckdb

    config: dict[str, Any] = {"enable_external_access": False}
    if memory_limit is not None:
        config["memory_limit"] = f"{memory_limit}B"
    if spill_to is not None:
        config["temp_directory"] = spill_to
    con = duckdb.connect(config=config)
    try:
        con.execute("LOAD icu")  # (statically linked: nothing is read) time zones, for the one below
        con.execute("SET GLOBAL TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise
    return con


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is DuckDB's answer to Ctrl-C during a query, which is a ``KeyboardInterrupt`` to the
    caller: DuckDB 2.0 raises a plain ``RuntimeError('Query interrupted')`` from ``execute``, though it also
    has an ``InterruptException``.

    >>> is_interrupt(RuntimeError("Query interrupted")), is_interrupt(RuntimeError("other"))
    (True, False)
    """
    import duckdb

    interrupt = getattr(duckdb, "InterruptException", None)
    if isinstance(interrupt, type) and isinstance(error, interrupt):
        return True
    return type(error) is RuntimeError and str(error).strip() == "Query interrupted"


def query_error(name: str, error: BaseException) -> BaseException:
    """What a failed query (named ``name``) raises: Ctrl-C as :class:`KeyboardInterrupt`, DuckDB's errors as
    one :class:`~smtrail_sql.errors.QueryFailedError`, anything else as it is."""
    import duckdb

    from smtrail_sql.errors import QueryFailedError

    if is_interrupt(error):
        return KeyboardInterrupt()
    if isinstance(error, duckdb.Error):  # (its errors share no useful base class across versions)
        return QueryFailedError(f"{name}: DuckDB could not run the query: {error}")
    return error


def sql_type(duckdb_type: Any) -> str:
    """DuckDB's name of a result column's type (``BIGINT``, ``DOUBLE``, ``TIMESTAMP``, ``DECIMAL(18,3)``...)."""
    return str(duckdb_type).upper()


def relations_connection(points: pa.Table, calls: pa.Table, naming: Naming, *, database: Any = None) -> Any:
    """A new DuckDB connection where ``naming``'s two views read ``points`` and ``calls``, typed as the view.

    ``database``, from :func:`relations_database` with the same ``naming``, is reused: the connection is then
    a cursor on it, which costs next to nothing where a new DuckDB database costs 10 ms.
    """
    import duckdb

    base = database if database is not None else relations_database(naming)
    con = base.cursor() if database is not None else base
    try:
        # registered tables belong to this connection: the shared views read this connection's rows
        con.register("_smtrail_points", points)
        con.register("_smtrail_calls", calls)
    except duckdb.Error as error:
        con.close()
        raise EngineError(f"cannot set up the local relations: {error}") from None
    return con


def relations_database(naming: Naming, *, base: Any = None) -> Any:
    """A DuckDB database (as its first connection) holding ``naming``'s schema and two views: ``base``, made
    by :func:`~smtrail_sql.engines.database.new_database`, else a new one.

    The views read ``_smtrail_points`` and ``_smtrail_calls``, which each connection registers for itself
    (a view is bound anew in the connection that queries it), so connections on one database never see each
    other's rows. The casts are no-ops on the reader's tables (dictionary strings are VARCHAR to DuckDB);
    they pin the types so that an empty or all-NULL column is still typed as the view's.

    A query runs in a locked sandbox: no file can be read or written, no extension loaded, no setting changed
    (``enable_external_access`` off, then ``lock_configuration``), whatever a template says; the session's time
    zone is UTC, as on Athena, for every connection on the database.
    """
    import duckdb

    from smtrail_sql.reader.tables import empty_tables
    from smtrail_sql.settings import validate_identifier

    database = validate_identifier("database", naming.database)
    try:
        con = base if base is not None else new_database()
    except duckdb.Error as error:
        raise EngineError(f"cannot set up the local relations: {error}") from None
    try:
        points, calls = empty_tables()  # (for the views to be created against)
        con.register("_smtrail_points", points)
        con.register("_smtrail_calls", calls)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
        for name, source, columns in (
            (naming.view, "_smtrail_points", METRIC_POINT_COLUMNS),
            (naming.calls_view, "_smtrail_calls", METRIC_CALL_COLUMNS),
        ):
            select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns.items())
            con.execute(f'CREATE VIEW "{database}"."{validate_identifier("view", name)}" AS '
                        f"SELECT {select} FROM {source}")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as error:
        con.close()
        raise EngineError(f"cannot set up the local relations: {error}") from None
    return con
