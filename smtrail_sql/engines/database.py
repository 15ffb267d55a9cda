"""The DuckDB database a local query runs in: the part of it that needs DuckDB alone.

Creating a DuckDB database costs about 35 ms (its catalog of functions, the time zones), nearly all of it
outside the GIL. A warm query creates it in a thread while its rows are read from the snapshot (see ``early``
in :func:`smtrail_sql.reader.pipeline.read_log_files`), so it no longer waits for it; it needs no pyarrow, so it
cannot race the snapshot's loading of pyarrow (:mod:`smtrail_sql.process`).
:func:`smtrail_sql.engines.local.relations_database` adds the views and locks it.
"""

from __future__ import annotations

from typing import Any


def new_database() -> Any:
    """A new in-memory DuckDB database (as its first connection) that can read no file and whose session time
    zone is UTC, as on Athena."""
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    try:
        con.execute("LOAD icu")  # (statically linked: nothing is read) time zones, for the one below
        con.execute("SET GLOBAL TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise
    return con
