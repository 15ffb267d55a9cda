"""Time windows: parsing, defaults, and the delivery days they touch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from smtrail_sql.errors import SettingError
from smtrail_sql.spelling import command_line
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
    with pytest.raises(SettingError, match="since must be before until"):
        TimeWindow.parse(since="2024-05-02", until="2024-05-01")
    with pytest.raises(SettingError, match="needs both"):
        TimeWindow.all_time().delivery_days()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 10, tzinfo=UTC)),  # naive is UTC
        (datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))), datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=UTC)),  # midnight UTC
        (timedelta(days=7), datetime(2024, 5, 3, 12, 30, tzinfo=UTC)),  # an age before now
        (timedelta(0), NOW),
    ],
    ids=["naive", "aware", "date", "timedelta", "now"],
)
def test_parse_time_takes_python_values(value: Any, expected: datetime) -> None:
    parsed = parse_time(value, now=NOW)
    assert parsed == expected and parsed.tzinfo is UTC and type(parsed) is datetime


def test_parse_time_takes_a_pandas_timestamp() -> None:
    pd = pytest.importorskip("pandas")
    parsed = parse_time(pd.Timestamp("2024-05-01T12:00", tz="Europe/Paris"))
    assert parsed == datetime(2024, 5, 1, 10, tzinfo=UTC) and type(parsed) is datetime
    assert parse_time(pd.Timestamp("2024-05-01T10:00")) == parsed
    with pytest.raises(SettingError, match="expected a datetime"):
        parse_time(pd.NaT, setting="since")


@pytest.mark.parametrize("value", [3, 1.5, True, b"2024-05-01", ["2024-05-01"], timedelta(days=-1)])
def test_a_wrong_type_names_the_argument_and_what_is_valid(value: Any) -> None:
    with pytest.raises(SettingError, match=r"^invalid since .*(datetime|timedelta)") as caught:
        TimeWindow.parse(since=value, now=NOW)
    assert caught.value.setting == "since"


def test_python_bounds_make_the_same_window_as_text() -> None:
    as_text = TimeWindow.parse(since="2024-05-01", until="2024-05-03T06:00:00Z", now=NOW)
    as_python = TimeWindow.parse(since=date(2024, 5, 1), until=datetime(2024, 5, 3, 6), now=NOW)
    assert as_python == as_text
    assert TimeWindow.parse(since=timedelta(days=7), now=NOW) == TimeWindow.parse(since="7d", now=NOW)
    assert TimeWindow.parse(since="2024-05-01", until=timedelta(0), now=NOW).end == NOW  # a zero age is now


def test_messages_name_arguments_for_python_and_flags_on_the_command_line() -> None:
    with pytest.raises(SettingError, match=r"^invalid until 'soon'"):
        TimeWindow.parse(until="soon")
    with pytest.raises(SettingError, match="give either all_time=True or since/until"):
        TimeWindow.parse(since="1d", all_time=True)
    with command_line():
        with pytest.raises(SettingError, match=r"^invalid --until 'soon'"):
            TimeWindow.parse(until="soon")
        with pytest.raises(SettingError, match="--since must be before --until"):
            TimeWindow.parse(since="2024-05-02", until="2024-05-01")
    with pytest.raises(SettingError, match=r"^invalid until"):  # the wording ends with the block
        TimeWindow.parse(until="soon")
