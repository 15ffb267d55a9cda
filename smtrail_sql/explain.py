"""Why a query answered nothing, in one line: the window it read, what the logs hold, close matches for the names
it was given, and the option that would help.

A query with no rows says nothing about why: the window may end before the logs begin (the default is the last
7 days, and a copy of last month's logs holds nothing of it), or a name may be misspelt. :func:`explain_empty`
looks once more, over all time: the delivery days the local engine's files hold (from the files it walks), and
the trial components, metrics, accounts and regions present, against which the names given are matched
(:mod:`difflib`). On an engine that bills what it scans (Athena), it reads nothing: the line says what is known.

>>> from smtrail_sql.render import render
>>> from smtrail_sql.templates import TemplateLibrary
>>> from smtrail_sql.window import TimeWindow
>>> query = render(TemplateLibrary.load().get("runs"), window=TimeWindow.parse("2024-05-01", "2024-05-02"))
>>> held = Names(first_day="2024/06/01", last_day="2024/06/03", first_event=datetime(2024, 6, 1, 9, tzinfo=UTC),
...              last_event=datetime(2024, 6, 3, 12, tzinfo=UTC))
>>> print(explain_empty(query, held))
0 rows in the window 2024-05-01 00:00 to 2024-05-02 00:00 UTC (delivery days 2024/05/01 to 2024/05/03); \
the logs hold delivery days 2024/06/01 to 2024/06/03; the logs hold events after the window: try \
--all-time, or --until with a later time
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from smtrail_sql.window import aware_utc, format_day

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from smtrail_sql.engines.base import Engine
    from smtrail_sql.naming import Naming
    from smtrail_sql.render import RenderedQuery
    from smtrail_sql.result import QueryResult

#: The parameters that name things the logs hold: parameter -> (what it names, the column of the names).
NAME_PARAMS = {
    "trial_components": ("trial component", "trial_component"),
    "metrics": ("metric", "metric_name"),
    "account_ids": ("account", "account_id"),
    "region_codes": ("region", "region"),
}
#: The glob parameters, and what their glob matches (a job glob matches a job's trial component too).
GLOB_PARAMS = {"trial_component_glob": ("trial component", ("",)),
               "job": ("trial component or job", ("", "-aws-training-job"))}

#: The query behind the explanation: every name the logs hold (points and calls), with the first and last event
#: time, over all time (``sql/explain/names-present.sql``, shipped with its DuckDB forms: see
#: :mod:`smtrail_sql.bound_sql`).
NAMES_QUERY = "names-present"


@dataclass
class Names:
    """What the logs hold, over all time (None: not known)."""

    #: The first and last delivery day of the files (``yyyy/MM/dd``).
    first_day: str | None = None
    last_day: str | None = None
    #: The distinct values of each column of :data:`NAME_PARAMS`.
    present: dict[str, set[str]] = field(default_factory=dict)
    first_event: datetime | None = None
    last_event: datetime | None = None
    #: What else is worth saying (an --accounts that matches no file).
    notes: list[str] = field(default_factory=list)


def explain_empty(query: RenderedQuery, names: Names | None) -> str:
    """One line saying why ``query`` (which gave no rows) may have found nothing; ``names`` from
    :func:`names_present` (None when the engine could not look cheaply)."""
    parts = [f"0 rows in {_window_text(query)}"]
    if names is None:
        parts.append("what the logs hold was not looked up (on this engine it would be a billed scan)")
    else:
        parts.extend(names.notes)
        if names.first_day is not None:
            parts.append(f"the logs hold delivery days {names.first_day} to {names.last_day}")
        if names.last_event is None and not names.notes:
            parts.append("the logs hold no BatchPutMetrics call at all")
        parts.extend(_unknown_names(query, names))
    widen = _widen(query, names)
    if widen:
        parts.append(widen)
    return "; ".join(parts)


def names_present(engine: Engine, query: RenderedQuery,
                  run: Callable[[Any], QueryResult] | None = None) -> Names | None:
    """What the logs hold over all time, by one small query on ``engine`` (the query's naming and source), run
    by ``run`` (``engine.execute`` by default; the console script's goes through its executor); None on an
    engine that bills scans."""
    if engine.bills_scans:
        return None
    result = (run or engine.execute)(names_query(query.naming))
    names = Names(present={column: set() for _, column in NAME_PARAMS.values()})
    firsts, lasts = [], []
    for row in result.as_dicts():
        for _, column in NAME_PARAMS.values():
            if row[column] is not None:
                names.present[column].add(str(row[column]))
        firsts += [row["first_event_time"]] if row["first_event_time"] is not None else []
        lasts += [row["last_event_time"]] if row["last_event_time"] is not None else []
    names.first_event = aware_utc(min(firsts)) if firsts else None
    names.last_event = aware_utc(max(lasts)) if lasts else None
    partitions = getattr(engine, "partitions", None)
    if callable(partitions):  # (the local engine: the files it walks, whatever the window)
        held: set[tuple[str | None, str | None, str | None]] = partitions()
        for option, index in (("--accounts", 1), ("--regions", 2)):
            chosen = getattr(engine, option.lstrip("-"), None) or ()
            there = sorted({str(p[index]) for p in held if p[index] is not None})
            missing = [c for c in chosen if c not in there]
            if there and missing:
                close = sorted({m for c in missing for m in difflib.get_close_matches(c, there, n=2, cutoff=0.6)})
                hint = f" (did you mean {' or '.join(close)}?)" if close else ""
                names.notes.append(f"{option} {','.join(missing)} matches no log file{hint}; the logs hold "
                                   f"{', '.join(there)}")
            if chosen:
                held = {p for p in held if p[index] in chosen}
        days = sorted({p[0] for p in held if p[0] is not None})
        if days:
            names.first_day, names.last_day = days[0], days[-1]
    return names


def names_query(naming: Naming) -> Any:
    """The query of :data:`NAMES_QUERY` over all time: its shipped DuckDB forms for the default names (no
    sqlglot), else rendered."""
    from smtrail_sql import bound_sql
    from smtrail_sql.naming import Naming
    from smtrail_sql.window import TimeWindow

    window = TimeWindow.all_time()
    path = bound_sql.internal_template_file(NAMES_QUERY)
    text = path.read_bytes()

    def rendered() -> RenderedQuery:
        from smtrail_sql.render import render

        return render(bound_sql.internal_template(NAMES_QUERY), window=window, naming=naming)

    forms = bound_sql.shipped_forms(NAMES_QUERY, text, (), window.bindings()) if naming == Naming() else None
    if forms is None:
        return rendered()
    from smtrail_sql.prerendered import PrerenderedQuery
    from smtrail_sql.template_text import columns_read, parse_header

    body = parse_header(text.decode("utf-8"), path).body
    return PrerenderedQuery(NAMES_QUERY, window, naming, forms, columns_read(body, window_bounded=False), rendered,
                            {}, {})


def _window_text(query: RenderedQuery) -> str:
    window = query.window
    if not window.is_bounded:
        return "all time"

    def moment(value: datetime | None) -> str:
        return "the beginning" if value is None else aware_utc(value).strftime("%Y-%m-%d %H:%M")

    first, last = window.delivery_day_range()
    days = (f" (delivery days {format_day(first) if first else 'from the first'} to "
            f"{format_day(last) if last else 'the last'})")
    return f"the window {moment(window.start)} to {moment(window.end) if window.end else 'now'} UTC{days}"


def _unknown_names(query: RenderedQuery, names: Names) -> list[str]:
    """A part per name given that the logs do not hold, with the closest ones they do."""
    parts = []
    for param, (what, column) in NAME_PARAMS.items():
        present = names.present.get(column)
        for name in query.params.get(param) or ():
            if present is None or name in present:
                continue
            close = difflib.get_close_matches(name, sorted(present), n=3, cutoff=0.6)
            hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            parts.append(f"no {what} {name!r} in the logs{hint}")
    for param, (what, suffixes) in GLOB_PARAMS.items():
        glob = query.params.get(param)
        present = names.present.get("trial_component")
        if not isinstance(glob, str) or present is None:
            continue
        if not any(fnmatch.fnmatchcase(name, glob + suffix) for name in present for suffix in suffixes):
            parts.append(f"no {what} in the logs matches {glob!r}")
    return parts


def _widen(query: RenderedQuery, names: Names | None) -> str | None:
    """The option that would reach events the logs hold outside the window (None: it holds them all)."""
    window = query.window
    if not window.is_bounded:
        return None
    if names is None:
        return "if the window is the reason, try --all-time or --since 30d"
    if names.first_event is None or names.last_event is None:
        return None
    before = window.start is not None and names.first_event < window.start
    after = window.end is not None and names.last_event >= window.end
    if not before and not after:
        return None  # (every event the logs hold is in the window: the filters left none)
    if before:
        days = max(1, math.ceil((datetime.now(UTC) - names.first_event).total_seconds() / 86400))
        what = "none of them" if window.start is not None and names.last_event < window.start else "some"
        return f"the logs hold events before the window ({what} in it): try --since {days}d or --all-time"
    return "the logs hold events after the window: try --all-time, or --until with a later time"
