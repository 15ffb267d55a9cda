"""Every output format written and read back: same rows, and the same types where the format carries types."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.errors import SettingError
from smtrail_sql.output import EXTENSIONS, FORMATS, resolve_format, write_result
from smtrail_sql.result import QueryResult

COLUMNS = ["trial_component", "metric_name", "step", "value", "metric_time"]
TYPES = ["VARCHAR", "VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP"]
ROWS: list[tuple[Any, ...]] = [
    ("resnet-lr-0-1", "train:loss", 0, 2.302585092994046, dt.datetime(2024, 3, 1, 12, 0, 0)),
    ("resnet-lr-0-1", "train:loss", 1, 1.0000000000000002, dt.datetime(2024, 3, 1, 12, 0, 1, 250000)),
    ("resnet-lr-0-1", "val|acc, \"top-1\"", None, -0.5, dt.datetime(2024, 3, 1, 12, 0, 2, 123456)),
    ("", "multi\nline", 9_007_199_254_740_993, 1e-9, dt.datetime(1999, 12, 31, 23, 59, 59)),
    ("resnet-lr-0-01", "lr", 12_345, 1.5e300, None),
    (None, "grad_norm", -3, None, dt.datetime(2024, 3, 1)),
]


@pytest.fixture
def result() -> QueryResult:
    return QueryResult(columns=list(COLUMNS), column_types=list(TYPES), rows=list(ROWS))


def _from_text(value: str, sql_type: str) -> Any:
    """What a typed reader would make of a lossless text cell; the empty cell is NULL."""
    if value == "":
        return None
    if sql_type == "BIGINT":
        return int(value)
    if sql_type == "DOUBLE":
        return float(value)
    if sql_type == "TIMESTAMP":
        return dt.datetime.fromisoformat(value.removesuffix("Z"))
    return value


# -- resolve_format ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "output", "expected"),
    [
        (None, None, "table"),
        (None, Path("out.csv"), "csv"),
        (None, Path("OUT.TSV"), "tsv"),
        (None, Path("rows.json"), "json"),
        (None, Path("rows.ndjson"), "jsonl"),
        (None, Path("rows.md"), "markdown"),
        (None, Path("points.parquet"), "parquet"),
        ("jsonl", Path("points.json"), "jsonl"),  # an explicit format wins over the extension
        ("CSV", None, "csv"),
        ("md", None, "markdown"),
    ],
)
def test_resolve_format(fmt: str | None, output: Path | None, expected: str) -> None:
    assert resolve_format(fmt, output) == expected


def test_every_extension_names_a_known_format() -> None:
    assert set(EXTENSIONS.values()) <= set(FORMATS)


def test_unknown_format_lists_the_valid_ones() -> None:
    with pytest.raises(SettingError) as caught:
        resolve_format("xlsx", None)
    assert caught.value.setting == "format"
    for name in FORMATS:
        assert name in str(caught.value)


def test_unknown_extension_says_how_to_choose() -> None:
    with pytest.raises(SettingError, match=r"\.xlsx.*\.csv.*--format"):
        resolve_format(None, Path("report.xlsx"))


def test_parquet_needs_a_file() -> None:
    with pytest.raises(SettingError, match="--output"):
        resolve_format("parquet", None)


# -- round trips ---------------------------------------------------------------------------------------------


def test_csv_round_trip(result: QueryResult, tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    write_result(result, output=path)
    with path.open(encoding="utf-8", newline="") as handle:
        header, *cells = list(csv.reader(handle))
    assert header == COLUMNS
    back = [tuple(_from_text(v, t) for v, t in zip(row, TYPES, strict=True)) for row in cells]
    # the csv module reads a quoted "" and a bare empty cell alike; DuckDB tells them apart (test below)
    assert back == [tuple(None if v == "" else v for v in r) for r in ROWS]


def test_csv_reads_back_typed_by_duckdb(result: QueryResult, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "points.csv"
    write_result(result, output=path)
    relation = duckdb.read_csv(str(path), header=True, allow_quoted_nulls=False)
    assert [str(t) for t in relation.types] == TYPES
    assert relation.fetchall() == ROWS


def _tsv_unescape(cell: str) -> str | None:
    if cell == "\\N":
        return None
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), cell)


def test_tsv_is_postgresql_text_format_and_loses_nothing(tmp_path: Path) -> None:
    """Nothing quoted; tab, newline, CR and backslash escaped; NULL ``\\N``, apart from the empty string."""
    rows = [*ROWS, ("tab\there", "back\\slash \"quoted\"", 1, 0.5, None), ("cr\r\nlf", "", 2, None, None)]
    path = tmp_path / "points.tsv"
    write_result(QueryResult(COLUMNS, TYPES, rows), output=path)
    text = path.read_text(encoding="utf-8")
    assert '\tval|acc, "top-1"\t' in text and 'resnet-lr-0-1\t' in text  # nothing quoted, quotes as they are
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2  # one line a row: no newline left inside a value
    assert lines[4].startswith("\tmulti\\nline\t")  # the empty trial component, then the escaped newline
    assert lines[6].startswith("\\N\t")  # the NULL one
    header, *body = (line.split("\t") for line in lines[:-1])
    assert header == COLUMNS
    back = [tuple(_from_text(v, t) if v else v for v, t in zip(map(_tsv_unescape, r), TYPES, strict=True))
            for r in body]
    assert back == rows


def test_tsv_reads_back_typed_by_duckdb(result: QueryResult, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    plain = [r for r in ROWS if "\n" not in (r[1] or "")]  # DuckDB reads escapes as they are
    path = tmp_path / "points.tsv"
    write_result(QueryResult(COLUMNS, TYPES, plain), output=path)
    relation = duckdb.read_csv(str(path), header=True, sep="\t", quotechar="", escapechar="", na_values="\\N")
    assert [str(t) for t in relation.types] == TYPES
    assert relation.fetchall() == plain


def test_csv_quotes_text_so_null_and_empty_differ(result: QueryResult) -> None:
    out = io.StringIO()
    write_result(result, "csv", stream=out)
    lines = out.getvalue().split("\r\n")
    assert lines[4].startswith('"",')  # the empty trial component
    assert lines[6].startswith(",")  # the NULL one


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_round_trip(result: QueryResult, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"points.{fmt}"
    write_result(result, output=path)
    text = path.read_text(encoding="utf-8")
    objects = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert all(list(o) == COLUMNS for o in objects)
    back = [tuple(_from_json(o[c], t) for c, t in zip(COLUMNS, TYPES, strict=True)) for o in objects]
    assert back == ROWS
    # JSON carries numbers as numbers: the 64-bit step survives exactly
    assert isinstance(objects[3]["step"], int) and objects[3]["step"] == 9_007_199_254_740_993
    assert objects[0]["metric_time"] == "2024-03-01T12:00:00Z"


def _from_json(value: Any, sql_type: str) -> Any:
    if value is not None and sql_type == "TIMESTAMP":
        return dt.datetime.fromisoformat(value.removesuffix("Z"))
    return value


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_has_no_nan(fmt: str) -> None:
    nasty = QueryResult(["value"], ["DOUBLE"], [(math.nan,), (math.inf,), (-math.inf,), (0.5,)])
    out = io.StringIO()
    write_result(nasty, fmt, stream=out)
    text = out.getvalue()
    assert "NaN" not in text and "Infinity" not in text
    objects = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert [o["value"] for o in objects] == [None, None, None, 0.5]


def test_empty_json_is_an_empty_list() -> None:
    out = io.StringIO()
    write_result(QueryResult(["a"], ["BIGINT"], []), "json", stream=out)
    assert json.loads(out.getvalue()) == []


def test_markdown_round_trip(result: QueryResult) -> None:
    out = io.StringIO()
    write_result(result, "markdown", stream=out)
    header, rule, *body = out.getvalue().splitlines()
    assert _markdown_cells(header) == COLUMNS
    assert _markdown_cells(rule) == ["---", "---", "---:", "---:", "---"]  # numbers right-aligned
    back = [
        tuple(_from_text(v.replace("<br>", "\n"), t)
              for v, t in zip(_markdown_cells(line), TYPES, strict=True))
        for line in body
    ]
    expected = [tuple(v if v != "" else None for v in r) for r in ROWS]
    assert back == expected


def _markdown_cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |")
    cells = re.split(r"(?<!\\) \| ", line[2:-2])
    return [c.replace("\\|", "|").replace("\\\\", "\\") for c in cells]


def test_parquet_round_trip_keeps_types(result: QueryResult, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "points.parquet"
    write_result(result, output=path)
    table = pq.read_table(path)
    assert [str(t) for t in table.schema.types] == ["string", "string", "int64", "double", "timestamp[us]"]
    assert table.column_names == COLUMNS
    assert [tuple(r.values()) for r in table.to_pylist()] == ROWS


def test_parquet_reads_back_in_duckdb_with_sql_types(result: QueryResult, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "points.parquet"
    write_result(result, "parquet", path)
    relation = duckdb.read_parquet(str(path))
    assert [str(t) for t in relation.types] == TYPES
    assert relation.fetchall() == ROWS


# -- the table -----------------------------------------------------------------------------------------------


def _table_text(result: QueryResult, stream: io.StringIO | None = None) -> str:
    out = stream or io.StringIO()
    write_result(result, stream=out)
    return out.getvalue()


def _table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("│┃").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def test_table_round_trip_on_a_pipe(result: QueryResult) -> None:
    short = QueryResult(COLUMNS, TYPES, [r for r in ROWS if "\n" not in r[1]])
    text = _table_text(short)
    assert "\x1b[" not in text  # no colour when the stream is not a terminal
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == COLUMNS
    rows = _table_rows(text)
    assert [r[0] for r in rows] == ["resnet-lr-0-1"] * 3 + ["resnet-lr-0-01", "NULL"]
    assert [r[2] for r in rows] == ["0", "1", "NULL", "12,345", "-3"]
    assert [r[4] for r in rows] == ["2024-03-01 12:00:00", "2024-03-01 12:00:01.250",
                                    "2024-03-01 12:00:02.123456", "NULL", "2024-03-01 00:00:00"]
    assert "5 rows" in text


def test_table_right_aligns_numbers_and_lines_up_decimals() -> None:
    text = _table_text(QueryResult(["value"], ["DOUBLE"], [(0.5,), (123.25,), (math.nan,)]))
    cells = [line.strip("│") for line in text.splitlines() if line.startswith("│")]
    assert [c.strip() for c in cells] == ["0.5", "123.25", "NaN"]
    assert len({len(c) - len(c.rstrip()) for c in cells}) == 1  # same right padding: right-aligned


def test_table_writes_each_float_on_its_own() -> None:
    """A tiny value in scientific notation leaves its neighbours alone; none reads as zero."""
    text = _table_text(QueryResult(["lr"], ["DOUBLE"], [(1e-5,), (0.1,), (0.000358486,), (106.4,)]))
    assert [r[0] for r in _table_rows(text)] == ["1e-05", "0.1", "0.000358486", "106.4"]


def test_a_table_on_a_pipe_keeps_long_text_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # a file or a pipe gets every column whole, whatever the terminal
    arn = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/" + "x" * 80
    text = _table_text(QueryResult(["trial_component_arn"], ["VARCHAR"], [(arn,)] * 50))
    assert [r[0] for r in _table_rows(text)] == [arn] * 50 and "50 rows" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_on_a_terminal_has_style(result: QueryResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = _table_text(result, _Terminal())
    assert "\x1b[" in text
    assert "6 rows" in text
    assert "multi↵line" in text  # a newline never breaks a terminal's row


def test_a_table_on_a_terminal_fits_its_width_and_caps_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/" + "x" * 80
    many = QueryResult(["trial_component", "step"], ["VARCHAR", "BIGINT"], [(arn, i) for i in range(100)])
    out = _Terminal()
    assert write_result(many, stream=out) == []
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()
    assert max(len(line) for line in lines) == 60
    rows = _table_rows("\n".join(lines))
    assert [r[1] for r in rows] == [*map(str, range(20)), "…", *map(str, range(80, 100))]
    assert rows[0][0].endswith("…") and arn.startswith(rows[0][0][:-1])
    assert "100 rows (40 shown" in lines[-1]
    wide = _Terminal()
    write_result(many, stream=wide, wide=True, max_rows=0)
    assert arn in wide.getvalue() and "100 rows\x1b" in wide.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "markdown", "table"])
def test_the_delivery_day_reads_as_a_date_in_every_format(fmt: str) -> None:
    """The views keep ``day`` as the partition's text (``2024/05/01``); what a user reads is a date."""
    import io

    out = io.StringIO()
    write_result(QueryResult(["day", "calls"], ["VARCHAR", "BIGINT"], [("2024/05/01", 3), (None, 1)]), fmt,
                 stream=out)
    assert "2024-05-01" in out.getvalue() and "2024/05/01" not in out.getvalue()


def test_the_delivery_day_is_a_parquet_date(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "days.parquet"
    write_result(QueryResult(["day"], ["VARCHAR"], [("2024/05/01",)]), output=target)
    table = pq.read_table(target)
    assert str(table.schema.field("day").type) == "date32[day]" and table.column("day").to_pylist()[0].day == 1


def test_a_day_column_that_is_not_partition_text_is_left_alone() -> None:
    import io

    out = io.StringIO()
    write_result(QueryResult(["day"], ["VARCHAR"], [("monday",)]), "csv", stream=out)
    assert "monday" in out.getvalue()
