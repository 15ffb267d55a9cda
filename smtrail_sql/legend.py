"""The PNG's legend, fitted inside the image for any number of trial components.

The legend goes below the plots, in as many columns as the width holds. When it would take too much of the
height it steps down, one rung at a time: a smaller font, then labels shortened with ``…`` (keeping the part
that tells them apart), then only the entries that fit followed by an "and N more" entry. Each rung is checked
on the drawn figure, not estimated: the legend lies inside the canvas, clear of the title and of every plot.

>>> shorten_labels(["resnet50-lr-0-1-aws-training-job", "resnet50-lr-0-2-aws-training-job"], 16)
['resnet…1…ing-job', 'resnet…2…ing-job']
"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

#: Font sizes tried in turn, then the label lengths (``None``: whole labels).
FONT_SIZES: Final = ("small", "x-small")
LABEL_LIMITS: Final = (None, 36, 22)
#: Most of the figure's height the legend may take: the plots keep the rest.
MAX_HEIGHT_SHARE: Final = 0.4
#: Pixels kept clear between the legend and the edges of the image.
EDGE: Final = 2
TITLE: Final = "trial component"
_WORD_MARKS: Final = "-_:/. "


def shorten_labels(labels: list[str], limit: int | None) -> list[str]:
    """Labels of at most ``limit`` characters, still told apart: what all of them share at the start and at
    the end is cut first (``…``), then the middle of what differs.

    >>> shorten_labels(["job-a", "a-very-long-trial-component-name"], 12)
    ['job-a', 'a-very…-name']
    """
    if limit is None or all(len(label) <= limit for label in labels):
        return list(labels)
    head, tail = _shared_ends(labels)
    shortest = min(len(label) for label in labels)
    tail = min(tail, shortest - head)
    out = [label if len(label) <= limit else _shorten(label, head, tail, limit) for label in labels]
    if len(set(out)) < len(set(labels)):  # two became one: cut only in the middle, numbered if need be
        out = [label if len(label) <= limit else _middle(label, limit) for label in labels]
        if len(set(out)) < len(set(labels)):
            out = [f"{i + 1}: {label}" for i, label in enumerate(out)]
    return out


def _shared_ends(labels: list[str]) -> tuple[int, int]:
    """Lengths of the start and the end every label shares, cut back to whole words (``-_:/.``), so that
    ``sweep-001-job`` and ``sweep-002-job`` differ by ``001`` rather than by ``1``."""
    if len(labels) < 2:
        return 0, 0
    start = os.path.commonprefix(labels)
    end = os.path.commonprefix([label[::-1] for label in labels])[::-1]
    head = max((start.rfind(mark) + 1 for mark in _WORD_MARKS), default=0)
    tail = max((len(end) - end.find(mark) for mark in _WORD_MARKS if mark in end), default=0)
    return head, tail


def _shorten(label: str, head: int, tail: int, limit: int) -> str:
    start, middle, end = label[:head], label[head:len(label) - tail], label[len(label) - tail:]
    if len(middle) > limit - 2:
        return _middle(label, limit)
    # what differs is kept whole; the shared start and end share the room left, a "…" marking each cut
    room = limit - len(middle)
    start_room = max(room // 2, room - len(end))
    if len(start) < start_room:
        start_room = len(start)
    end_room = room - start_room
    start_text = start if len(start) <= start_room else start[:start_room - 1] + "…"
    end_text = end if len(end) <= end_room else "…" + end[len(end) - (end_room - 1):]
    return start_text + middle + end_text


def _middle(label: str, limit: int) -> str:
    keep = limit - 1
    return label[: (keep + 1) // 2] + "…" + label[len(label) - keep // 2:]


def place_legend(figure: Figure, handles: list[Any], labels: list[str]) -> Legend | None:
    """Add the figure's legend below its plots, fitted as the module says; ``None`` when not even an "and N
    more" entry fits (a figure of a few hundred pixels)."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    budget = MAX_HEIGHT_SHARE * figure.bbox.height
    for font in FONT_SIZES:
        for limit in LABEL_LIMITS:
            shown = shorten_labels(labels, limit)
            columns = _columns_that_fit(figure, renderer, shown, font)
            rows = math.ceil(len(shown) / columns) if columns else 0
            # an estimate skips the rungs that cannot fit (each check lays the figure out: ~0.2 s)
            if (rows and _height(figure, renderer, rows, font) <= budget
                    and (legend := _try(figure, handles, shown, font, columns)) is not None):
                return legend
    # the smallest rung and still too tall: as many rows as fit, the last entry saying how many are left out
    font = FONT_SIZES[-1]
    shown = shorten_labels(labels, LABEL_LIMITS[-1])
    columns = _columns_that_fit(figure, renderer, [*shown, f"and {len(labels)} more"], font)
    rows = math.ceil(len(labels) / columns) - 1 if columns else 0
    while rows > 1 and _height(figure, renderer, rows, font) > budget:
        rows -= 1
    for tried in range(rows, 0, -1):
        kept = tried * columns - 1
        if kept < 1:  # a legend of "and N more" alone tells nothing
            break
        legend = _try(figure, [*handles[:kept], _blank()], [*shown[:kept], f"and {len(labels) - kept} more"],
                      font, columns)
        if legend is not None:
            return legend
    return None


