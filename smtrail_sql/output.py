"""Writing a :class:`QueryResult` as a terminal table, CSV, TSV, JSON, JSON lines, Markdown or Parquet.

The format follows the output file's extension unless one is given; stdout gets a table. Machine formats are
lossless (floats keep every digit, timestamps keep their microseconds); the table is for eyes (aligned,
numbers grouped, long text folded). Timestamps are UTC, ISO-8601: with ``Z`` in JSON (a JSON reader would
otherwise take local time), without a zone in CSV, TSV and Markdown, which is how spreadsheets, pandas and
DuckDB read a plain timestamp. JSON has no NaN or infinity: those values become ``null``.

>>> import io
>>> from smtrail_sql.result import QueryResult
>>> r = QueryResult(["metric_name", "points"], ["VARCHAR", "BIGINT"], [("loss", 1200)])
>>> out = io.StringIO(); write_result(r, "csv", stream=out); out.getvalue()
'metric_name,points\\r\\n"loss",1200\\r\\n'
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, TextIO

from smtrail_sql.errors import SettingError
from smtrail_sql.sqltypes import TypeFamily, type_family
from smtrail_sql.values import json_value, text_value
from smtrail_sql.window import naive_utc

if TYPE_CHECKING:
    from smtrail_sql.result import QueryResult

FORMATS: Final = ("table", "csv", "tsv", "json", "jsonl", "markdown", "parquet")

#: Output-file extensions and the format each implies.
EXTENSIONS: Final[dict[str, str]] = {
    ".txt": "table",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".parquet": "parquet",
    ".pq": "parquet",
}

#: Width of the table when the stream is not a terminal (a pipe or a file) and ``COLUMNS`` is unset:
#: wide enough that ARNs and user agents fold rarely, narrow enough to read in a pager.
PIPE_TABLE_WIDTH: Final = 160


def check_output_path(output: Path) -> None:
    """Refuse, before any work, an output file that could not be written: its folder must exist."""
    folder = output.expanduser().parent
    if not folder.is_dir():
        raise SettingError("output", str(output), f"a file in an existing folder ({folder} does not exist)")
    if output.is_dir():
        raise SettingError("output", str(output), "a file name, not a folder")


def resolve_format(fmt: str | None, output: Path | None) -> str:
    """The format to write: ``fmt`` if given, else the one ``output``'s extension implies, else ``table``.

    >>> resolve_format(None, Path("runs.parquet")), resolve_format("JSON", Path("x.txt"))
    ('parquet', 'json')
    >>> resolve_format(None, None)
    'table'
    """
    if fmt is not None:
        name = fmt.strip().lower()
        if name == "md":
            name = "markdown"
        if name not in FORMATS:
            raise SettingError("format", fmt, f"one of {', '.join(FORMATS)}")
    elif output is not None:
        suffix = output.suffix.lower()
        if suffix not in EXTENSIONS:
            valid = ", ".join(sorted(EXTENSIONS))
            raise SettingError("output extension", suffix or output.name,
                               f"one of {valid}, or give the format explicitly (--format)")
        name = EXTENSIONS[suffix]
    else:
        name = "table"
    if name == "parquet" and output is None:
        raise SettingError("format", "parquet", "parquet is binary: write it to a file (--output X.parquet)")
    if output is not None:
        check_output_path(output)
    return name


def write_result(
    result: QueryResult,
    fmt: str | None = None,
    output: Path | None = None,
    *,
    stream: TextIO | None = None,
) -> None:
    """Write ``result`` in ``fmt`` (or the format ``output``'s extension implies) to ``output`` or ``stream``.

    ``stream`` defaults to stdout; it is ignored when ``output`` is given. A table written to a file or a pipe
    has no colour.

    >>> import io
    >>> from smtrail_sql.result import QueryResult
    >>> out = io.StringIO()
    >>> write_result(QueryResult(["step"], ["BIGINT"], [(1,), (None,)]), "jsonl", stream=out)
    >>> out.getvalue()
    '{"step": 1}\\n{"step": null}\\n'
    """
    name = resolve_format(fmt, output)
    if name == "parquet":
        assert output is not None  # resolve_format refuses parquet without a file
        _write_parquet(result, output)
        return
    if output is not None:
        # newline="" so the csv module's own line endings are written as they are
        with output.open("w", encoding="utf-8", newline="") as handle:
            _WRITERS[name](result, handle, False)
        return
    target = stream if stream is not None else sys.stdout
    _WRITERS[name](result, target, _is_terminal(target))


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# -- text formats ------------------------------------------------------------------------------------------


def _write_csv(result: QueryResult, stream: IO[str], _terminal: bool) -> None:
    _write_quoted(result, stream, ",", "\r\n")


def _write_tsv(result: QueryResult, stream: IO[str], _terminal: bool) -> None:
    _write_quoted(result, stream, "\t", "\n")


def _write_quoted(result: QueryResult, stream: IO[str], delimiter: str, newline: str) -> None:
    """CSV/TSV with a header; text quoted, numbers and timestamps bare, NULL an empty unquoted cell."""
    families = [type_family(t) for t in result.column_types]
    stream.write(delimiter.join(_header_cell(c, delimiter) for c in result.columns) + newline)
    for row in result.rows:
        cells = []
        for value, family in zip(row, families, strict=True):
            text = text_value(value)
            # quoting every text cell is what lets a reader tell NULL (empty, bare) from an empty string ("")
            cells.append(_quote(text) if value is not None and family == "string" else text)
        stream.write(delimiter.join(cells) + newline)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _header_cell(name: str, delimiter: str) -> str:
    return _quote(name) if any(c in name for c in (delimiter, '"', "\n", "\r")) else name


def _write_json(result: QueryResult, stream: IO[str], _terminal: bool) -> None:
    # One object per line inside the array: valid JSON that still diffs and greps line by line.
    stream.write("[")
    for index, row in enumerate(result.rows):
        stream.write(",\n" if index else "\n")
        stream.write(_json_object(result.columns, row))
    stream.write("\n]\n" if result.rows else "]\n")


def _write_jsonl(result: QueryResult, stream: IO[str], _terminal: bool) -> None:
    for row in result.rows:
        stream.write(_json_object(result.columns, row) + "\n")


def _json_object(columns: Sequence[str], row: Sequence[Any]) -> str:
    obj = {column: json_value(value) for column, value in zip(columns, row, strict=True)}
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _write_markdown(result: QueryResult, stream: IO[str], _terminal: bool) -> None:
    """A GitHub table: numbers right-aligned, pipes escaped, newlines as ``<br>``."""
    families = [type_family(t) for t in result.column_types]
    stream.write("| " + " | ".join(_markdown_cell(c) for c in result.columns) + " |\n")
    rule = ["---:" if f in {"int", "float", "decimal"} else "---" for f in families]
    stream.write("| " + " | ".join(rule) + " |\n")
    for row in result.rows:
        stream.write("| " + " | ".join(_markdown_cell(text_value(v)) for v in row) + " |\n")


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")


# -- the terminal table ------------------------------------------------------------------------------------


def _write_table(result: QueryResult, stream: IO[str], terminal: bool) -> None:
    """A rich table: numbers right-aligned and grouped, one float precision per column, long text folded."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    families = [type_family(t) for t in result.column_types]
    table = Table(show_edge=True, header_style="bold", caption=_caption(len(result.rows)))
    for column, family in zip(result.columns, families, strict=True):
        numeric = family in {"int", "float", "decimal"}
        table.add_column(column, justify="right" if numeric else "left",
                         overflow="fold", no_wrap=numeric)
    formatters = [
        _column_formatter(family, [row[i] for row in result.rows]) for i, family in enumerate(families)
    ]
    for row in result.rows:
        table.add_row(*(
            Text("NULL", style="dim") if value is None else Text(fmt(value))
            for fmt, value in zip(formatters, row, strict=True)
        ))
    width = None if terminal else int(os.environ.get("COLUMNS", PIPE_TABLE_WIDTH))
    console = Console(file=stream, force_terminal=terminal, no_color=not terminal, width=width,
                      highlight=False, emoji=False, markup=False)
    console.print(table)


def _caption(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def _column_formatter(family: TypeFamily, values: list[Any]) -> Callable[[Any], str]:
    if family == "int":
        return lambda v: f"{v:,}" if isinstance(v, int) else str(v)
    if family in {"float", "decimal"}:
        return _float_formatter([float(v) for v in values if v is not None])
    if family == "timestamp":
        return _timestamp_text
    if family == "bool":
        return lambda v: "true" if v else "false"
    return text_value


def _float_formatter(values: list[float]) -> Callable[[Any], str]:
    """One precision for the whole column, so decimal points line up.

    About six significant digits for the largest value; scientific notation when the column holds values too
    small or too large to show that way (learning rates of 1e-5, gradient norms of 1e13).
    """
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    smallest = min((v for v in finite if v), default=0.0)
    if largest >= 1e12 or (smallest and smallest < 1e-4):
        pattern = "{:.4e}"
    else:
        int_digits = len(str(int(largest))) if largest >= 1 else 0
        pattern = f"{{:,.{max(0, 6 - int_digits)}f}}"

    def render(value: Any) -> str:
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return pattern.format(number)

    return render


def _timestamp_text(value: Any) -> str:
    """ISO-8601 with a space, milliseconds only when present (metric timestamps are at most ms-precise)."""
    if not isinstance(value, dt.datetime):
        return str(value)
    moment = naive_utc(value)
    if not moment.microsecond:
        return moment.isoformat(sep=" ")
    precision = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.isoformat(sep=" ", timespec=precision)


# -- parquet -----------------------------------------------------------------------------------------------


def _write_parquet(result: QueryResult, output: Path) -> None:
    import pyarrow.parquet as pq

    from smtrail_sql.frames import to_arrow

    pq.write_table(to_arrow(result, as_stored=True), output)  # (the SQL types, as DuckDB reads them back)


_WRITERS: Final[dict[str, Callable[[QueryResult, IO[str], bool], None]]] = {
    "table": _write_table,
    "csv": _write_csv,
    "tsv": _write_tsv,
    "json": _write_json,
    "jsonl": _write_jsonl,
    "markdown": _write_markdown,
}
