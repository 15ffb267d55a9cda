"""Metric curves as text: Unicode braille on a terminal (2x4 dots per character, a colour per trial component),
a marker character per trial component when there is no colour to tell them apart (piped, ``NO_COLOR``).

Written by hand rather than with a plotting package: the output is plain text that tests can read, it needs
no dependency whose API moves between majors, and lines are joined dot to dot so sparse curves stay curves.

>>> from smtrail_sql.plot import Curves, Series
>>> c = Curves("step", {"loss": [Series("run-a", "loss", [0, 1, 2], [3.0, 2.0, 1.0])]}, ["run-a"])
>>> print(render_text(c, width=24, height=3, color=False))
loss by step
3 ┤⠉⠒⠒⠤⠤⣀⣀
2 ┤       ⠉⠉⠒⠒⠤⠤⣀⡀
1 ┤              ⠈⠉⠑⠒⠤⠤⣀
  └─────────────────────
   0         1         2
  ━ run-a

Braille dots cannot carry a marker, so without colour a chart of several curves is drawn a character a
point instead, each curve in its own character (where two meet, the last drawn), and the legend says
which is which:

>>> b = Series("run-b", "loss", [0, 1, 2], [1.0, 2.0, 3.0])
>>> print(render_text(Curves("step", {"loss": [*c.series["loss"], b]}, ["run-a", "run-b"]), width=24, height=3,
...                   color=False))
loss by step
3 ┤•••••          ++++++
2 ┤     ++++++++++
1 ┤+++++          ••••••
  └─────────────────────
   0         1         2
  • run-a  + run-b
"""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import IO, Any, Final

from smtrail_sql.plot import NOTHING_TO_DRAW, Curves, Series

#: ANSI foreground colours in the order of matplotlib's tab10, so the terminal and the PNG roughly agree.
ANSI_COLORS: Final = (34, 33, 32, 31, 35, 36, 94, 93, 92, 91, 95, 96)

#: One character a trial component when there is no colour: symbols first, then capitals (no O or X, which
#: look like o and x); past the last they come round again.
MARKERS: Final = ("•", "+", "x", "o", "*", "#", "@", "%", "&", "=", "~", "^", "$", "?",
                  *"ABCDEFGHIJKLMNPQRSTUVWYZ")

# Bit of each dot in a braille cell, indexed [row][column] (Unicode's numbering: dots 1-8).
_DOT_BITS: Final = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BRAILLE_BASE: Final = 0x2800


def render_text(
    curves: Curves, *, width: int = 80, height: int = 12, color: bool = True, markers: bool | None = None,
) -> str:
    """All metrics of ``curves``, one chart each, ``width`` columns wide with ``height`` rows of plot.

    Each chart has its title, the y range on the left, the x range below, and a legend of trial components.
    Curves are told apart by colour when ``color`` (a cell where curves cross takes the colour of the last one
    drawn), else by ``markers``: one character each (:data:`MARKERS`), a cell a point, in place of braille.
    ``markers`` defaults to ``not color``; a chart of one curve keeps its braille (nothing to tell apart).
    """
    if not curves.metrics:
        return NOTHING_TO_DRAW
    palette = {tc: ANSI_COLORS[i % len(ANSI_COLORS)] for i, tc in enumerate(curves.trial_components)}
    symbols = {tc: MARKERS[i % len(MARKERS)] for i, tc in enumerate(curves.trial_components)}
    use_markers = not color if markers is None else markers
    charts = [
        _chart(metric, lines, curves.x_axis, palette, max(width, 20), max(height, 2), color,
               symbols if use_markers and len(lines) > 1 else None)
        for metric, lines in curves.series.items()
    ]
    return "\n\n".join(charts)


