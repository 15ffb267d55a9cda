"""The comment header a rendered query is printed with: which query, what it answers, its values, its window.

The header is ``--`` comment lines, so the whole stays one valid statement that parses in sqlglot's ``athena``
dialect and pastes into the Athena console. No value can end a comment line early: every line break in what
the header quotes is written as ``\\n``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from smtrail_sql.params import format_value
from smtrail_sql.window import naive_utc

if TYPE_CHECKING:
    from smtrail_sql.render import RenderedQuery
    from smtrail_sql.window import TimeWindow


def commented_sql(query: RenderedQuery, dialect: str = "athena") -> str:
    """The query's pretty SQL in ``dialect`` under its header, ending with ``;``.

    >>> from smtrail_sql.render import render
    >>> from smtrail_sql.templates import TemplateLibrary
    >>> from smtrail_sql.window import TimeWindow
    >>> q = render(TemplateLibrary.load().get("runs"), window=TimeWindow.parse("2024-05-01", "2024-05-02"))
    >>> print(commented_sql(q).splitlines()[0])
    -- runs: The trial components that logged metrics: first and last call, points, metrics and callers.
    """
    return "\n".join([*header_lines(query), query.to_sql(dialect) + ";"])


def header_lines(query: RenderedQuery) -> list[str]:
    """The header's ``--`` lines."""
    template = query.template
    description = [line.strip() for line in template.description.splitlines() if line.strip()] or [""]
    lines = [f"{template.name}: {description[0]}", *description[1:]]
    if template.params:
        lines.append("parameters:")
        for spec in template.params.values():
            value = query.params.get(spec.name)
            shown = "unset (its filter is left out)" if value is None else _shown(value)
            if value is not None and not spec.required and value == spec.default:
                shown += " (default)"
            lines.append(f"  {spec.name} = {shown}")
    else:
        lines.append("parameters: none")
    lines.extend(describe_window(query.window))
    return ["-- " + _one_line(line) if line else "--" for line in lines]


def describe_window(window: TimeWindow) -> list[str]:
    """What the window added to the query: the event times, and the delivery days (partitions) read.

    >>> from smtrail_sql.window import TimeWindow
    >>> describe_window(TimeWindow.parse("2024-05-01", "2024-05-03"))
    ['window: event_time from 2024-05-01 00:00:00 to 2024-05-03 00:00:00 UTC (end excluded)', \
'  delivery days read: day from 2024/05/01 to 2024/05/04 (delivery lag 1d)']
    >>> describe_window(TimeWindow.all_time())
    ['window: none (all time: every delivery day is read)']
    """
    from smtrail_sql.window import format_day

    if window.start is None and window.end is None:
        return ["window: none (all time: every delivery day is read)"]
    start = _moment(window.start) if window.start else "the beginning"
    end = _moment(window.end) + " UTC (end excluded)" if window.end else "now"
    first, last = window.delivery_day_range()
    days = f"from {format_day(first) if first else 'the first'} to {format_day(last) if last else 'the last'}"
    return [f"window: event_time from {start} to {end}",
            f"  delivery days read: day {days} (delivery lag {_duration(window.delivery_lag)})"]


def _duration(lag: timedelta) -> str:
    seconds = int(lag.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _moment(moment: datetime) -> str:
    return naive_utc(moment).isoformat(sep=" ")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    return format_value(value)


def _one_line(text: str) -> str:
    """``text`` with every character that ends a line in SQL (or in an editor) escaped."""
    for char, escaped in (("\\", "\\\\"), ("\r", "\\r"), ("\n", "\\n"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029"), ("\x0b", "\\x0b"), ("\x0c", "\\x0c"), ("\x85", "\\x85")):
        text = text.replace(char, escaped)
    return text
