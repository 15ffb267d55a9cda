"""The Athena table on a real Trino server, and the views of ``sql/ddl/`` created on it as Athena gets them.

Trino counterpart of :mod:`tests.athena_shape`: the same columns (:func:`~tests.athena_shape.table_columns`) and the
same rows (:func:`~tests.athena_shape.table_rows`, the JSON SerDe's reading of the records). The table is an external,
partitioned Hive table in JSON format whose partition folders mirror the CloudTrail layout; Athena's own DDL
(CloudTrail input format, partition projection) is Athena's alone, so the table is declared in Trino terms and each
partition registered. The views are the project's rendered Athena SQL, run verbatim.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    @property
    def schema(self) -> str:
        return self.settings.database

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self.server.execute(sql, catalog=self.catalog, schema=self.schema)


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
) -> TrinoShape:
    """Load the files into a fresh ``hive.<schema>`` (dropped first if it exists) and create every DDL view there.

    ``log_files`` are bucket-layout paths, or ``(path, account_id, region, day)`` for other files. A view
    statement that Trino refuses raises, naming the DDL version and the SQL.

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

    # one JSON-lines file per partition, in folders that mirror the bucket: <account>/<region>/<yyyy>/<MM>/<dd>
    partitions: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in table_rows(log_files):
        partitions[row.pop("account_id"), row.pop("region"), row.pop("day")].append(row)
    for (account, region, day), rows in partitions.items():
        folder = location / account / region / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "part.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
    location.mkdir(parents=True, exist_ok=True)

    server.execute(f'CREATE SCHEMA {CATALOG}."{schema}"')
    column_sql = ",\n  ".join(f'"{name}" {trino_type(kind)}' for name, kind in columns)
    partitioned_by = ", ".join(_quoted(name) for name in PARTITION_COLUMNS)
    server.execute(
        f'CREATE TABLE {CATALOG}."{schema}"."{settings.table}" (\n  {column_sql}\n)\n'
        f"WITH (format = 'JSON', partitioned_by = ARRAY[{partitioned_by}], "
        f"external_location = {_quoted(f'local:///{relative}')})"
    )
    for account, region, day in partitions:
        server.execute(
            f"CALL {CATALOG}.system.register_partition({_quoted(schema)}, {_quoted(settings.table)}, "
            f"ARRAY[{partitioned_by}], ARRAY[{_quoted(account)}, {_quoted(region)}, {_quoted(day)}], "
            f"{_quoted(f'local:///{relative}/{account}/{region}/{day}')})"
        )

    shape = TrinoShape(server=server, settings=settings, location=location)
    for version in ddl.versions():
        # render_version's statements follow the file's, then the version record (an ALTER TABLE: Athena's only)
        for statement, sql in zip(version.statements, ddl.render_version(version, settings), strict=False):
            if isinstance(statement.expression, exp.Create) and statement.expression.kind == "VIEW":
                try:
                    shape.execute(sql)
                except Exception as error:
                    raise AssertionError(
                        f"Trino refused a view of DDL version {version.number} ({version.path.name}): "
                        f"{error}\n{sql}") from error
    return shape
