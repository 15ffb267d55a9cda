"""Versioned DDL: the numbered files of ``sql/ddl/``, in order, rendered for a deployment's settings.

A version is a file ``NNNN_what_it_does.sql`` holding one or more statements; released files are never
edited, a change is a new file. Rendering fills the ``:location``-style placeholders with literals from the
validated :class:`~smtrail_sql.settings.TableSettings`, qualifies the object names with the database, and ends
each version with an ``ALTER TABLE ... SET TBLPROPERTIES`` that records it, so ``status`` can compare what
was deployed with the newest file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import ErrorLevel, ParseError

from smtrail_sql.errors import TemplateError
from smtrail_sql.render import Naming, athena_identifier, qualify_relations
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


def create_database_sql(settings: TableSettings) -> str:
    """``CREATE DATABASE IF NOT EXISTS`` for the deployment's database."""
    statement = exp.Create(this=exp.Table(this=athena_identifier(settings.database)), kind="DATABASE",
                           exists=True)
    return statement.sql(dialect="athena")


def record_version_sql(settings: TableSettings, number: int) -> str:
    """The statement that records ``number`` as the deployed version in the table's properties."""
    table = exp.table_(athena_identifier(settings.table), db=athena_identifier(settings.database))
    prop = exp.Property(this=exp.Literal.string(SCHEMA_VERSION_PROPERTY), value=exp.Literal.string(str(number)))
    properties = exp.Properties(expressions=[prop])
    statement = exp.Alter(this=table, kind="TABLE", actions=[exp.AlterSet(expressions=[properties])])
    return statement.sql(dialect="athena")


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
