"""The Athena table on a real Trino server, and the views of ``sql/ddl/`` created on it as Athena gets them.

Trino counterpart of :mod:`tests.athena_shape`: the same columns (:func:`~tests.athena_shape.table_columns`) and the
same rows (:func:`~tests.athena_shape.table_rows`, the JSON SerDe's reading of the records). The table is an external,
partitioned Hive table in JSON format whose partition folders mirror the CloudTrail layout; Athena's own DDL
(CloudTrail input format, partition projection) is Athena's alone, so the table is declared in Trino terms and each
partition registered. The views are the project's rendered Athena SQL, run verbatim.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from smtrail_sql import ddl
from smtrail_sql.settings import TableSettings
from tests.athena_shape import table_columns, table_rows
from tests.trino_server import TrinoServer

CATALOG = "hive"
PARTITION_COLUMNS = ("account_id", "region", "day")
#: under the server's warehouse folder, which the catalog's local:/// names
EXTERNAL_ROOT = "external"


@dataclass(frozen=True)
class TrinoShape:
    """Where the loaded table and the views live; ``execute`` runs SQL with them as the session's schema."""

    server: TrinoServer
    settings: TableSettings
    location: Path
    catalog: str = CATALOG
    #: the (account, region, day) partitions registered so far, and how many files were written
    partitions: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    files_written: list[int] = dataclasses.field(default_factory=lambda: [0])
    #: files are written gzipped (``part-N.json.gz``), as CloudTrail delivers them and Athena bills them
    compress: bool = False

    @property
    def schema(self) -> str:
        return self.settings.database

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self.server.execute(sql, catalog=self.catalog, schema=self.schema)


def add_log_files(shape: TrinoShape, log_files: Iterable[Path | tuple[Path, str, str, str]], *,
                  compress: bool | None = None) -> None:
    """Deliver more files to the loaded table: one JSON-lines file per partition, in folders that mirror the
    bucket (``<account>/<region>/<yyyy>/<MM>/<dd>``), each new partition registered as Athena's projection
    would find it.

    ``compress`` (default: as the shape was loaded) writes ``part-N.json.gz`` instead of ``part-N.json``: Trino's
    Hive connector inflates files by their extension, and its statistics then count the gzipped bytes, the ones
    Athena reads and bills from a CloudTrail bucket.
    """
    compress = shape.compress if compress is None else compress
    relative = f"{EXTERNAL_ROOT}/{shape.schema}/{shape.settings.table}"
    partitions: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in table_rows(log_files):
        partitions[row.pop("account_id"), row.pop("region"), row.pop("day")].append(row)
    partitioned_by = ", ".join(_quoted(name) for name in PARTITION_COLUMNS)
    for (account, region, day), rows in partitions.items():
        folder = shape.location / account / region / day
        folder.mkdir(parents=True, exist_ok=True)
        shape.files_written[0] += 1
        data = "".join(json.dumps(row) + "\n" for row in rows).encode()
        if compress:  # level 6 (gzip's default); mtime 0: the same rows give the same bytes
            (folder / f"part-{shape.files_written[0]}.json.gz").write_bytes(gzip.compress(data, 6, mtime=0))
        else:
            (folder / f"part-{shape.files_written[0]}.json").write_bytes(data)
        if (account, region, day) in shape.partitions:
            continue
        shape.server.execute(
            f"CALL {CATALOG}.system.register_partition({_quoted(shape.schema)}, {_quoted(shape.settings.table)}, "
            f"ARRAY[{partitioned_by}], ARRAY[{_quoted(account)}, {_quoted(region)}, {_quoted(day)}], "
            f"{_quoted(f'local:///{relative}/{account}/{region}/{day}')})"
        )
        shape.partitions.add((account, region, day))


def is_view(statement: exp.Expr) -> bool:
    """A ``CREATE VIEW`` of the DDL (run verbatim on Trino)."""
    return isinstance(statement, exp.Create) and statement.kind == "VIEW"


def is_iceberg_table(statement: exp.Expr) -> bool:
    """A ``CREATE TABLE`` of the metric store (Athena's Iceberg DDL)."""
    return isinstance(statement, exp.Create) and statement.kind == "TABLE" and any(
        p.name.lower() == "table_type" and p.text("value").upper() == "ICEBERG"
        for p in statement.find_all(exp.Property))


