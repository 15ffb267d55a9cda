"""Export a window of both views, one copy of each event, to a DuckDB file, an SQLite file or Parquet.

The rows are those queries see: each relation is read by an ad-hoc query (:mod:`smtrail_sql.adhoc`) that the
Toolkit builds like any other (the window, the deduplication of copies, the store or the trail) and runs on its
engine; the rows come back typed as the views are (:mod:`smtrail_sql.schema`) and are written here, on this
machine, whichever engine ran the query (on Athena the results travel through its output location first).

- **DuckDB** (``.duckdb``, ``.ddb``): one table per view, with the views' types (``TIMESTAMP`` naive UTC, as the
  engines give them). ``duckdb FILE`` opens it.
- **SQLite** (``.db``, ``.sqlite``, ``.sqlite3``): one table per view; timestamps are ISO-8601 text in UTC with
  milliseconds (``2024-05-01 12:00:00.000``: what SQLite's date functions read, and text order is time order),
  integers ``INTEGER``, doubles ``REAL``. ``datasette FILE`` opens it.
- **Parquet** (a folder: an existing one, a name without an extension, or one ending in ``.parquet``):
  ``sagemaker_metrics.parquet`` and ``sagemaker_metric_calls.parquet`` in it, typed as the views.

Nothing is overwritten without ``force``; a file is written under a temporary name in its folder and renamed
into place once whole, so a run stopped half-way leaves no half-written export.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from smtrail_sql.adhoc import RELATIONS, adhoc_template
from smtrail_sql.errors import SettingError
from smtrail_sql.result import QueryResult, QueryStats
from smtrail_sql.schema import METRIC_POINTS_RELATION
from smtrail_sql.sqltypes import type_family

if TYPE_CHECKING:
    from smtrail_sql.render import RenderedQuery
    from smtrail_sql.result import ArrowRows
    from smtrail_sql.templates import Template

#: The formats an export is written in.
EXPORT_FORMATS: Final = ("duckdb", "sqlite", "parquet")
#: File extensions and the format each implies (a folder is Parquet).
EXPORT_EXTENSIONS: Final[dict[str, str]] = {
    ".duckdb": "duckdb",
    ".ddb": "duckdb",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".parquet": "parquet",
}
#: The order rows are written in: a stable order, whatever the engine.
_ORDER: Final[dict[str, tuple[str, ...]]] = {
    METRIC_POINTS_RELATION: ("event_time", "event_id", "point_index"),
}
_DEFAULT_ORDER: Final = ("event_time", "event_id")
#: SQLite's column type for each family of the views' types.
_SQLITE_TYPES: Final[dict[str, str]] = {"int": "INTEGER", "float": "REAL", "decimal": "REAL", "bool": "INTEGER"}


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: where, in which format, how many rows of each view, and what each query cost."""

    path: Path
    format: str
    rows: dict[str, int]
    files: list[Path]
    stats: list[QueryStats] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the user.

        >>> ExportSummary(Path("m.duckdb"), "duckdb", {"sagemaker_metrics": 1200, "sagemaker_metric_calls": 4},
        ...               [Path("m.duckdb")]).describe()
        'exported 1,200 rows of sagemaker_metrics and 4 rows of sagemaker_metric_calls to m.duckdb (duckdb)'
        """
        counts = " and ".join(f"{count:,} rows of {relation}" for relation, count in self.rows.items())
        return f"exported {counts} to {self.path} ({self.format})"


def export_format(to: Path | str, fmt: str | None = None) -> str:
    """The format of an export to ``to``: ``fmt`` if given, else from the extension; a folder (an existing one,
    or a name without an extension) is Parquet.

    >>> export_format("metrics.sqlite"), export_format("out"), export_format("m.db", "duckdb")
    ('sqlite', 'parquet', 'duckdb')
    """
    if fmt is not None:
        name = fmt.strip().lower()
        if name not in EXPORT_FORMATS:
            raise SettingError("--format", fmt, f"one of {', '.join(EXPORT_FORMATS)}")
        return name
    text = str(to)
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir() or not path.suffix:
        return "parquet"
    suffix = path.suffix.lower()
    if suffix not in EXPORT_EXTENSIONS:
        raise SettingError("--to", text, f"a file ending in {', '.join(EXPORT_EXTENSIONS)} or a folder (Parquet), "
                           "or give --format duckdb|sqlite|parquet")
    return EXPORT_EXTENSIONS[suffix]


def export_files(to: Path | str, fmt: str) -> list[Path]:
    """The files an export to ``to`` in ``fmt`` writes: the file itself, or the folder's two Parquet files.

    >>> [p.name for p in export_files("out", "parquet")]
    ['sagemaker_metrics.parquet', 'sagemaker_metric_calls.parquet']
    """
    path = Path(to).expanduser()
    if fmt == "parquet":
        return [path / f"{relation}.parquet" for relation in RELATIONS]
    return [path]


def check_target(to: Path | str, fmt: str, *, force: bool = False) -> list[Path]:
    """Refuse, before any query runs, a target that cannot be written or would be overwritten without
    ``force``; returns the files the export will write."""
    path = Path(to).expanduser()
    files = export_files(path, fmt)
    if fmt == "parquet":
        if path.exists() and not path.is_dir():
            raise SettingError("--to", str(to), "a folder for Parquet (it is a file)")
        if not path.parent.is_dir() and not path.is_dir():
            raise SettingError("--to", str(to), f"a folder inside an existing one ({path.parent} does not exist)")
    else:
        if path.is_dir():
            raise SettingError("--to", str(to), f"a file name for {fmt}, not a folder")
        if not path.parent.is_dir():
            raise SettingError("--to", str(to), f"a file in an existing folder ({path.parent} does not exist)")
    existing = [f for f in files if f.exists() or f.is_symlink()]
    if existing and not force:
        raise SettingError("--to", str(to), f"{existing[0]} exists; --force replaces it")
    return files


def export_relations(
    to: Path | str,
    *,
    fmt: str | None = None,
    force: bool = False,
    build: Callable[[Template], RenderedQuery],
    execute: Callable[[RenderedQuery], QueryResult],
    batches: Callable[[RenderedQuery], ArrowRows] | None = None,
) -> ExportSummary:
    """Read both views with ``build`` and ``execute`` (a Toolkit's: its window, source and engine) and write
    them to ``to`` (see the module's docstring for the formats).

    ``batches``, when the engine streams (the local one: :meth:`~smtrail_sql.engines.local.LocalEngine.
    execute_batches`), is used instead of ``execute``: each view goes from DuckDB to the file in Arrow record
    batches, never held whole, so an export of a bucket of any size holds about one batch.
    The target is checked first (:func:`check_target`): nothing runs when it would be refused.
    """
    fmt = export_format(to, fmt)
    files = check_target(to, fmt, force=force)
    rows: dict[str, int] = {}
    stats: list[QueryStats] = []

    def relations() -> Iterator[tuple[str, Any, Iterator[Any]]]:
        for relation, columns in RELATIONS.items():
            query = build(adhoc_template(export_sql(relation)))
            schema = view_schema(columns)
            if batches is not None:
                yield relation, schema, _counted(relation, batches(query), schema, rows, stats)
                continue
            result = execute(query)
            table = typed_table(result, columns)
            rows[relation] = table.num_rows
            if result.stats is not None:
                stats.append(result.stats)
            yield relation, schema, iter(table.to_batches())

    _WRITERS[fmt](Path(to).expanduser(), relations())
    return ExportSummary(Path(to).expanduser(), fmt, rows, files, stats)


def _counted(relation: str, arrow: ArrowRows, schema: Any, rows: dict[str, int], stats: list[QueryStats]
             ) -> Iterator[Any]:
    """``arrow``'s batches typed as ``schema``; once they are all read, their rows counted in ``rows`` and the
    query's cost added to ``stats``."""
    _check_columns(arrow.schema.names, schema.names)
    count = 0
    for batch in arrow.batches:
        count += batch.num_rows
        yield batch.rename_columns(schema.names).cast(schema)
    rows[relation] = count
    stats.append(arrow.stats)


def view_schema(columns: Mapping[str, str]) -> Any:
    """The Arrow schema a view is exported with: its columns, each typed as the engines return it."""
    import pyarrow as pa

    from smtrail_sql.frames import arrow_type

    return pa.schema([(name, arrow_type(sql_type)) for name, sql_type in columns.items()])


def _check_columns(read: list[str], expected: list[str]) -> None:
    names = [c.lower() for c in read]
    if names != list(expected):  # (the export's own query: a mismatch is a bug, not the user's doing)
        raise AssertionError(f"export read columns {names}, expected {list(expected)}")


def export_sql(relation: str) -> str:
    """The query that reads one view whole, in a stable order (built by sqlglot from the schema's names).

    >>> export_sql("sagemaker_metric_calls").split(" FROM ")[1]
    'sagemaker_metric_calls ORDER BY event_time NULLS FIRST, event_id NULLS FIRST'
    """
    from sqlglot import exp

    order = _ORDER.get(relation, _DEFAULT_ORDER)
    query = exp.select(*RELATIONS[relation]).from_(relation).order_by(*order)
    return query.sql(dialect="athena")


def typed_table(result: QueryResult, columns: Mapping[str, str]) -> Any:
    """The rows as an Arrow table typed as the view's columns, whatever type names the engine reported."""
    from smtrail_sql.frames import to_arrow

    _check_columns(result.columns, list(columns))
    names = list(columns)
    return to_arrow(replace(result, columns=names, column_types=list(columns.values())), as_stored=True)


# -- writers -----------------------------------------------------------------------------------------------


def _temporary(path: Path) -> Path:
    """A name beside ``path`` to write to, renamed over it once whole."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


#: What a writer gets: each view's name, its Arrow schema and its record batches (read once, in this order).
Relations = Iterable[tuple[str, Any, Iterator[Any]]]


def _write_parquet(folder: Path, relations: Relations) -> None:
    """Each view to a temporary file, renamed in place only once both are whole; a folder made here is removed
    again if the export fails (a query's error, Ctrl-C)."""
    import pyarrow.parquet as pq

    made = not folder.exists()
    folder.mkdir(exist_ok=True)
    written: list[tuple[Path, Path]] = []
    try:
        for relation, schema, batches in relations:
            target = folder / f"{relation}.parquet"
            written.append((_temporary(target), target))
            with pq.ParquetWriter(written[-1][0], schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
        for temporary, target in written:
            os.replace(temporary, target)
    finally:
        for temporary, _ in written:
            temporary.unlink(missing_ok=True)
        if made:
            with contextlib.suppress(OSError):  # (only when empty: the export failed)
                folder.rmdir()


def _write_duckdb(path: Path, relations: Relations) -> None:
    import duckdb
    import pyarrow as pa

    temporary = _temporary(path)
    try:
        con = duckdb.connect(str(temporary))
        try:
            for relation, schema, batches in relations:
                con.register("_smtrail_export", pa.RecordBatchReader.from_batches(schema, batches))
                con.execute(f'CREATE TABLE "{relation}" AS SELECT * FROM _smtrail_export')  # (names: constants)
                con.unregister("_smtrail_export")
        finally:
            con.close()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)


def _write_sqlite(path: Path, relations: Relations) -> None:
    import sqlite3

    temporary = _temporary(path)
    try:
        con = sqlite3.connect(temporary)
        try:
            for relation, schema, batches in relations:
                families = [type_family(RELATIONS[relation][name]) for name in schema.names]
                declared = ", ".join(f'"{name}" {_SQLITE_TYPES.get(family, "TEXT")}'
                                     for name, family in zip(schema.names, families, strict=True))
                con.execute(f'CREATE TABLE "{relation}" ({declared})')  # (names and types: the schema's)
                marks = ", ".join("?" * len(families))
                for batch in batches:
                    columns = [_sqlite_values(batch.column(i).to_pylist(), family)
                               for i, family in enumerate(families)]
                    con.executemany(f'INSERT INTO "{relation}" VALUES ({marks})', zip(*columns, strict=True))
            con.commit()
        finally:
            con.close()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _sqlite_values(values: list[Any], family: str) -> list[Any]:
    """A column's values as SQLite stores them: timestamps as ISO text (UTC, milliseconds).

    >>> import datetime as dt
    >>> _sqlite_values([dt.datetime(2024, 5, 1, 12, 0, 0, 250000), None], "timestamp")
    ['2024-05-01 12:00:00.250', None]
    """
    if family != "timestamp":
        return values
    return [None if v is None else v.isoformat(sep=" ", timespec="milliseconds") for v in values]


_WRITERS: Final[dict[str, Callable[[Path, Relations], None]]] = {
    "duckdb": _write_duckdb,
    "sqlite": _write_sqlite,
    "parquet": _write_parquet,
}
