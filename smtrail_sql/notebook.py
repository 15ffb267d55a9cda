"""How a :class:`~smtrail_sql.result.QueryResult` shows itself: a one-line ``repr`` and a capped HTML table that
Jupyter draws (``_repr_html_``), with the run's stats underneath.

Every value is escaped: metric names, trial components and a user's own query text are data, not markup.

>>> from smtrail_sql.result import QueryResult
>>> short_repr(QueryResult(["metric_name", "points"], ["VARCHAR", "BIGINT"], [("loss", 3)]))
'<QueryResult 1 row x 2 columns: metric_name VARCHAR, points BIGINT>'
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any

from smtrail_sql.sqltypes import type_family
from smtrail_sql.values import text_value
from smtrail_sql.window import naive_utc

if TYPE_CHECKING:
    from smtrail_sql.result import QueryResult

#: Most rows drawn in a notebook: the first ones, then a line saying how many more (``result.to_pandas()``
#: or ``result.rows`` hold them all).
MAX_HTML_ROWS = 50
#: Columns named in the one-line repr before ``...``.
_REPR_COLUMNS = 8


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def stats_line(result: QueryResult) -> str:
    """What the run cost, in one line: the engine and wall time, then :meth:`QueryStats.describe`'s lines.

    >>> from smtrail_sql.result import QueryResult, QueryStats
    >>> stats_line(QueryResult(["a"], ["BIGINT"], [], QueryStats("local", 0.25, files_skipped=1,
    ...                                                          skipped_reasons={"digest": 1})))
    'local, 0.25s; skipped 1 files: 1 digest'
    """
    stats = result.stats
    if stats is None:
        return ""
    return "; ".join([f"{stats.engine}, {stats.elapsed_seconds:.2f}s", *stats.describe()])


def short_repr(result: QueryResult) -> str:
    """``<QueryResult 12 rows x 5 columns: step BIGINT, ...; local, 0.10s>``."""
    columns = [f"{name} {sql_type}" for name, sql_type in zip(result.columns, result.column_types, strict=True)]
    shown = ", ".join(columns[:_REPR_COLUMNS]) + (", ..." if len(columns) > _REPR_COLUMNS else "")
    stats = stats_line(result)
    return (f"<QueryResult {_plural(len(result.rows), 'row')} x {_plural(len(columns), 'column')}: {shown}"
            f"{'; ' + stats if stats else ''}>")


def _cell(value: Any) -> str:
    if value is None:
        return '<td style="color: gray">NULL</td>'
    if isinstance(value, dt.datetime):  # (UTC, as every engine returns times)
        text = naive_utc(value).isoformat(sep=" ") + "Z"
    else:
        text = text_value(value)
    return f"<td>{html.escape(text)}</td>"


def html_table(result: QueryResult, max_rows: int = MAX_HTML_ROWS) -> str:
    """The first ``max_rows`` rows as an HTML table (numbers right-aligned), the rows left out and the stats.

    >>> from smtrail_sql.result import QueryResult
    >>> print(html_table(QueryResult(["metric_name"], ["VARCHAR"], [("<b>loss</b>",), ("acc",)]), max_rows=1))
    <table>
    <thead><tr><th title="VARCHAR">metric_name</th></tr></thead>
    <tbody>
    <tr><td>&lt;b&gt;loss&lt;/b&gt;</td></tr>
    </tbody>
    </table>
    <p><small>2 rows x 1 column; first 1 shown</small></p>
    """
    numeric = [type_family(t) in {"int", "float", "decimal"} for t in result.column_types]
    head = "".join(f'<th title="{html.escape(sql_type)}">{html.escape(name)}</th>'
                   for name, sql_type in zip(result.columns, result.column_types, strict=True))
    body = []
    for row in result.rows[:max_rows]:
        cells = (_cell(v).replace("<td>", '<td style="text-align: right">', 1) if right else _cell(v)
                 for v, right in zip(row, numeric, strict=True))
        body.append(f"<tr>{''.join(cells)}</tr>")
    summary = f"{_plural(len(result.rows), 'row')} x {_plural(len(result.columns), 'column')}"
    if len(result.rows) > max_rows:
        summary += f"; first {max_rows:,} shown"
    stats = stats_line(result)
    if stats:
        summary += f"; {stats}"
    return "\n".join(["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>", *body, "</tbody>", "</table>",
                      f"<p><small>{html.escape(summary)}</small></p>"])
