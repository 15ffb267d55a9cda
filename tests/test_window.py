"""Time windows: parsing, defaults, and the delivery days they touch."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from smtrail_sql.errors import SettingError
from smtrail_sql.window import TimeWindow, parse_time

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("7d", datetime(2024, 5, 3, 12, 30, tzinfo=UTC)),
        ("12h", datetime(2024, 5, 10, 0, 30, tzinfo=UTC)),
        ("30m", datetime(2024, 5, 10, 12, 0, tzinfo=UTC)),
        ("2w", datetime(2024, 4, 26, 12, 30, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7x", "2024-13-01", "'; DROP"])
def test_bad_time_names_what_is_valid(text: str) -> None:
    with pytest.raises(SettingError, match="relative age"):
        parse_time(text, setting="--since", now=NOW)


def test_default_window_is_last_seven_days() -> None:
    window = TimeWindow.parse(now=NOW)
    assert (window.start, window.end) == (datetime(2024, 5, 3, 12, 30, tzinfo=UTC), NOW)


def test_delivery_days_are_widened_for_lag() -> None:
    window = TimeWindow.parse(since="2024-05-01T23:00:00Z", until="2024-05-02T01:00:00Z", now=NOW)
    assert window.delivery_days() == [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)]
    assert window.may_contain_day(date(2024, 5, 3)) and not window.may_contain_day(date(2024, 4, 30))


def test_all_time_and_bounds_conflict() -> None:
    assert not TimeWindow.parse(all_time=True).is_bounded
    with pytest.raises(SettingError, match="not both"):
        TimeWindow.parse(since="1d", all_time=True)
    with pytest.raises(SettingError, match="before --until"):
        TimeWindow.parse(since="2024-05-02", until="2024-05-01")
    with pytest.raises(SettingError, match="needs both"):
        TimeWindow.all_time().delivery_days()
