"""Writing a :class:`QueryResult` as a terminal table, CSV, TSV, JSON, JSON lines, Markdown or Parquet.

The format follows the output file's extension unless one is given; stdout gets a table. Machine formats are
lossless (floats keep every digit, timestamps keep their microseconds); the table is for eyes (see
:mod:`smtrail_sql.termtable`: fitted to a terminal, numbers readable, rows capped). Timestamps are UTC,
ISO-8601: with ``Z`` in JSON (a JSON reader would otherwise take local time), without a zone in CSV, TSV and
Markdown, which is how spreadsheets, pandas and DuckDB read a plain timestamp. JSON has no NaN or infinity:
those values become ``null``. TSV is PostgreSQL's text format: nothing quoted, tabs and newlines escaped.

>>> import io
>>> from smtrail_sql.result import QueryResult
>>> r = QueryResult(["metric_name", "points"], ["VARCHAR", "BIGINT"], [("loss", 1200)])
>>> out = io.StringIO(); notes = write_result(r, "csv", stream=out); out.getvalue()
'metric_name,points\\r\\n"loss",1200\\r\\n'
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, TextIO

from smtrail_sql.errors import SettingError
from smtrail_sql.sqltypes import type_family
from smtrail_sql.termtable import DEFAULT_MAX_ROWS
from smtrail_sql.values import json_value, text_value

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



@dataclass(frozen=True)
class TableLayout:
    """How a table is laid out: whole (a file, a pipe: every row and column, no colour) or, for a terminal,
    fitted to ``width`` (None: every column, however wide), at most ``max_rows`` rows (0: all), in colour."""

    width: int | None = None
    max_rows: int = 0
    color: bool = False

    @classmethod
    def terminal(cls, width: int, *, wide: bool = False, max_rows: int | None = None) -> TableLayout:
        """A terminal's layout: ``width`` columns unless ``wide``, :data:`DEFAULT_MAX_ROWS` unless told.

        >>> TableLayout.terminal(80)
        TableLayout(width=80, max_rows=40, color=True)
        """
        rows = DEFAULT_MAX_ROWS if max_rows is None else max_rows
        return cls(width=None if wide else max(width, MIN_TABLE_WIDTH), max_rows=rows, color=True)


#: Narrowest width a table is fitted to (a terminal narrower than this gets lines that wrap).
MIN_TABLE_WIDTH: Final = 20


def terminal_width(stream: IO[str]) -> int:
    """The width of the terminal ``stream`` writes to: ``COLUMNS`` if set, else the terminal's own, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return 80


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
    wide: bool = False,
    max_rows: int | None = None,
    layout: TableLayout | None = None,
) -> list[str]:
    """Write ``result`` in ``fmt`` (or the format ``output``'s extension implies) to ``output`` or ``stream``;
    return the notes for the user (a table that left columns out to fit says which).

    ``stream`` defaults to stdout; it is ignored when ``output`` is given. A table written to a terminal is
    fitted to its width (every column if ``wide``) and shows at most ``max_rows`` rows (default 40, 0: all);
    written to a file or a pipe, it has every row and column and no colour. ``layout`` decides instead (say, for
    text bound for a pager).

    >>> import io
    >>> from smtrail_sql.result import QueryResult
    >>> out = io.StringIO()
    >>> write_result(QueryResult(["step"], ["BIGINT"], [(1,), (None,)]), "jsonl", stream=out)
    []
    >>> out.getvalue()
    '{"step": 1}\\n{"step": null}\\n'
    """
    from smtrail_sql.frames import with_day_as_date

    name = resolve_format(fmt, output)
    result = with_day_as_date(result)  # (the delivery day reads as a date everywhere: 2024-05-01)
    if name == "parquet":
        assert output is not None  # resolve_format refuses parquet without a file
        _write_parquet(result, output)
        return []
    if output is not None:
        # newline="" so the csv module's own line endings are written as they are
        with output.open("w", encoding="utf-8", newline="") as handle:
            return _write(name, result, handle, layout or TableLayout())
    target = stream if stream is not None else sys.stdout
    if layout is None:
        terminal = _is_terminal(target)
        layout = TableLayout.terminal(terminal_width(target), wide=wide, max_rows=max_rows) if terminal \
            else TableLayout()
    return _write(name, result, target, layout)