def color_for(stream: IO[str]) -> bool:
    """Whether text written to ``stream`` may be coloured: a terminal, and ``NO_COLOR`` unset or empty
    (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def _chart(metric: str, lines: list[Series], x_axis: str, palette: dict[str, int], width: int, height: int,
           color: bool, symbols: dict[str, str] | None) -> str:
    xs = [_number(x) for line in lines for x in line.x]
    ys = [y for line in lines for y in line.y]
    x_low, x_high = _span(min(xs), max(xs))
    y_low, y_high = _span(min(ys), max(ys))
    y_labels = [_tick(y_high), _tick((y_low + y_high) / 2), _tick(y_low)]
    label_width = max(len(label) for label in y_labels)
    columns = max(width - label_width - 2, 4)
    # braille: 2x4 dots a cell; markers: the cell is the dot
    dots_wide, dots_high = (columns, height) if symbols else (columns * 2, height * 4)
    bits = [[0] * columns for _ in range(height)]
    owner = [[-1] * columns for _ in range(height)]

    def plot(dot_x: int, dot_y: int, series_index: int) -> None:
        if symbols:
            bits[dot_y][dot_x], owner[dot_y][dot_x] = 1, series_index
            return
        row, column = dot_y // 4, dot_x // 2
        bits[row][column] |= _DOT_BITS[dot_y % 4][dot_x % 2]
        owner[row][column] = series_index

    for series_index, line in enumerate(lines):
        previous: tuple[int, int] | None = None
        for x, y in zip(line.x, line.y, strict=True):
            dot = (_scale(_number(x), x_low, x_high, dots_wide),
                   dots_high - 1 - _scale(y, y_low, y_high, dots_high))
            for dot_x, dot_y in _segment(previous or dot, dot):
                plot(dot_x, dot_y, series_index)
            previous = dot

    def cell(row: int, column: int) -> tuple[str, int]:
        if not bits[row][column]:
            return " ", 0
        line = lines[owner[row][column]]
        char = symbols[line.trial_component] if symbols else chr(_BRAILLE_BASE + bits[row][column])
        return char, palette[line.trial_component]

    out = [f"{metric} by {x_axis}"]
    row_labels = {height // 2: y_labels[1], 0: y_labels[0], height - 1: y_labels[2]}
    for row in range(height):
        label = row_labels.get(row, "")
        tick = "┤" if label else "│"
        cells = [cell(row, column) for column in range(columns)]
        out.append(f"{label:>{label_width}} {tick}{_paint(cells, color)}")
    out.append(" " * label_width + " └" + "─" * columns)
    out.append(" " * (label_width + 2) + _x_labels(x_low, x_high, columns, x_axis, lines))
    out.append(_legend(lines, palette, width, color, symbols))
    return "\n".join(out)


def _paint(cells: list[tuple[str, int]], color: bool) -> str:
    """A row of cells, one colour escape per run of same-coloured cells (not one per cell)."""
    while cells and cells[-1][0] == " ":
        cells.pop()
    if not color:
        return "".join(char for char, _ in cells)
    out, current = [], 0
    for char, code in cells:
        if char != " " and code != current:
            out.append(f"\x1b[{code}m" if not current else f"\x1b[0m\x1b[{code}m")
            current = code
        out.append(char)
    return "".join(out) + ("\x1b[0m" if current else "")


def _number(x: Any) -> float:
    return x.timestamp() if isinstance(x, dt.datetime) else float(x)


def _span(low: float, high: float) -> tuple[float, float]:
    """A range that is never empty, so a flat curve sits in the middle instead of dividing by zero."""
    if high > low:
        return low, high
    pad = abs(low) * 0.1 or 0.5
    return low - pad, high + pad


def _scale(value: float, low: float, high: float, dots: int) -> int:
    return min(dots - 1, max(0, round((value - low) / (high - low) * (dots - 1))))


def _segment(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """The dots of a straight line from ``start`` to ``end`` (Bresenham), both ends included."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    step_x, step_y = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    dots = []
    while True:
        dots.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return dots
        twice = 2 * error
        if twice >= dy:
            error += dy
            x0 += step_x
        if twice <= dx:
            error += dx
            y0 += step_y


def _tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def _x_labels(low: float, high: float, columns: int, x_axis: str, lines: list[Series]) -> str:
    as_time = x_axis == "time"
    if as_time:
        def label(v: float) -> str:
            return dt.datetime.fromtimestamp(v, dt.UTC).strftime("%m-%d %H:%M")
    else:
        integral = all(isinstance(x, int) for line in lines for x in line.x)

        def label(v: float) -> str:
            return str(round(v)) if integral and math.isclose(v, round(v)) else _tick(v)

    left, mid, right = label(low), label((low + high) / 2), label(high)
    if len(left) + len(mid) + len(right) + 4 > columns:
        return left + right.rjust(max(columns - len(left), len(right) + 1))
    centre = (columns - len(mid)) // 2
    text = left + " " * max(1, centre - len(left)) + mid
    return text + right.rjust(max(columns - len(text), len(right) + 1))


def _legend(lines: list[Series], palette: dict[str, int], width: int, color: bool,
            symbols: dict[str, str] | None) -> str:
    entries = [(f"{symbols[line.trial_component] if symbols else '━'} {line.label}", palette[line.trial_component])
               for line in lines]
    rows: list[str] = []
    current, used = "", 0
    for text, code in entries:
        if used and used + 2 + len(text) > width:
            rows.append(current)
            current, used = "", 0
        shown = f"\x1b[{code}m{text}\x1b[0m" if color else text
        current += "  " + shown
        used += 2 + len(text)
    rows.append(current)
    return "\n".join(rows)
