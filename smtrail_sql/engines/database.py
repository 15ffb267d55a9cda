"""The DuckDB database a local query runs in: the part of it that needs DuckDB alone.

Creating a DuckDB database costs about 35 ms (its catalog of functions, the time zones), nearly all of it
outside the GIL. A warm query creates it in a thread while its rows are read from the snapshot (see ``early``
in :func:`smtrail_sql.reader.pipeline.read_log_files`), so it no longer waits for it; it needs no pyarrow, so it
cannot race the snapshot's loading of pyarrow (:mod:`smtrail_sql.process`).
:func:`smtrail_sql.engines.local.relations_database` adds the views and locks it. :func:`is_interrupt` tells
DuckDB's answer to Ctrl-C.
"""

from __future__ import annotations

from typing import Any


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
