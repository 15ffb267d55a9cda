"""Time windows: what ``since``/``until`` (``--since``/``--until``) mean, and which delivery days they touch.

CloudTrail files live in a folder named after their *delivery* day (UTC), a few minutes after the events
they hold. An event at time ``t`` is therefore in a folder of day ``t.date()`` or later, so a window
``[since, until)`` reads the delivery days from ``since``'s date to the date of ``until`` plus the window's
delivery lag (``--delivery-lag``, :func:`parse_delivery_lag`). Athena's partition predicate, the local
reader's folder pruning, ``estimate`` and ``sync`` all use :meth:`TimeWindow.delivery_day_range`, so every
engine and command reads the same days.

The lag is a setting because delivery is "typically within about 5 minutes of an API call; this time is not
guaranteed", and CloudTrail retries delivery to an unreachable bucket (a bucket policy or KMS key that denies
it, say) for up to 30 days. A file delivered later than the lag is, by construction, not read by a windowed
query: the ``delivery-lag`` canned query (run with ``--all-time``) measures how late a trail's files really
were, so that the setting can be chosen from data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from smtrail_sql.errors import SettingError
from smtrail_sql.spelling import spell

#: What ``since``, ``until`` and timestamp parameters accept: a string (ISO or an age), a ``datetime`` (naive is
#: UTC; ``pandas.Timestamp`` is one), a ``date`` (its midnight UTC) or a ``timedelta`` (an age before now).
TimeSpec = str | datetime | date | timedelta

#: How far after the end of a window an event's file may be delivered, unless ``--delivery-lag`` says
#: otherwise. Delivery is typically minutes; a day covers that with a wide margin (a window ending just before
#: midnight, a delivery delayed by hours) for the price of one more delivery day per window. A longer margin
#: would make every windowed Athena query scan more days to cover what is an outage, not the normal case.
DEFAULT_DELIVERY_LAG = timedelta(days=1)
#: The longest lag accepted: CloudTrail gives up retrying a delivery after 30 days, so no file arrives later;
#: one more day covers the minutes of the delivery itself and the rounding to whole delivery days. Anything
#: above is a typo (``400d``), or a query that wants ``--all-time``.
MAX_DELIVERY_LAG = timedelta(days=31)
#: The window used when neither ``since`` nor ``until`` is given (and all time was not asked for).
DEFAULT_LOOKBACK = timedelta(days=7)

#: The instants a window (or a timestamp parameter) may name, the end excluded: from the Unix epoch (CloudTrail
#: began in 2013) to the end of 9998. The room left below year 10000 keeps a window's delivery lag and its
#: rounding to whole days inside Python's dates (and Athena's), and every delivery day keeps a four-digit year:
#: the ``day`` partition is compared as text (``yyyy/MM/dd``), where year 999 would sort after 2024.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_VALID_TIME = "an ISO date (2024-05-01), an ISO datetime (2024-05-01T12:00:00Z) or a relative age (30m, 12h, 7d, 2w)"
_VALID_LAG = "a duration such as 90m, 36h, 4d or 2w (units s, m, h, d, w), from 0 to 31d"
_VALID_RANGE = "a time from 1970-01-01 to 9998-12-31 (UTC), or an age that reaches no further back"
#: An ISO date whose year has five digits or is 0: a date, but outside every range (see :data:`EARLIEST_TIME`).
_YEAR_OUT_OF_RANGE = re.compile(r"^\s*(?:\d{5,}|0000)-\d")


def aware_utc(moment: datetime) -> datetime:
    """A moment as an aware UTC datetime; a naive one is read as UTC (the one rule for naive times).

    >>> aware_utc(datetime(2024, 5, 1, 12)).isoformat()
    '2024-05-01T12:00:00+00:00'
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def naive_utc(moment: datetime) -> datetime:
    """A moment as a naive UTC datetime, as engines return times and as SQL literals write them.

    >>> naive_utc(datetime.fromisoformat("2024-05-01T14:00:00+02:00")).isoformat()
    '2024-05-01T12:00:00'
    """
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def format_day(day: date) -> str:
    """The delivery-day partition value of ``day``: ``yyyy/MM/dd``.

    >>> format_day(date(2024, 5, 1))
    '2024/05/01'
    """
    return day.strftime("%Y/%m/%d")


