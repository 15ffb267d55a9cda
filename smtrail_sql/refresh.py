"""Run a refresh of the metric store: the statements of :mod:`smtrail_sql.store`, chunk by chunk, on an engine
that runs SQL statements (Athena; Trino in the tests).

A chunk is logged in the refresh log only after all of its rows are in; a failed chunk stops the refresh with
an error naming it, and every chunk before it stays in the store and in the log (a rerun redoes the failed
chunk alone: its statements are safe to repeat).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from smtrail_sql.aws.pricing import format_bytes
from smtrail_sql.errors import EngineError
from smtrail_sql.store import (
    RefreshChunk,
    StoreCoverage,
    chunk_statements,
    coverage_sql,
    log_sql,
    plan_chunks,
    refresh_range,
)

if TYPE_CHECKING:
    from smtrail_sql.engines.base import RunProgress
    from smtrail_sql.render import Naming
    from smtrail_sql.result import QueryResult
    from smtrail_sql.window import TimeWindow

#: Called before each statement: the chunk it folds in and its SQL.
StatementCallback = Callable[[RefreshChunk, str], None]


class StatementRunner(Protocol):
    """What runs one SQL statement and returns its rows and what it cost (:class:`AthenaEngine` is one)."""

    def run_sql(self, sql: str, *, progress: RunProgress | None = None) -> QueryResult: ...


@dataclass(frozen=True)
class ChunkDone:
    """One chunk folded in and logged: what its statements read and cost (``None``: the engine does not say)."""

    chunk: RefreshChunk
    statements: int
    bytes_scanned: int | None
    cost_usd: float | None
    seconds: float

    def describe(self) -> str:
        """One line for a person."""
        read = "" if self.bytes_scanned is None else f", read {format_bytes(self.bytes_scanned)}"
        cost = "" if self.cost_usd is None else f", cost ${self.cost_usd:.4f}"
        return (f"refreshed delivery days {self.chunk} ({self.chunk.days} days, {self.statements} statements"
                f"{read}{cost}, {self.seconds:.1f}s)")


@dataclass(frozen=True)
class RefreshResult:
    """Every chunk a refresh folded in."""

    chunks: list[ChunkDone] = field(default_factory=list)

    @property
    def bytes_scanned(self) -> int | None:
        """What all chunks read (``None`` when the engine does not say)."""
        counted = [c.bytes_scanned for c in self.chunks if c.bytes_scanned is not None]
        return sum(counted) if counted else None

    @property
    def cost_usd(self) -> float | None:
        """What all chunks cost (``None`` when the engine does not bill)."""
        counted = [c.cost_usd for c in self.chunks if c.cost_usd is not None]
        return sum(counted) if counted else None

    def describe(self) -> str:
        """The summary line."""
        if not self.chunks:
            return "nothing to refresh"
        first, last = self.chunks[0].chunk.first_day, self.chunks[-1].chunk.last_day
        days = (last - first).days + 1
        read = "" if self.bytes_scanned is None else f"; read {format_bytes(self.bytes_scanned)}"
        cost = "" if self.cost_usd is None else f", cost ${self.cost_usd:.4f}"
        return f"the metric store holds delivery days {first:%Y/%m/%d}..{last:%Y/%m/%d} ({days} days){read}{cost}"


class RefreshFailed(EngineError):
    """A chunk failed: the chunks before it are in the store (``done``); the failed one may be run again."""

    def __init__(self, message: str, done: RefreshResult) -> None:
        super().__init__(message)
        self.done = done


def run_refresh(
    runner: StatementRunner,
    naming: Naming,
    chunks: Sequence[RefreshChunk],
    *,
    tool_version: str,
    on_statement: StatementCallback | None = None,
    on_chunk: Callable[[ChunkDone], None] | None = None,
    progress: RunProgress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RefreshResult:
    """Fold each chunk in, oldest first, and log it; raise :class:`RefreshFailed` at the first failed chunk."""
    import time

    done = RefreshResult()
    for chunk in chunks:
        started, began = clock(), time.monotonic()
        scanned: list[int] = []
        costs: list[float] = []
        statements = chunk_statements(naming, chunk)
        try:
            for sql in statements:
                if on_statement is not None:
                    on_statement(chunk, sql)
                result = runner.run_sql(sql, progress=progress)
                if result.stats is not None and result.stats.bytes_scanned is not None:
                    scanned.append(result.stats.bytes_scanned)
                if result.stats is not None and result.stats.cost_usd is not None:
                    costs.append(result.stats.cost_usd)
            log = log_sql(naming, chunk, started, clock(), tool_version)
            if on_statement is not None:
                on_statement(chunk, log)
            runner.run_sql(log, progress=progress)
        except EngineError as error:
            kept = (f"the {len(done.chunks)} chunk(s) before it are in the store" if done.chunks
                    else "nothing was logged")
            message = f"refresh of delivery days {chunk} failed ({kept}; run refresh again to redo it): {error}"
            raise RefreshFailed(message, done) from None
        finished = ChunkDone(chunk, len(statements) + 1, sum(scanned) if scanned else None,
                             sum(costs) if costs else None, time.monotonic() - began)
        done.chunks.append(finished)
        if on_chunk is not None:
            on_chunk(finished)
    return done


def read_coverage(runner: StatementRunner, naming: Naming, *, progress: RunProgress | None = None) -> StoreCoverage:
    """What the store holds, from its refresh log (one small query)."""
    result = runner.run_sql(coverage_sql(naming), progress=progress)
    return StoreCoverage.from_log(result.rows)


def plan_refresh(
    runner: StatementRunner,
    naming: Naming,
    *,
    window: TimeWindow | None,
    delivery_lag: timedelta,
    chunk_days: int,
    today: date | None = None,
) -> list[RefreshChunk]:
    """The chunks a refresh folds in: the window's delivery days (a backfill: the store's log is not read),
    else from where the store stops being whole, less the delivery lag, to today (see
    :func:`~smtrail_sql.store.refresh_range`)."""
    today = today or datetime.now(UTC).date()
    coverage = StoreCoverage(()) if window is not None else read_coverage(runner, naming)
    first, last = refresh_range(coverage, window, delivery_lag, today)
    return plan_chunks(first, last, chunk_days)
