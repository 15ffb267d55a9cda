"""The table for eyes: columns fitted to a width, long text ended with ``…``, rows capped, numbers readable.

Rich's ``Table`` measured every cell of every row and shrank or folded the columns in proportion: at 80 columns
the text columns of ``metric-summary`` shrank to nothing (``┏┳┳``), at 100 one row took ~50 lines, and 29,480
rows of ``metric-curves`` took 41 s to print. Here the layout is decided from the widths of the cells shown,
and the lines are joined by hand (29,480 rows in well under a second; with the row cap only the rows shown are
formatted at all). When the columns do not fit, in this order:

1. text columns are cut to a few characters (a key column to 20) and end in ``…``; numbers, timestamps and
   booleans are never cut, since a cut number reads as another number;
2. columns of ARNs, user agents, callers, source IPs and messages are left out, from the right;
3. then any other column but a key one, from the right.

Key columns (``trial_component``, ``metric_name``, any ``*_name``, and a result's first column, which names
the row in every canned query) are never left out. Width the layout leaves over goes to key columns first.

>>> lines, dropped = render_table(["trial_component", "value"], ["VARCHAR", "DOUBLE"],
...     [("resnet-50-lr-0.1-batch-256-aws-training-job", 0.000358486), ("b", 106.4)], width=40)
>>> print("\\n".join(lines))
┏━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓
┃ trial_component        ┃       value ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩
│ resnet-50-lr-0.1-batc… │ 0.000358486 │
│ b                      │       106.4 │
└────────────────────────┴─────────────┘
                 2 rows
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from smtrail_sql.sqltypes import TypeFamily, type_family
from smtrail_sql.values import display_dollars, display_number, text_value
from smtrail_sql.window import naive_utc

#: Rows a terminal shows at most unless told otherwise: half from the head, half from the tail (DuckDB's 40).
DEFAULT_MAX_ROWS: Final = 40
#: Narrowest a key column is cut to (it shows ``bert-finetune-2024-…``), or its header, if longer.
KEY_MIN_WIDTH: Final = 20
#: Narrowest any other text column is cut to, and a number's header.
TEXT_MIN_WIDTH: Final = 10
#: Names of columns that say what a row is about.
KEY_NAMES: Final = frozenset({"trial_component", "metric_name", "experiment", "trial", "error_code"})
#: Parts of the names of long columns that a narrow screen can do without.
EXPENDABLE_PARTS: Final = ("arn", "user_agent", "caller", "source_ip", "message")

ELLIPSIS: Final = "…"
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
#: Control characters would move the cursor or change the terminal's state: a newline shows as ``↵``, the rest
#: (an escape sequence in a metric name included) as ``�``.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Kind = Literal["key", "text", "expendable", "whole"]


@dataclass
class _Column:
    name: str
    kind: Kind
    right: bool
    cells: list[str]
    natural: int
    minimum: int


def column_kind(name: str, family: TypeFamily, index: int) -> Kind:
    """How a column may be treated to fit: ``whole`` (never cut), ``key`` (never left out), ``expendable``
    (left out first) or ``text``.

    >>> [column_kind(n, "string", i) for i, n in enumerate(["caller_arn", "metric_name", "user_agent", "day"])]
    ['key', 'key', 'expendable', 'text']
    """
    lowered = name.lower()
    if family != "string":
        return "whole"
    if index == 0 or lowered in KEY_NAMES or lowered.endswith("_name"):
        return "key"
    if any(part in lowered for part in EXPENDABLE_PARTS):
        return "expendable"
    return "text"


def render_table(
    columns: Sequence[str],
    column_types: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    width: int | None = None,
    max_rows: int | None = None,
    color: bool = False,
) -> tuple[list[str], list[str]]:
    """The table's lines, and the names of the columns left out to fit ``width`` (None: every column whole).

    ``max_rows`` (None or 0: all) keeps the first and last rows with a ``…`` row between; the caption counts
    every row. ``color`` puts the header in bold and NULL dim (ANSI).
    """
    families = [type_family(t) for t in column_types]
    shown, hidden = _cap(rows, max_rows)
    formatters = [_formatter(name, family) for name, family in zip(columns, families, strict=True)]
    table = []
    for index, (name, family, fmt) in enumerate(zip(columns, families, formatters, strict=True)):
        cells = ["NULL" if row[index] is None else _printable(fmt(row[index])) for row in shown]
        kind = column_kind(name, family, index)
        natural = max([_cell_len(c) for c in cells] + [_cell_len(name)])
        table.append(_Column(name, kind, family in {"int", "float", "decimal"}, cells, natural,
                             _minimum(kind, name, cells, natural)))
    kept, dropped = _fit(table, width)
    lines = _draw(kept, len(shown), hidden, color)
    caption = f"{len(rows):,} row{'' if len(rows) == 1 else 's'}"
    if hidden:
        hint = f"{caption} ({len(shown):,} shown; --max-rows 0 shows all)"
        caption = hint if width is None or len(hint) <= width else f"{caption} ({len(shown):,} shown)"
    total = len(lines[0])
    lines.append(_style(caption.center(total).rstrip(), _DIM, color))
    return lines, [c.name for c in table if any(c is d for d in dropped)]


def _cap(rows: Sequence[Sequence[Any]], max_rows: int | None) -> tuple[list[Sequence[Any]], int]:
    """The rows shown (head and tail) and how many are not."""
    if not max_rows or len(rows) <= max_rows:
        return list(rows), 0
    head = (max_rows + 1) // 2
    return [*rows[:head], *rows[len(rows) - (max_rows - head):]], len(rows) - max_rows


def _minimum(kind: Kind, name: str, cells: list[str], natural: int) -> int:
    if kind == "whole":
        return max([_cell_len(c) for c in cells] + [min(_cell_len(name), TEXT_MIN_WIDTH)])
    if kind == "key":
        return min(natural, max(_cell_len(name), KEY_MIN_WIDTH))
    return min(natural, TEXT_MIN_WIDTH)


def _overhead(count: int) -> int:
    return 3 * count + 1  # "│ " before each column, " " after it, and the last "│"


def _fit(table: list[_Column], width: int | None) -> tuple[list[_Column], list[_Column]]:
    """Set each kept column's width (``natural`` becomes the width drawn); the columns left out."""
    if width is None or sum(c.natural for c in table) + _overhead(len(table)) <= width:
        return table, []
    kept = list(table)
    dropped: list[_Column] = []
    order = [c for c in reversed(table) if c.kind == "expendable"]
    order += [c for c in reversed(table) if c.kind in {"text", "whole"}]
    for column in order:
        if sum(c.minimum for c in kept) + _overhead(len(kept)) <= width:
            break
        kept.remove(column)
        dropped.append(column)
    spare = width - _overhead(len(kept)) - sum(c.minimum for c in kept)
    if spare < 0:  # the key columns alone are too wide: share what there is, at least one character each
        while len(kept) > 1 and width - _overhead(len(kept)) < 2 * len(kept):
            dropped.append(kept.pop())
        share = max(1, (width - _overhead(len(kept))) // len(kept))
        for column in kept:
            column.natural = min(column.natural, share)
        return kept, dropped
    grown = {id(c): c.minimum for c in kept}
    for kinds in (("key",), ("whole",), ("text", "expendable")):
        for column in (c for c in kept if c.kind in kinds):
            extra = min(spare, column.natural - grown[id(column)])
            grown[id(column)] += extra
            spare -= extra
    for column in kept:
        column.natural = grown[id(column)]
    return kept, dropped


def _draw(table: list[_Column], count: int, hidden: int, color: bool) -> list[str]:
    widths = [c.natural for c in table]

    def rule(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + right

    header = "┃" + "┃".join(
        f" {_style(_pad(_cut(c.name, c.natural), c.natural, c.right), _BOLD, color)} " for c in table) + "┃"
    lines = [rule("┏", "━", "┳", "┓"), header, rule("┡", "━", "╇", "┩")]
    gap = (count + 1) // 2 if hidden else -1  # after the head rows (_cap keeps the larger half there)
    for index in range(count + 1):
        if index == gap:
            lines.append("│" + "│".join(f" {_pad(ELLIPSIS, c.natural, c.right)} " for c in table) + "│")
        if index == count:
            break
        cells = []
        for column in table:
            text = _pad(_cut(column.cells[index], column.natural), column.natural, column.right)
            cells.append(_style(text, _DIM, color) if column.cells[index] == "NULL" else text)
        lines.append("│ " + " │ ".join(cells) + " │")
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


def _style(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _cell_len(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # wide (CJK) characters take two cells

    return cell_len(text)


def _cut(text: str, width: int) -> str:
    if _cell_len(text) <= width:
        return text
    if text.isascii():
        return text[: width - 1] + ELLIPSIS
    from rich.cells import set_cell_size

    return set_cell_size(text, width - 1) + ELLIPSIS


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _cell_len(text))
    return fill + text if right else text + fill


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return _CONTROL.sub("�", text.replace("\r\n", "↵").replace("\n", "↵").replace("\t", " "))


def _formatter(name: str, family: TypeFamily) -> Callable[[Any], str]:
    if family == "int":
        return lambda v: f"{v:,}" if isinstance(v, int) else str(v)
    if family in {"float", "decimal"}:
        dollars = name.lower().endswith("_usd") or "cost" in name.lower()
        return lambda v: display_dollars(float(v)) if dollars else display_number(float(v))
    if family == "timestamp":
        return timestamp_text
    if family == "bool":
        return lambda v: "true" if v else "false"
    return text_value


def timestamp_text(value: Any) -> str:
    """ISO-8601 with a space, milliseconds only when present (metric timestamps are at most ms-precise).

    >>> timestamp_text(dt.datetime(2024, 3, 1, 12, 0, 1, 250000))
    '2024-03-01 12:00:01.250'
    """
    if not isinstance(value, dt.datetime):
        return str(value)
    moment = naive_utc(value)
    if not moment.microsecond:
        return moment.isoformat(sep=" ")
    precision = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.isoformat(sep=" ", timespec=precision)
