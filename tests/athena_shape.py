"""A DuckDB stand-in for the Athena table: the real DDL's columns, loaded as the JSON SerDe would load them.

The view SQL of ``sql/ddl/`` is then transpiled by sqlglot and created on top, so tests run the views'
own logic (UNNEST, timestamp normalisation, dedup) on DuckDB.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from smtrail_sql import ddl
from smtrail_sql.settings import TableSettings

_LAYOUT = re.compile(
    r"(?:^|/)AWSLogs/(?:o-[a-z0-9]+/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<day>\d{4}/\d{2}/\d{2})/[^/]+$"
)


def partitions_from_path(path: Path) -> tuple[str, str, str]:
    """(account_id, region, day) of a file in the bucket layout."""
    match = _LAYOUT.search(path.as_posix())
    if not match:
        raise ValueError(f"{path} is not in the AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD layout")
    return match.group("account"), match.group("region"), match.group("day")


def table_columns() -> list[tuple[str, exp.DataType]]:
    """The Athena table's columns (partition columns last), from version 1 of the DDL."""
    create = next(s.expression for s in ddl.versions()[0].statements if isinstance(s.expression, exp.Create)
                  and s.expression.kind == "TABLE")
    columns = [(c.name, c.args["kind"]) for c in create.this.expressions]
    partitioned = create.find(exp.PartitionedByProperty)
    assert partitioned is not None
    columns += [(c.name, c.args["kind"]) for c in partitioned.this.expressions]
    return columns


def _serde_value(value: Any, kind: exp.DataType) -> Any:
    """What Hive's JSON SerDe makes of a JSON value for a column of this type."""
    if value is None:
        return None
    if kind.this == exp.DataType.Type.STRUCT:
        if not isinstance(value, dict):
            return None
        lowered = {k.lower(): v for k, v in value.items()}
        return {f.name: _serde_value(lowered.get(f.name.lower()), f.args["kind"]) for f in kind.expressions}
    if kind.this == exp.DataType.Type.ARRAY:
        if not isinstance(value, list):
            return None
        return [_serde_value(v, kind.expressions[0]) for v in value]
    # STRING columns: JSON objects and arrays are kept as their JSON text, strings as they are
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_records(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    records = json.loads(data)["Records"]
    assert isinstance(records, list)
    return records


def table_rows(log_files: Iterable[Path | tuple[Path, str, str, str]]) -> Iterator[dict[str, Any]]:
    """The table's rows (partition columns included) as the JSON SerDe reads the files' records.

    ``log_files`` are bucket-layout paths, or ``(path, account_id, region, day)`` for other files.
    """
    columns = table_columns()
    for item in log_files:
        path, account, region, day = item if isinstance(item, tuple) else (item, *partitions_from_path(item))
        for record in _read_records(path):
            lowered = {k.lower(): v for k, v in record.items()}
            row = {name: _serde_value(lowered.get(name), kind) for name, kind in columns[:-3]}
            row.update(account_id=account, region=region, day=day)
            yield row


def athena_shaped_duckdb(
    log_files: Iterable[Path | tuple[Path, str, str, str]],
    database: str = "smtrail",
    settings: TableSettings | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``database.cloudtrail_events`` loaded from the files and both views created.

    ``log_files`` are bucket-layout paths, or ``(path, account_id, region, day)`` for other files.
    """
    settings = settings or TableSettings.create(bucket="example-bucket", accounts="123456789012",
                                                regions="us-east-1", database=database)
    columns = table_columns()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE SCHEMA {database}")
    column_sql = ", ".join(f'"{name}" {kind.sql("duckdb")}' for name, kind in columns)
    con.execute(f"CREATE TABLE {database}.{settings.table} ({column_sql})")
    with tempfile.TemporaryDirectory() as scratch:
        rows_path = Path(scratch) / "rows.jsonl"
        with rows_path.open("w") as out:
            for row in table_rows(log_files):
                out.write(json.dumps(row) + "\n")
        types = ", ".join(f"'{name}': '{kind.sql('duckdb')}'" for name, kind in columns)
        con.execute(
            f"INSERT INTO {database}.{settings.table} "
            f"SELECT * FROM read_json('{rows_path.as_posix()}', format='newline_delimited', columns={{{types}}})"
        )
    for version in ddl.versions():
        for statement in version.statements:
            if isinstance(statement.expression, exp.Create) and statement.expression.kind == "VIEW":
                tree = statement.expression.copy()
                ddl.qualify_relations(tree, ddl.naming_of(settings))
                con.execute(tree.sql(dialect="duckdb"))
    return con
