"""What running a query returns, whichever engine ran it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pyarrow as pa

#: Reasons a file is skipped that are no news: every trail holds digest files beside its logs (one an hour
#: per account and region), and they are never read. Reported only when asked (``verbose``).
ROUTINE_SKIPS: Final = frozenset({"digest"})


@dataclass(frozen=True)
class QueryStats:
    """What a run cost: filled by each engine with what it knows (``None`` where it does not apply)."""

    engine: str
    elapsed_seconds: float
    query_id: str | None = None
    #: How the engine ended the query (Athena: ``SUCCEEDED``).
    state: str | None = None
    bytes_scanned: int | None = None
    cost_usd: float | None = None
    engine_seconds: float | None = None
    files_read: int | None = None
    files_cached: int | None = None
    files_skipped: int | None = None
    skipped_reasons: dict[str, int] = field(default_factory=dict)

    def describe(self, *, verbose: bool = False) -> list[str]:
        """What a user is told after a run: the scan and its cost (an engine that bills scans), the files
        skipped and why (the local engine), the routine ones (:data:`ROUTINE_SKIPS`) only if ``verbose``;
        nothing when there is nothing to say.

        >>> stats = QueryStats("local", 0.1, files_skipped=3, skipped_reasons={"digest": 2, "corrupt-gzip": 1})
        >>> stats.describe(), stats.describe(verbose=True)
        (['skipped 1 files: 1 corrupt-gzip'], ['skipped 3 files: 2 digest, 1 corrupt-gzip'])
        >>> QueryStats("athena", 1.5, query_id="q-1", bytes_scanned=0, cost_usd=4.8e-05, engine_seconds=0.5).describe()
        ['scanned 0 B, cost $0.000048 (10 MiB minimum), engine time 0.50s, wall 1.50s, query id q-1']
        """
        lines = []
        if self.bytes_scanned is not None and self.cost_usd is not None:
            from smtrail_sql.aws.pricing import format_bytes

            lines.append(f"scanned {format_bytes(self.bytes_scanned)}, cost ${self.cost_usd:.6f} (10 MiB minimum), "
                         f"engine time {self.engine_seconds or 0:.2f}s, wall {self.elapsed_seconds:.2f}s, "
                         f"query id {self.query_id}")
        told = {reason: count for reason, count in self.skipped_reasons.items()
                if verbose or reason not in ROUTINE_SKIPS}
        skipped = (self.files_skipped or 0) - sum(self.skipped_reasons.values()) + sum(told.values())
        if skipped:
            reasons = ", ".join(f"{count} {reason}" for reason, count in
                                sorted(told.items(), key=lambda item: (-item[1], item[0])))
            from smtrail_sql.wording import plural

            lines.append(f"skipped {plural(skipped, 'file')}: {reasons}")
        return lines


@dataclass(frozen=True)
class QueryResult:
    """Rows with their column names and SQL types (``VARCHAR``, ``BIGINT``, ``DOUBLE``, ``TIMESTAMP``...).

    Values are Python objects: numbers as ``int``/``float``, timestamps as naive UTC ``datetime``, NULL as
    ``None``. :meth:`to_pandas` and :meth:`to_arrow` give UTC-aware timestamps and ``day`` as a date. Jupyter
    draws the first rows as a table (:mod:`smtrail_sql.notebook`).

    >>> r = QueryResult(columns=["metric_name", "points"], column_types=["VARCHAR", "BIGINT"], rows=[("loss", 3)])
    >>> r.as_dicts()
    [{'metric_name': 'loss', 'points': 3}]
    """

    columns: list[str]
    column_types: list[str]
    rows: list[tuple[Any, ...]]
    stats: QueryStats | None = None
    sql: str | None = None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def __repr__(self) -> str:
        from smtrail_sql.notebook import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        """The first rows as an HTML table and what the run cost, as Jupyter shows a result."""
        from smtrail_sql.notebook import html_table

        return html_table(self)

    def __len__(self) -> int:
        return len(self.rows)

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as a list of ``{column: value}`` dicts."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def records(self) -> list[Any]:
        """The rows as named tuples whose fields are the columns."""
        from smtrail_sql.frames import records

        return records(self)

    def to_arrow(self) -> Any:
        """The rows as a ``pyarrow.Table`` with the SQL types mapped to Arrow types (see
        :func:`smtrail_sql.frames.to_arrow`: timestamps ``timestamp[ms, tz=UTC]``, ``day`` a date)."""
        from smtrail_sql.frames import to_arrow

        return to_arrow(self)

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (needs pandas: ``pip install 'smtrail-sql[pandas]'``)."""
        from smtrail_sql.frames import to_pandas

        return to_pandas(self)


@dataclass
class ArrowRows:
    """A query's rows as Arrow record batches, made as they are read (see
    :meth:`LocalEngine.execute_batches <smtrail_sql.engines.local.LocalEngine.execute_batches>`): their
    ``schema``, the ``batches`` (an iterator, read once) and what the query cost (whole once the last batch is
    read)."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    stats: QueryStats
