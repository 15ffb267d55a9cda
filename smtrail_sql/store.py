"""The metric store: what ``refresh`` sends to fold the trail's metric rows into Iceberg tables, and what the
store holds.

The store (DDL version 3) has one Iceberg table per view with the view's columns, and a refresh log. A refresh
reads the views over a range of delivery days, chunk by chunk, and per table sends:

1. ``DELETE`` the rows without an ``event_id`` of the chunk's delivery days (they cannot be told apart from
   their copies, so they are folded in again whole: the trail keeps every one of them, so does the store);
2. ``MERGE INTO store USING (the view's rows of the chunk) ON event_id, point_index, and the copy's delivery
   day, account, region and fields WHEN NOT MATCHED THEN INSERT``: a copy already stored is not added again
   (a rerun adds nothing), a late file's rows and a redelivered event's new copy are added once;

then one row in the refresh log saying which delivery days were read and when the reading began. Queries read
the store through the same rendering as the views (window, then one copy per ``(event_id, point_index)``), so
both give the same rows whenever the store holds every file of the delivery days the window reads:
:class:`StoreCoverage` says when that is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlglot import exp

from smtrail_sql.errors import SettingError
from smtrail_sql.params import timestamp_literal
from smtrail_sql.query_tree import athena_identifier
from smtrail_sql.render import Naming
from smtrail_sql.schema import (
    CALLS_STORE_RELATION,
    METRIC_CALL_COLUMNS,
    METRIC_CALLS_RELATION,
    METRIC_POINT_COLUMNS,
    METRIC_POINTS_RELATION,
    POINTS_STORE_RELATION,
    REFRESH_LOG_COLUMNS,
    REFRESH_LOG_RELATION,
)
from smtrail_sql.settings import DEFAULT_CHUNK_DAYS, MAX_CHUNK_DAYS
from smtrail_sql.window import TimeWindow, aware_utc, format_day

#: The DDL version that creates the store.
STORE_VERSION = 3
#: A window that runs up to now is read from the store when it holds every file delivered until this long ago.
FRESH_ENOUGH = timedelta(hours=1)

#: What identifies a copy of a row within the store: the view's key first (the join), then the rest.
_KEYS = {METRIC_POINTS_RELATION: ("event_id", "point_index"), METRIC_CALLS_RELATION: ("event_id",)}
_COLUMNS = {METRIC_POINTS_RELATION: METRIC_POINT_COLUMNS, METRIC_CALLS_RELATION: METRIC_CALL_COLUMNS}
_STORE_OF = {METRIC_POINTS_RELATION: POINTS_STORE_RELATION, METRIC_CALLS_RELATION: CALLS_STORE_RELATION}
_STORED, _NEW = "stored", "incoming"


@dataclass(frozen=True)
class RefreshChunk:
    """A run of delivery days folded in by one set of statements (both days included)."""

    first_day: date
    last_day: date

    def __str__(self) -> str:
        return f"{format_day(self.first_day)}..{format_day(self.last_day)}"

    @property
    def days(self) -> int:
        """How many delivery days the chunk reads."""
        return (self.last_day - self.first_day).days + 1


def plan_chunks(first_day: date, last_day: date, chunk_days: int = DEFAULT_CHUNK_DAYS) -> list[RefreshChunk]:
    """The delivery days ``first_day..last_day`` in chunks of at most ``chunk_days``, oldest first.

    >>> [str(c) for c in plan_chunks(date(2024, 5, 1), date(2024, 5, 5), 2)]
    ['2024/05/01..2024/05/02', '2024/05/03..2024/05/04', '2024/05/05..2024/05/05']
    """
    if not 1 <= chunk_days <= MAX_CHUNK_DAYS:
        raise SettingError("--chunk-days", str(chunk_days), f"1 to {MAX_CHUNK_DAYS} delivery days per chunk")
    if first_day > last_day:
        raise SettingError("refresh range", f"{first_day}..{last_day}", "the first day must not be after the last")
    chunks: list[RefreshChunk] = []
    start = first_day
    while start <= last_day:
        end = min(start + timedelta(days=chunk_days - 1), last_day)
        chunks.append(RefreshChunk(start, end))
        start = end + timedelta(days=1)
    return chunks


def naming_for(database: str, view: str, table: str) -> Naming:
    """The names of a deployment (views, trail table, and the store's tables after them), validated."""
    from smtrail_sql.schema import calls_view_for

    return Naming(database=database, view=view, calls_view=calls_view_for(view), table=table)


def _table(naming: Naming, relation: str) -> exp.Table:
    return exp.Table(this=athena_identifier(naming.name_of(relation)), db=athena_identifier(naming.database))


def _days(column: exp.Expr, chunk: RefreshChunk) -> exp.Expr:
    return exp.Between(this=column, low=exp.Literal.string(format_day(chunk.first_day)),
                       high=exp.Literal.string(format_day(chunk.last_day)))


def delete_unkeyed_sql(naming: Naming, relation: str, chunk: RefreshChunk) -> str:
    """``DELETE`` the store's rows without an ``event_id`` from the chunk's delivery days (step 1 of a table)."""
    target = _table(naming, _STORE_OF[relation])
    condition = exp.and_(exp.column("event_id").is_(exp.null()), _days(exp.column("day"), chunk))
    return exp.Delete(this=target, where=exp.Where(this=condition)).sql(dialect="athena", pretty=True)


def merge_sql(naming: Naming, relation: str, chunk: RefreshChunk) -> str:
    """``MERGE`` the view's rows of the chunk's delivery days into the store (step 2 of a table).

    The source holds each distinct copy once (rows without an ``event_id``: every one, as the view does); the
    ``ON`` condition restricts the stored side to the chunk's delivery days, so only they are read.
    """
    columns = list(_COLUMNS[relation])
    keys = _KEYS[relation]
    numbered = exp.Window(this=exp.RowNumber(), partition_by=[exp.column(c) for c in columns])
    copies = (
        exp.select(*columns, exp.alias_(numbered, "copy_number"))
        .from_(_table(naming, relation))
        .where(_days(exp.column("day"), chunk))
    )
    source = (
        exp.select(*columns)
        .from_(copies.subquery("copies"))
        .where(exp.or_(exp.column("copy_number").eq(1), exp.column("event_id").is_(exp.null())))
    )
    conditions: list[exp.Expr] = [_days(exp.column("day", table=_STORED), chunk)]
    conditions += [exp.column(c, table=_STORED).eq(exp.column(c, table=_NEW)) for c in keys]
    conditions += [
        exp.NullSafeEQ(this=exp.column(c, table=_STORED), expression=exp.column(c, table=_NEW))
        for c in columns if c not in keys
    ]
    insert = exp.Insert(
        this=exp.Tuple(expressions=[exp.column(c) for c in columns]),
        expression=exp.Tuple(expressions=[exp.column(c, table=_NEW) for c in columns]),
    )
    target = _table(naming, _STORE_OF[relation])
    target.set("alias", exp.TableAlias(this=exp.to_identifier(_STORED)))
    merge = exp.Merge(
        this=target,
        using=source.subquery(_NEW),
        on=exp.and_(*conditions),
        whens=exp.Whens(expressions=[exp.When(matched=False, then=insert)]),
    )
    return merge.sql(dialect="athena", pretty=True)


def log_sql(naming: Naming, chunk: RefreshChunk, started_at: datetime, finished_at: datetime,
            tool_version: str) -> str:
    """The refresh log's row for a chunk whose rows are all in (the last statement of a chunk)."""
    values = exp.Tuple(expressions=[
        exp.cast(exp.Literal.string(chunk.first_day.isoformat()), exp.DataType.build("DATE")),
        exp.cast(exp.Literal.string(chunk.last_day.isoformat()), exp.DataType.build("DATE")),
        timestamp_literal(started_at),
        timestamp_literal(finished_at),
        exp.Literal.string(tool_version),
    ])
    insert = exp.Insert(
        this=exp.Schema(this=_table(naming, REFRESH_LOG_RELATION),
                        expressions=[exp.to_identifier(c) for c in REFRESH_LOG_COLUMNS]),
        expression=exp.Values(expressions=[values]),
    )
    return insert.sql(dialect="athena", pretty=True)


def chunk_statements(naming: Naming, chunk: RefreshChunk) -> list[str]:
    """Every statement that folds one chunk's rows in, in order (the log row comes after, see :func:`log_sql`)."""
    statements: list[str] = []
    for relation in (METRIC_POINTS_RELATION, METRIC_CALLS_RELATION):
        statements += [delete_unkeyed_sql(naming, relation, chunk), merge_sql(naming, relation, chunk)]
    return statements


def compact_sql(naming: Naming) -> list[str]:
    """Athena's upkeep of the store: ``OPTIMIZE ... REWRITE DATA USING BIN_PACK`` (merges the small files each
    refresh adds; only files below the target size are rewritten) and ``VACUUM`` (expires old snapshots and
    removes the files nothing references; the table's ``vacuum_*`` properties say how old).

    Athena's own statements, which sqlglot keeps as commands: the names are the validated, quoted identifiers.
    (Trino spells them ``ALTER TABLE ... EXECUTE optimize`` and ``expire_snapshots``.)
    """
    statements: list[str] = []
    for relation in (POINTS_STORE_RELATION, CALLS_STORE_RELATION):
        table = _table(naming, relation).sql(dialect="athena")
        statements += [f"OPTIMIZE {table} REWRITE DATA USING BIN_PACK", f"VACUUM {table}"]
    return statements


def coverage_sql(naming: Naming) -> str:
    """The query that reads the refresh log (a few rows per refresh: cheap)."""
    query = exp.select("first_day", "last_day", "started_at").from_(_table(naming, REFRESH_LOG_RELATION))
    return query.sql(dialect="athena")


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class CoveredSpan:
    """Delivery days the store holds without a gap: every file delivered from ``start`` until ``until``."""

    start: datetime
    until: datetime

    def __str__(self) -> str:
        return f"delivered {self.start:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class StoreCoverage:
    """What the refresh log says the store holds, as spans of delivery time.

    A delivery day is held up to the ``started_at`` of the latest chunk that read it (files delivered later
    may be missing); a day read after it ended is held whole. Days held whole in a row make a span, which
    ends where a day is held only in part, or is missing.

    >>> log = [(date(2024, 5, 1), date(2024, 5, 2), datetime(2024, 5, 2, 10, 0))]
    >>> str(StoreCoverage.from_log(log).spans[0])
    'delivered 2024-05-01 00:00 to 2024-05-02 10:00 UTC'
    """

    spans: tuple[CoveredSpan, ...]
    last_refresh: datetime | None = None

    @classmethod
    def from_log(cls, rows: Iterable[Sequence[object]]) -> StoreCoverage:
        """Read ``(first_day, last_day, started_at)`` rows of the refresh log."""
        held: dict[date, datetime] = {}
        last: datetime | None = None
        for first_day, last_day, started in rows:
            if not isinstance(first_day, date) or not isinstance(last_day, date) or not isinstance(started, datetime):
                continue  # a row written by hand without its fields holds nothing
            started = aware_utc(started)
            last = started if last is None else max(last, started)
            day = first_day
            while day <= last_day:
                held[day] = max(held.get(day, started), started)
                day += timedelta(days=1)
        spans: list[CoveredSpan] = []
        for day in sorted(held):
            until = min(held[day], _start_of(day + timedelta(days=1)))
            if spans and spans[-1].until == _start_of(day):  # the day before is held whole: the span goes on
                spans[-1] = CoveredSpan(spans[-1].start, until)
            else:
                spans.append(CoveredSpan(_start_of(day), until))
        return cls(tuple(spans), last)

    @property
    def is_empty(self) -> bool:
        """True when no refresh has been logged."""
        return not self.spans

    def serves(self, window: TimeWindow, now: datetime | None = None) -> str | None:
        """``None`` when the store holds every file the window's query reads from the trail, else why not.

        The window's delivery days must lie in one span that reaches the window's end plus the delivery lag
        (or, for a window that runs up to now, to within :data:`FRESH_ENOUGH` of now).
        """
        now = now or datetime.now(UTC)
        if self.is_empty:
            return "the metric store holds nothing yet (run smtrail-sql refresh)"
        if window.start is None or window.end is None:
            return ("an all-time window: the store cannot show it holds every delivery day "
                    "(--source store reads it anyway)")
        needed_from = _start_of(window.start.date())
        needed_until = min(window.end + window.delivery_lag, now - FRESH_ENOUGH)
        for span in self.spans:
            if span.start <= needed_from < span.until:
                if span.until >= needed_until:
                    return None
                return (f"the metric store holds files delivered until {span.until:%Y-%m-%d %H:%M} UTC, the window "
                        f"needs them until {needed_until:%Y-%m-%d %H:%M} UTC (run smtrail-sql refresh)")
        first = self.spans[0].start
        return (f"the metric store does not hold the delivery day {needed_from:%Y-%m-%d} the window starts on "
                f"(it holds {'; '.join(str(s) for s in self.spans)}; refresh --since {first:%Y-%m-%d} earlier)")

    def describe(self, now: datetime | None = None) -> list[str]:
        """Lines for ``status``."""
        if self.is_empty:
            return ["metric store: deployed, nothing refreshed yet (run smtrail-sql refresh)"]
        now = now or datetime.now(UTC)
        lines = [f"metric store: holds files {span}" for span in self.spans]
        if self.last_refresh is not None:
            age = now - self.last_refresh
            lines.append(f"metric store: last refresh began {self.last_refresh:%Y-%m-%d %H:%M} UTC "
                         f"({_age(age)} ago)")
        return lines


def _age(age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def refresh_range(coverage: StoreCoverage, window: TimeWindow | None, delivery_lag: timedelta,
                  today: date) -> tuple[date, date]:
    """The delivery days a refresh reads: the window's (a backfill), else from where the store stops being
    whole, less the delivery lag (late files and redeliveries), to today; with nothing stored, the days a
    default query window reads.
    """
    if window is not None:
        first, last = window.delivery_day_range()
        if first is None or last is None:
            raise SettingError("refresh range", "unbounded", "give --since (and --until) to backfill")
        return first, min(last, today)
    if coverage.is_empty:
        first, _ = TimeWindow.parse(now=_start_of(today) + timedelta(hours=12)).delivery_day_range()
        return first or today, today
    until = coverage.spans[-1].until
    first = (until - max(delivery_lag, timedelta(days=1))).date()
    return min(first, today), today