def iceberg_table_sql(athena_sql: str) -> str:
    """An Athena ``CREATE TABLE ... TBLPROPERTIES ('table_type'='ICEBERG')`` (the metric store's DDL) in Trino's
    terms: the same name, columns and partition transforms, in the ``iceberg`` catalog that shares the metastore
    with ``hive`` (so the name resolves from either, as one Glue catalog does in Athena). Athena's LOCATION is an
    S3 folder: here the table lives where the metastore puts it."""
    create = sqlglot.parse_one(athena_sql, read="athena")
    assert isinstance(create, exp.Create) and isinstance(create.this, exp.Schema)
    table = create.this.this
    properties = {p.name.lower(): p.text("value") for p in create.find_all(exp.Property)
                  if isinstance(p, exp.Property) and not isinstance(p, exp.PartitionedByProperty)}
    assert properties.get("table_type", "").upper() == "ICEBERG", f"not an Iceberg table: {athena_sql}"
    columns = ",\n  ".join(f'"{c.name}" {trino_type(c.args["kind"])}' for c in create.this.expressions)
    transforms = []
    for partitioned in create.find_all(exp.PartitionedByProperty):
        for transform in partitioned.this.expressions:
            column = next(transform.find_all(exp.Column)).name
            transforms.append(_quoted(f"{type(transform).__name__.lower()}({column})"))
    with_ = [f"format = {_quoted(properties.get('format', 'parquet').upper())}"]
    if transforms:
        with_.append(f"partitioning = ARRAY[{', '.join(transforms)}]")
    return (f'CREATE TABLE IF NOT EXISTS iceberg."{table.db}"."{table.name}" (\n  {columns}\n)\n'
            f"WITH ({', '.join(with_)})")


def trino_type(kind: exp.DataType) -> str:
    """The Trino type of a Hive DDL column type: STRUCT -> ROW, ARRAY -> ARRAY, STRING -> VARCHAR."""
    if kind.this == exp.DataType.Type.STRUCT:
        fields = ", ".join(f'"{f.name}" {trino_type(f.args["kind"])}' for f in kind.expressions)
        return f"ROW({fields})"
    if kind.this == exp.DataType.Type.ARRAY:
        return f"ARRAY({trino_type(kind.expressions[0])})"
    if kind.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR):
        return "VARCHAR"
    return kind.sql(dialect="trino")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def athena_shaped_trino(
    server: TrinoServer,
    log_files: Iterable[Path | tuple[Path, str, str, str]],
    schema: str = "smtrail",
    settings: TableSettings | None = None,
    *,
    compress: bool = False,
) -> TrinoShape:
    """Load the files into a fresh ``hive.<schema>`` (dropped first if it exists) and create every DDL view there.

    ``log_files`` are bucket-layout paths, or ``(path, account_id, region, day)`` for other files. A view
    statement that Trino refuses raises, naming the DDL version and the SQL. ``compress`` writes the table's
    files gzipped (this and later :func:`add_log_files`), so that what Trino reads is what Athena would bill.

    >>> shape = athena_shaped_trino(trino, metric_bucket(tmp_path), schema="views_test")  # doctest: +SKIP
    >>> shape.execute("SELECT count(*) FROM sagemaker_metrics")                          # doctest: +SKIP
    """
    settings = settings or TableSettings.create(bucket="example-bucket", accounts="123456789012",
                                                regions="us-east-1")
    settings = dataclasses.replace(settings, database=schema)
    columns = table_columns()
    assert tuple(name for name, _ in columns[-3:]) == PARTITION_COLUMNS
    relative = f"{EXTERNAL_ROOT}/{schema}/{settings.table}"
    location = server.warehouse / relative

    server.execute(f'DROP SCHEMA IF EXISTS {CATALOG}."{schema}" CASCADE')
    shutil.rmtree(location, ignore_errors=True)
    location.mkdir(parents=True, exist_ok=True)

    server.execute(f'CREATE SCHEMA {CATALOG}."{schema}"')
    column_sql = ",\n  ".join(f'"{name}" {trino_type(kind)}' for name, kind in columns)
    partitioned_by = ", ".join(_quoted(name) for name in PARTITION_COLUMNS)
    server.execute(
        f'CREATE TABLE {CATALOG}."{schema}"."{settings.table}" (\n  {column_sql}\n)\n'
        f"WITH (format = 'JSON', partitioned_by = ARRAY[{partitioned_by}], "
        f"external_location = {_quoted(f'local:///{relative}')})"
    )
    shape = TrinoShape(server=server, settings=settings, location=location, compress=compress)
    add_log_files(shape, log_files)
    for version in ddl.versions():
        # render_version's statements follow the file's, then the version record (an ALTER TABLE: Athena's only)
        for statement, sql in zip(version.statements, ddl.render_version(version, settings), strict=False):
            if is_view(statement.expression) or is_iceberg_table(statement.expression):
                try:
                    shape.execute(iceberg_table_sql(sql) if is_iceberg_table(statement.expression) else sql)
                except Exception as error:
                    raise AssertionError(
                        f"Trino refused a statement of DDL version {version.number} ({version.path.name}): "
                        f"{error}\n{sql}") from error
    return shape