def fit_title(figure: Figure, titles: list[str]) -> None:
    """Give the figure the first of ``titles`` (longest first) that fits its width, in the default size or
    a smaller one; the last, in the smaller size, when none does."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for size in ("large", "medium"):
        for title in titles:
            text = figure.suptitle(title, fontsize=size)
            if text.get_window_extent(renderer).width <= figure.bbox.width - 4 * EDGE - 8:
                return


def _height(figure: Figure, renderer: RendererBase, rows: int, font: str) -> float:
    """The legend's height in pixels, estimated: ``rows`` lines of text and the title, matplotlib's spacing
    (half a font size between rows, 0.4 inside the frame) and the layout's pads."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=font)
    size = prop.get_size_in_points() * figure.dpi / 72
    line = renderer.get_text_width_height_descent("Ag", prop, ismath=False)[1]
    return (rows + 1) * line + rows * 0.5 * size + 0.8 * size + 2 * EDGE


def _columns_that_fit(figure: Figure, renderer: RendererBase, labels: list[str], font: str) -> int:
    """How many legend columns the figure's width holds (0: not even one), from the labels' measured widths
    and the legend's own spacing (in font sizes: handle 2, pad 0.8, between columns 2, border 0.4 + 0.5)."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=font)
    size = prop.get_size_in_points() * figure.dpi / 72
    widest = max(renderer.get_text_width_height_descent(label, prop, ismath=False)[0] for label in labels)
    column = widest + 2.8 * size
    room = figure.bbox.width - 2 * EDGE - 2 * (0.9 * size + 4) - 2  # borders, the layout's pads, the frame
    if column > room:
        return 0
    return min(len(labels), int((room + 2 * size) // (column + 2 * size)))


def _try(figure: Figure, handles: list[Any], labels: list[str], font: str, columns: int) -> Legend | None:
    """The legend drawn with these settings if it fits, else ``None`` (and the figure as it was)."""
    legend = figure.legend(handles, labels, loc="outside lower center", fontsize=font, ncols=columns,
                           title=TITLE, title_fontsize=font)
    if fits(figure, legend):
        return legend
    legend.remove()
    return None


def fits(figure: Figure, legend: Legend) -> bool:
    """Whether ``legend``, as drawn, lies inside the canvas, takes no more than its share of the height and
    touches neither the title nor any plot (its ticks and labels included)."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "constrained_layout not applied": the checks below see it
        figure.draw_without_rendering()
    box = legend.get_window_extent(renderer)
    canvas = figure.bbox
    if (box.x0 < EDGE or box.y0 < EDGE or box.x1 > canvas.width - EDGE or box.y1 > canvas.height - EDGE
            or box.height > MAX_HEIGHT_SHARE * canvas.height):
        return False
    if any(box.overlaps(text.get_window_extent(renderer)) for text in figure.texts):  # the title among them
        return False
    return not any(box.overlaps(axes.get_tightbbox(renderer) or axes.bbox)
                   for axes in figure.axes if axes.get_visible())


def _blank() -> Any:
    """A legend handle that draws nothing, for the "and N more" entry."""
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none")