def _write(name: str, result: QueryResult, stream: IO[str], layout: TableLayout) -> list[str]:
    if name == "table":
        return _write_table(result, stream, layout)
    _WRITERS[name](result, stream)
    return []


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# -- text formats ------------------------------------------------------------------------------------------


def _write_csv(result: QueryResult, stream: IO[str]) -> None:
    _write_quoted(result, stream, ",", "\r\n")


def _write_tsv(result: QueryResult, stream: IO[str]) -> None:
    """PostgreSQL's ``COPY ... TO`` text format (MySQL's ``SELECT ... INTO OUTFILE`` too): nothing quoted; a
    backslash, tab, newline or carriage return inside a value written ``\\\\``, ``\\t``, ``\\n``, ``\\r``; NULL
    ``\\N``, so that it differs from an empty string. ``COPY FROM`` and ``LOAD DATA`` read it back as it was;
    DuckDB with ``nullstr='\\N'``, pandas with ``na_values=['\\N']``."""
    stream.write("\t".join(_tsv_cell(c) for c in result.columns) + "\n")
    for row in result.rows:
        stream.write("\t".join("\\N" if v is None else _tsv_cell(text_value(v)) for v in row) + "\n")


#: What TSV escapes, and how (PostgreSQL's text format).
_TSV_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _tsv_cell(text: str) -> str:
    return text.translate(_TSV_ESCAPES)


def _write_quoted(result: QueryResult, stream: IO[str], delimiter: str, newline: str) -> None:
    """CSV with a header; text quoted, numbers and timestamps bare, NULL an empty unquoted cell."""
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


def _write_json(result: QueryResult, stream: IO[str]) -> None:
    # One object per line inside the array: valid JSON that still diffs and greps line by line.
    stream.write("[")
    for index, row in enumerate(result.rows):
        stream.write(",\n" if index else "\n")
        stream.write(_json_object(result.columns, row))
    stream.write("\n]\n" if result.rows else "]\n")


def _write_jsonl(result: QueryResult, stream: IO[str]) -> None:
    for row in result.rows:
        stream.write(_json_object(result.columns, row) + "\n")


def _json_object(columns: Sequence[str], row: Sequence[Any]) -> str:
    obj = {column: json_value(value) for column, value in zip(columns, row, strict=True)}
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _write_markdown(result: QueryResult, stream: IO[str]) -> None:
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


def _write_table(result: QueryResult, stream: IO[str], layout: TableLayout) -> list[str]:
    """The table of :mod:`smtrail_sql.termtable`; the note saying which columns were left out, if any."""
    from smtrail_sql.termtable import render_table

    lines, dropped = render_table(result.columns, result.column_types, result.rows, width=layout.width,
                                  max_rows=layout.max_rows, color=layout.color)
    stream.write("\n".join(lines) + "\n")
    if not dropped:
        return []
    return [f"left out to fit {layout.width} columns (--wide shows them): {', '.join(dropped)}"]


# -- parquet -----------------------------------------------------------------------------------------------


def _write_parquet(result: QueryResult, output: Path) -> None:
    from smtrail_sql.process import arrow_without_pandas, import_pyarrow, one_query

    import_pyarrow()  # (in the console script, without the numpy and pandas nothing here uses)
    if one_query():
        arrow_without_pandas()
    import pyarrow.parquet as pq

    from smtrail_sql.frames import to_arrow

    pq.write_table(to_arrow(result, as_stored=True), output)  # (the SQL types, as DuckDB reads them back)


_WRITERS: Final[dict[str, Callable[[QueryResult, IO[str]], None]]] = {
    "csv": _write_csv,
    "tsv": _write_tsv,
    "json": _write_json,
    "jsonl": _write_jsonl,
    "markdown": _write_markdown,
}