def parse_time(value: TimeSpec, *, setting: str = "time", now: datetime | None = None) -> datetime:
    """Read a moment into aware UTC: an ISO date/datetime or a relative age (``7d`` = seven days before ``now``)
    as text, a ``datetime`` (naive is UTC, aware is converted; a ``pandas.Timestamp`` is one), a ``date`` (its
    midnight UTC) or a ``timedelta`` (an age before ``now``).

    Times outside :data:`EARLIEST_TIME` .. :data:`LATEST_TIME` (``800000d``, year 0 or 10000) are a
    :class:`SettingError` that says so; so is any other type, naming ``setting`` and what is valid.

    >>> parse_time("2024-05-01")
    datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_time(date(2024, 5, 1)) == parse_time(datetime(2024, 5, 1)) == parse_time("2024-05-01T02:00+02:00")
    True
    >>> parse_time(timedelta(days=7), now=datetime(2024, 5, 8, tzinfo=UTC)).isoformat()
    '2024-05-01T00:00:00+00:00'
    >>> try:
    ...     parse_time("800000d", setting="--since")
    ... except SettingError as error:
    ...     print(error.valid)
    out of range: a time from 1970-01-01 to 9998-12-31 (UTC), or an age that reaches no further back
    """
    if isinstance(value, str):
        parsed = _parse_text(value, setting, now)
    elif isinstance(value, datetime):
        parsed = _plain_utc(value, setting)
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, timedelta):
        if value < timedelta(0):
            raise SettingError(setting, value, "a timedelta is an age before now: 0 or more")
        try:
            parsed = (now or datetime.now(UTC)) - value
        except OverflowError:
            raise SettingError(setting, value, f"out of range: {_VALID_RANGE}") from None
    else:
        raise SettingError(setting, value, f"expected {_valid_time()}")
    if not EARLIEST_TIME <= parsed < LATEST_TIME:
        raise SettingError(setting, value if isinstance(value, str) else str(value),
                           f"out of range: {_VALID_RANGE}")
    return parsed


def _valid_time() -> str:
    """What a time may be, in the caller's terms (the CLI gives text only)."""
    return spell(f"a datetime (naive is UTC), a date (midnight UTC), a timedelta (an age before now) or a string: "
                 f"{_VALID_TIME}", _VALID_TIME)


def _plain_utc(moment: datetime, setting: str) -> datetime:
    """An aware UTC ``datetime`` of exactly that class (a ``pandas.Timestamp`` becomes one; NaT is refused)."""
    try:
        utc = aware_utc(moment)
        return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC)
    except OverflowError:  # an offset that leaves Python's dates
        raise SettingError(setting, str(moment), f"out of range: {_VALID_RANGE}") from None
    except (TypeError, ValueError):  # (pandas.NaT is a datetime with no date)
        raise SettingError(setting, str(moment), f"expected {_valid_time()}") from None


