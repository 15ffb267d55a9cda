"""Time windows: what ``--since``/``--until`` mean, and which delivery days they touch.

CloudTrail files live in a folder named after their *delivery* day (UTC), a few minutes after the events
they hold. An event at time ``t`` is therefore in a folder of day ``t.date()`` or later, so a window
``[since, until)`` reads the delivery days from ``since``'s date to ``until``'s date plus
:data:`DELIVERY_LAG`. Athena's partition predicate and the local reader's folder pruning both use
:meth:`TimeWindow.delivery_day_range`, so the two engines read the same days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from smtrail_sql.errors import SettingError

#: How far after the end of a window an event's file may be delivered.
DELIVERY_LAG = timedelta(days=1)
#: The window used when neither ``since`` nor ``until`` is given (and all time was not asked for).
DEFAULT_LOOKBACK = timedelta(days=7)

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_VALID_TIME = "an ISO date (2024-05-01), an ISO datetime (2024-05-01T12:00:00Z) or a relative age (30m, 12h, 7d, 2w)"


def format_day(day: date) -> str:
    """The delivery-day partition value of ``day``: ``yyyy/MM/dd``.

    >>> format_day(date(2024, 5, 1))
    '2024/05/01'
    """
    return day.strftime("%Y/%m/%d")


def parse_time(text: str, *, setting: str = "time", now: datetime | None = None) -> datetime:
    """Parse an ISO date/datetime or a relative age (``7d`` = seven days before ``now``) into aware UTC.

    >>> parse_time("2024-05-01")
    datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise SettingError(setting, text, f"expected {_VALID_TIME}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class TimeWindow:
    """A half-open window ``[start, end)`` of event time, in UTC; ``None`` means unbounded on that side.

    >>> w = TimeWindow.parse(since="2024-05-01", until="2024-05-03")
    >>> w.delivery_day_range()
    (datetime.date(2024, 5, 1), datetime.date(2024, 5, 4))
    """

    start: datetime | None
    end: datetime | None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise SettingError("window", f"{self.start.isoformat()} .. {self.end.isoformat()}",
                               "--since must be before --until")

    @classmethod
    def all_time(cls) -> TimeWindow:
        """No bounds at all: every delivery day is read."""
        return cls(None, None)

    @classmethod
    def parse(
        cls,
        since: str | None = None,
        until: str | None = None,
        *,
        all_time: bool = False,
        now: datetime | None = None,
    ) -> TimeWindow:
        """Build the window the CLI options describe.

        With neither bound, the last :data:`DEFAULT_LOOKBACK`; ``all_time`` drops both bounds (and may not
        be combined with them); ``since`` alone runs to now.
        """
        now = now or datetime.now(UTC)
        if all_time:
            if since or until:
                raise SettingError("window", "--all-time", "give either --all-time or --since/--until, not both")
            return cls.all_time()
        start = parse_time(since, setting="--since", now=now) if since else None
        end = parse_time(until, setting="--until", now=now) if until else None
        if start is None and end is None:
            return cls(now - DEFAULT_LOOKBACK, now)
        if end is None:
            end = now
        return cls(start, end)

    @property
    def is_bounded(self) -> bool:
        """True when the window limits at least one side."""
        return self.start is not None or self.end is not None

    def delivery_day_range(self) -> tuple[date | None, date | None]:
        """First and last delivery day (inclusive) whose folders may hold events of the window."""
        first = self.start.date() if self.start is not None else None
        last = (self.end + DELIVERY_LAG).date() if self.end is not None else None
        return first, last

    def may_contain_day(self, day: date) -> bool:
        """Whether a delivery-day folder may hold events of this window (used to prune folders)."""
        first, last = self.delivery_day_range()
        return (first is None or day >= first) and (last is None or day <= last)

    def delivery_days(self) -> list[date]:
        """Every delivery day of a bounded window, in order."""
        first, last = self.delivery_day_range()
        if first is None or last is None:
            raise SettingError("window", "unbounded", "listing delivery days needs both --since and --until")
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def contains(self, moment: datetime) -> bool:
        """Whether an event time (aware, or naive UTC) falls in the window."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)
