"""The metric store on the test suite's Trino: refresh runs there exactly as on Athena.

:class:`TrinoStatements` is a :class:`~smtrail_sql.refresh.StatementRunner` over a loaded
:class:`~tests.trino_shape.TrinoShape`: the statements ``refresh`` sends to Athena run verbatim, with the
shape's database as the session schema (the store's Iceberg tables share the ``hive`` metastore, so their
``database.table`` names resolve as they do in Athena's one data catalog). Its results carry what Trino says
the statement read (``physicalInputBytes``), which the benchmark compares.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from smtrail_sql.refresh import RefreshResult, run_refresh
from smtrail_sql.render import Naming
from smtrail_sql.result import QueryResult, QueryStats
from smtrail_sql.store import DEFAULT_CHUNK_DAYS, plan_chunks
from tests.trino_shape import TrinoShape


class TrinoStatements:
    """Runs one statement at a time on the shape's Trino, as the Athena engine runs them on Athena."""

    name = "trino"

    def __init__(self, shape: TrinoShape) -> None:
        self.shape = shape

    def run_sql(self, sql: str, *, progress: Any = None) -> QueryResult:
        started = time.monotonic()
        con = self.shape.server.connect(self.shape.catalog, self.shape.schema)
        try:
            cursor = con.cursor()
            cursor.execute(sql)
            rows = [tuple(row) for row in cursor.fetchall()]
            columns = [d[0] for d in cursor.description or []]
            stats = cursor.stats or {}
        finally:
            con.close()
        return QueryResult(columns=columns, column_types=["" for _ in columns], rows=rows, sql=sql,
                           stats=QueryStats("trino", time.monotonic() - started, query_id=stats.get("queryId"),
                                            bytes_scanned=int(stats.get("physicalInputBytes") or 0)))


def delivery_days(shape: TrinoShape) -> tuple[date, date]:
    """The first and last delivery day the shape's table holds."""
    days = sorted(datetime.strptime(day, "%Y/%m/%d").date() for _, _, day in shape.partitions)
    return days[0], days[-1]


def refresh_store(shape: TrinoShape, first: date | None = None, last: date | None = None, *,
                  chunk_days: int = DEFAULT_CHUNK_DAYS, clock: Any = None) -> RefreshResult:
    """Fold the shape's delivery days (all of them by default) into its metric store."""
    held_first, held_last = delivery_days(shape)
    chunks = plan_chunks(first or held_first, last or held_last, chunk_days)
    extra = {"clock": clock} if clock is not None else {}
    return run_refresh(TrinoStatements(shape), Naming(database=shape.schema), chunks, tool_version="tests",
                       **extra)