def _parse_text(text: str, setting: str, now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    out_of_range = SettingError(setting, text, f"out of range: {_VALID_RANGE}")
    match = _RELATIVE.match(text)
    try:
        if match:
            return now - _duration(match)
        candidate = text.strip()
        if candidate.endswith(("Z", "z")):
            candidate = candidate[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            if _YEAR_OUT_OF_RANGE.match(candidate):
                raise out_of_range from None
            raise SettingError(setting, text, f"expected {_valid_time()}") from None
        return aware_utc(parsed)
    except OverflowError:  # an age or an offset that leaves Python's dates (years 1 to 9999)
        raise out_of_range from None


def _duration(match: re.Match[str]) -> timedelta:
    """The age or duration a match of :data:`_RELATIVE` says (OverflowError beyond a billion days)."""
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def parse_delivery_lag(value: str | timedelta | None, *, setting: str | None = None) -> timedelta:
    """The delivery margin of a window: a duration (``90m``, ``36h``, ``4d``, ``2w``) from 0 to 31 days.

    ``None`` or an empty string is the default (:data:`DEFAULT_DELIVERY_LAG`); ``0`` (or ``0d``) reads no
    delivery day after the one ``until`` falls in. Negative, over :data:`MAX_DELIVERY_LAG` or unreadable is a
    :class:`SettingError` naming ``setting`` (default: ``delivery_lag``, ``--delivery-lag`` on the command line).

    >>> parse_delivery_lag("36h")
    datetime.timedelta(days=1, seconds=43200)
    >>> parse_delivery_lag(None) == DEFAULT_DELIVERY_LAG
    True
    """
    setting = setting or spell("delivery_lag", "--delivery-lag")
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_DELIVERY_LAG
    if isinstance(value, timedelta):
        lag = value
    elif not isinstance(value, str):
        raise SettingError(setting, value, f"{_VALID_LAG}, or a timedelta")
    else:
        match = _RELATIVE.match(value)
        if match:
            try:
                lag = _duration(match)
            except OverflowError:  # (far beyond the cap, which is what the message says)
                raise SettingError(setting, value, _VALID_LAG) from None
        elif value.strip() == "0":
            lag = timedelta(0)
        else:
            raise SettingError(setting, value, _VALID_LAG)
    if not timedelta(0) <= lag <= MAX_DELIVERY_LAG:
        raise SettingError(setting, value if isinstance(value, str) else str(value), _VALID_LAG)
    return lag


@dataclass(frozen=True)
class TimeWindow:
    """A half-open window ``[start, end)`` of event time, in UTC; ``None`` means unbounded on that side.

    ``delivery_lag`` is how long after ``end`` a file holding the window's events may be delivered: the
    delivery days read run from ``start``'s date to ``(end + delivery_lag)``'s date.

    >>> w = TimeWindow.parse(since="2024-05-01", until="2024-05-03")
    >>> w.delivery_day_range()
    (datetime.date(2024, 5, 1), datetime.date(2024, 5, 4))
    >>> TimeWindow.parse(since="2024-05-01", until="2024-05-03", delivery_lag="4d").delivery_day_range()
    (datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))
    """

    start: datetime | None
    end: datetime | None
    delivery_lag: timedelta = DEFAULT_DELIVERY_LAG

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                value = aware_utc(value)
                object.__setattr__(self, name, value)
            if value is not None and not EARLIEST_TIME <= value < LATEST_TIME:
                raise SettingError(f"window {name}", value.isoformat(), f"out of range: {_VALID_RANGE}")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise SettingError("window", f"{self.start.isoformat()} .. {self.end.isoformat()}",
                               f"{spell('since', '--since')} must be before {spell('until', '--until')}")
        object.__setattr__(self, "delivery_lag", parse_delivery_lag(self.delivery_lag))

    @classmethod
    def all_time(cls) -> TimeWindow:
        """No bounds at all: every delivery day is read."""
        return cls(None, None)

    @classmethod
    def parse(
        cls,
        since: TimeSpec | None = None,
        until: TimeSpec | None = None,
        *,
        all_time: bool = False,
        delivery_lag: str | timedelta | None = None,
        now: datetime | None = None,
    ) -> TimeWindow:
        """Build the window the CLI options or the API's arguments describe.

        ``since`` and ``until`` are anything :func:`parse_time` reads (text, ``datetime``, ``date``,
        ``timedelta``); ``None`` or ``""`` is no bound. With neither bound, the last :data:`DEFAULT_LOOKBACK`;
        ``all_time`` drops both bounds (and may not be combined with them); ``since`` alone runs to now.
        ``delivery_lag`` is parsed by :func:`parse_delivery_lag` (``None``: the default), even with ``all_time``,
        where it changes nothing.

        >>> TimeWindow.parse(since=date(2024, 5, 1), until=datetime(2024, 5, 2, 12)).delivery_day_range()
        (datetime.date(2024, 5, 1), datetime.date(2024, 5, 3))
        """
        now = now or datetime.now(UTC)
        lag = parse_delivery_lag(delivery_lag)
        if all_time:
            if _given(since) or _given(until):
                raise SettingError("window", spell("all_time=True", "--all-time"),
                                   spell("give either all_time=True or since/until, not both",
                                         "give either --all-time or --since/--until, not both"))
            return cls(None, None, lag)
        start = _bound(since, "since", now)
        end = _bound(until, "until", now)
        if start is None and end is None:
            return cls(now - DEFAULT_LOOKBACK, now, lag)
        if end is None:
            end = now
        return cls(start, end, lag)

    @property
    def is_bounded(self) -> bool:
        """True when the window limits at least one side."""
        return self.start is not None or self.end is not None

    def delivery_day_range(self) -> tuple[date | None, date | None]:
        """First and last delivery day (inclusive) whose folders may hold events of the window."""
        first = self.start.date() if self.start is not None else None
        last = (self.end + self.delivery_lag).date() if self.end is not None else None
        return first, last

    def bindings(self) -> dict[str, str]:
        """The window's bounds as SQL writes them, by the name of the parameter each one is bound to: the
        delivery days (``first_day``, ``last_day``: ``yyyy/MM/dd``) and the event times (``window_start``,
        ``window_end``: naive UTC with milliseconds, cast to ``TIMESTAMP``). Only the bounds the window has.

        The rendered SQL writes these values as literals, or leaves them as parameters for the local engine to
        bind (see :mod:`smtrail_sql.prerendered`): one rendering then serves a relative window at every instant.

        >>> TimeWindow.parse(since="2024-05-01", until="2024-05-03 12:00").bindings()
        {'first_day': '2024/05/01', 'last_day': '2024/05/04', 'window_start': '2024-05-01 00:00:00.000', \
'window_end': '2024-05-03 12:00:00.000'}
        >>> TimeWindow.all_time().bindings()
        {}
        """
        first, last = self.delivery_day_range()
        values: dict[str, str] = {}
        if first is not None:
            values["first_day"] = format_day(first)
        if last is not None:
            values["last_day"] = format_day(last)
        for name, moment in (("window_start", self.start), ("window_end", self.end)):
            if moment is not None:
                values[name] = naive_utc(moment).isoformat(sep=" ", timespec="milliseconds")
        return values

    def may_contain_day(self, day: date) -> bool:
        """Whether a delivery-day folder may hold events of this window (used to prune folders)."""
        first, last = self.delivery_day_range()
        return (first is None or day >= first) and (last is None or day <= last)

    def may_contain_day_folder(self, year: str, month: str, day: str) -> bool:
        """:meth:`may_contain_day` for a day spelt as the CloudTrail layout does (``2024``, ``05``, ``01``): a
        spelling that is no date holds nothing of any window (see :func:`day_folder_date`)."""
        folder_day = day_folder_date(year, month, day)
        return folder_day is not None and self.may_contain_day(folder_day)

    def delivery_days(self) -> list[date]:
        """Every delivery day of a bounded window, in order."""
        first, last = self.delivery_day_range()
        if first is None or last is None:
            raise SettingError("window", "unbounded", "listing delivery days needs both "
                               + spell("since and until", "--since and --until"))
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def api_window(
    since: TimeSpec | None = None,
    until: TimeSpec | None = None,
    *,
    all_time: bool = False,
    delivery_lag: str | timedelta | None = None,
) -> TimeWindow:
    """:meth:`TimeWindow.parse` for the Python API: ``delivery_lag=None`` reads ``SMTRAIL_DELIVERY_LAG`` as the
    CLI's option does (a bad value is an error naming the variable), else the default."""
    if delivery_lag is None:
        delivery_lag = parse_delivery_lag(os.environ.get("SMTRAIL_DELIVERY_LAG"), setting="SMTRAIL_DELIVERY_LAG")
    return TimeWindow.parse(since, until, all_time=all_time, delivery_lag=delivery_lag)


def _given(bound: TimeSpec | None) -> bool:
    """Whether a window bound was given: ``None`` and ``""`` (an empty ``SMTRAIL_SINCE``) are not; a zero
    ``timedelta`` (now) is."""
    return bound is not None and not (isinstance(bound, str) and bound == "")


def _bound(bound: TimeSpec | None, name: str, now: datetime) -> datetime | None:
    """One side of a window, or None when not given; errors name ``since`` (``--since`` on the command line)."""
    if bound is None or not _given(bound):
        return None
    return parse_time(bound, setting=spell(name, f"--{name}"), now=now)


def day_folder_date(year: str, month: str, day: str) -> date | None:
    """The date a CloudTrail day folder (``2024/05/01``) or file-name stamp (``20240501``) spells, or None.

    >>> day_folder_date("2024", "02", "29"), day_folder_date("2023", "02", "29"), day_folder_date("20x4", "1", "1")
    (datetime.date(2024, 2, 29), None, None)
    """
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
