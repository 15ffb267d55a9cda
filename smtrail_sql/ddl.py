"""Versioned DDL: the numbered files of ``sql/ddl/``, in order, rendered for a deployment's settings.

A version is a file ``NNNN_what_it_does.sql`` holding one or more statements; released files are never
edited, a change is a new file. Rendering fills the ``:location``-style placeholders with literals from the
validated :class:`~smtrail_sql.settings.TableSettings`, qualifies the object names with the database, and ends
each version with an ``ALTER TABLE ... SET TBLPROPERTIES`` that records it, so ``status`` can compare what
was deployed with the newest file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import ErrorLevel, ParseError

from smtrail_sql.errors import TemplateError
from smtrail_sql.query_tree import athena_identifier
from smtrail_sql.render import Naming, qualify_relations
from smtrail_sql.resources import ddl_dir
from smtrail_sql.settings import TableSettings

#: The table property that records the deployed schema version.
SCHEMA_VERSION_PROPERTY = "smtrail.schema_version"

_FILE = re.compile(r"^(?P<number>\d{4})_(?P<slug>[a-z0-9_]+)\.sql$")
_PLACEHOLDERS = ("location", "accounts", "regions", "day_range", "location_template", "points_store_location",
                 "calls_store_location", "refresh_log_location")


@dataclass(frozen=True)
class DdlStatement:
    """One statement of a DDL file, with the comment lines written above it."""

    expression: exp.Expr
    comment: str = ""


@dataclass(frozen=True)
class DdlVersion:
    """One numbered DDL file and its parsed statements."""

    number: int
    name: str
    description: str
    path: Path
    statements: tuple[DdlStatement, ...] = field(repr=False, compare=False)


def split_statements(text: str) -> list[str]:
    """Split a script at its semicolons (found by sqlglot's tokenizer, so ';' in strings and comments is safe)."""
    from sqlglot.dialects.hive import Hive

    chunks: list[str] = []
    start = 0
    for token in Hive().tokenize(text):
        if token.token_type == TokenType.SEMICOLON:
            chunks.append(text[start : token.start])
            start = token.end + 1
    chunks.append(text[start:])
    return [c for c in (chunk.strip() for chunk in chunks) if c and not _only_comments(c)]


def _only_comments(chunk: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in chunk.splitlines())


def _leading_comment(chunk: str) -> tuple[str, str]:
    """The ``--`` block right above the statement (after the last blank line), and the statement text."""
    lines = chunk.splitlines()
    body = next(i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("--"))
    comment: list[str] = []
    for line in lines[:body]:
        if not line.strip():
            comment = []
        else:
            comment.append(line.strip()[2:].strip())
    return "\n".join(comment), "\n".join(lines[body:])


def parse_version(path: Path) -> DdlVersion:
    """Parse one DDL file; errors name the file."""
    match = _FILE.match(path.name)
    if not match:
        raise TemplateError("DDL files are named NNNN_what_it_does.sql", str(path))
    number = int(match.group("number"))
    text = path.read_text(encoding="utf-8")
    header = re.search(r"^--\s*version:\s*(\d+)\s*$", text, re.MULTILINE)
    if not header or int(header.group(1)) != number:
        raise TemplateError(f"missing or wrong '-- version: {number}' header", str(path))
    description = re.search(r"^--\s*description:\s*(.+)$", text, re.MULTILINE)
    statements: list[DdlStatement] = []
    for chunk in split_statements(text):
        comment, body = _leading_comment(chunk)
        if re.search(r"^\s*--\s*version:", comment, re.MULTILINE):
            comment = ""
        try:
            # one statement per parse: the athena dialect picks Hive (DDL) or Trino (views) per statement
            expression = sqlglot.parse_one(body, read="athena", error_level=ErrorLevel.RAISE)
        except ParseError as error:
            first = error.errors[0] if error.errors else {}
            raise TemplateError(f"DDL does not parse as Athena SQL: {first.get('description', error)}",
                                str(path)) from None
        for placeholder in expression.find_all(exp.Placeholder):
            if placeholder.name not in _PLACEHOLDERS:
                raise TemplateError(f"unknown DDL placeholder :{placeholder.name}; valid: "
                                    + ", ".join(f":{p}" for p in _PLACEHOLDERS), str(path))
        statements.append(DdlStatement(expression, comment))
    return DdlVersion(number, match.group("slug"), description.group(1).strip() if description else "",
                      path, tuple(statements))


@cache
def versions() -> tuple[DdlVersion, ...]:
    """Every DDL version, in order; the numbers must run 1, 2, 3... without gaps.

    >>> versions()[0].number
    1
    """
    found = [parse_version(path) for path in sorted(ddl_dir().glob("*.sql"))]
    for expected, version in enumerate(found, start=1):
        if version.number != expected:
            raise TemplateError(f"DDL version {expected} is missing before {version.path.name}", str(version.path))
    if not found:
        raise TemplateError("no DDL versions found", str(ddl_dir()))
    return tuple(found)


def latest_version() -> int:
    """The newest DDL version number."""
    return versions()[-1].number


def newer_than(deployed: int | None) -> list[DdlVersion]:
    """The versions to apply on top of ``deployed`` (``None``: nothing deployed yet, so all of them)."""
    return [v for v in versions() if deployed is None or v.number > deployed]


def naming_of(settings: TableSettings) -> Naming:
    """The object names of a deployment."""
    return Naming(database=settings.database, view=settings.view, calls_view=settings.calls_view,
                  table=settings.table)


def _values(settings: TableSettings) -> dict[str, str]:
    location = settings.location
    return {
        "location": f"s3://{location.bucket}/{location.account_root(settings.accounts[0])}",
        "accounts": ",".join(settings.accounts),
        "regions": ",".join(settings.regions),
        "day_range": f"{settings.start_date:%Y/%m/%d},NOW",
        "location_template": location.location_template,
        **{f"{kind}_location": settings.store_folder(name)
           for kind, name in zip(("points_store", "calls_store", "refresh_log"), settings.store_tables, strict=True)},
    }


def created_objects(upto: int, naming: Naming) -> list[tuple[str, str]]:
    """The tables and views (kind, name) that DDL versions 1..``upto`` create, under ``naming``'s names, the
    CloudTrail table left out: what ``status`` checks is in the catalog.

    >>> created_objects(1, Naming())
    [('view', 'sagemaker_metrics'), ('view', 'sagemaker_metric_calls')]
    """
    found: list[tuple[str, str]] = []
    for version in versions()[:upto]:
        for statement in version.statements:
            tree = statement.expression
            if not isinstance(tree, exp.Create) or str(tree.kind).upper() not in ("TABLE", "VIEW"):
                continue
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            name = naming.name_of(target.name)
            entry = (str(tree.kind).lower(), name)
            if name != naming.table and entry not in found:
                found.append(entry)
    return found


def recreate_sql(settings: TableSettings, names: list[str], upto: int) -> list[str]:
    """The statements of versions 1..``upto`` that last create each of ``names`` (views and tables dropped by
    hand), in the order the versions run them."""
    naming = naming_of(settings)
    latest: dict[str, tuple[int, int, str]] = {}
    for version in versions()[:upto]:
        rendered = render_version(version, settings)
        for index, (statement, sql) in enumerate(zip(version.statements, rendered, strict=False)):
            tree = statement.expression
            if isinstance(tree, exp.Create) and str(tree.kind).upper() in ("TABLE", "VIEW"):
                target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
                if naming.name_of(target.name) in names:
                    latest[naming.name_of(target.name)] = (version.number, index, sql)
    return [sql for _, _, sql in sorted(latest.values())]


def create_database_sql(settings: TableSettings) -> str:
    """``CREATE DATABASE IF NOT EXISTS`` for the deployment's database."""
    statement = exp.Create(this=exp.Table(this=athena_identifier(settings.database)), kind="DATABASE",
                           exists=True)
    return statement.sql(dialect="athena")


def record_version_sql(settings: TableSettings, number: int) -> str:
    """The statement that records ``number`` as the deployed version in the table's properties."""
    return set_properties_sql(settings, {SCHEMA_VERSION_PROPERTY: str(number)})


def set_properties_sql(settings: TableSettings, properties: Mapping[str, str]) -> str:
    """``ALTER TABLE ... SET TBLPROPERTIES`` with these properties (the others are kept).

    >>> s = TableSettings.create(bucket="trail-logs", accounts="123456789012", regions="us-east-1")
    >>> set_properties_sql(s, {"projection.region.values": "us-east-1,eu-west-1"})
    "ALTER TABLE smtrail.cloudtrail_events SET TBLPROPERTIES ('projection.region.values'='us-east-1,eu-west-1')"
    """
    table = exp.table_(athena_identifier(settings.table), db=athena_identifier(settings.database))
    props = [exp.Property(this=exp.Literal.string(name), value=exp.Literal.string(value))
             for name, value in properties.items()]
    statement = exp.Alter(this=table, kind="TABLE", actions=[exp.AlterSet(expressions=[exp.Properties(
        expressions=props)])])
    return statement.sql(dialect="athena")


#: The table properties of the partition projection, and the placeholder of version 1 that fills each: what a
#: deployment's log location and partitions are, read back by :mod:`smtrail_sql.projection`.
PROJECTION_PROPERTIES = {
    "storage.location.template": "location_template",
    "projection.account_id.values": "accounts",
    "projection.region.values": "regions",
    "projection.day.range": "day_range",
}


def projection_properties(settings: TableSettings) -> dict[str, str]:
    """The partition projection's table properties for these settings, as version 1 writes them."""
    values = _values(settings)
    return {name: values[placeholder] for name, placeholder in PROJECTION_PROPERTIES.items()}


def render_version(version: DdlVersion, settings: TableSettings, *, comments: bool = False) -> list[str]:
    """The Athena statements of one version for these settings, the version record last.

    With ``comments``, each statement is preceded by the ``--`` lines written above it in the file.
    """
    values = _values(settings)
    naming = naming_of(settings)
    rendered: list[str] = []
    for statement in version.statements:
        tree = statement.expression.copy()
        for placeholder in list(tree.find_all(exp.Placeholder)):
            placeholder.replace(exp.Literal.string(values[placeholder.name]))
        qualify_relations(tree, naming)
        sql = tree.sql(dialect="athena", pretty=True, unsupported_level=ErrorLevel.RAISE)
        if comments and statement.comment:
            sql = "\n".join(f"-- {line}".rstrip() for line in statement.comment.splitlines()) + "\n" + sql
        rendered.append(sql)
    rendered.append(record_version_sql(settings, version.number))
    return rendered


def render_all(settings: TableSettings, since: int | None = None, *, comments: bool = False) -> list[str]:
    """Every statement to bring a deployment at version ``since`` (None: nothing) to the newest version."""
    statements = [create_database_sql(settings)] if since is None else []
    for version in newer_than(since):
        statements.extend(render_version(version, settings, comments=comments))
    return statements


def script(statements: list[str]) -> str:
    """Statements as one script to paste into the Athena console (run them one at a time there)."""
    return "\n\n".join(s.rstrip().rstrip(";") + ";" for s in statements) + "\n"
