"""Find and parse SQL template files: one named, documented, parameterised statement per file.

A template looks like this (the header is ``--`` comment lines before the statement)::

    -- name: metric-history
    -- description: The points of one metric of one trial component, by step and time.
    -- param: trial_component str required  Trial component name
    -- param: limit int = 10000  Most points to return
    SELECT ... FROM sagemaker_metrics WHERE trial_component = :trial_component LIMIT :limit

Parameters are ``:name`` placeholders. Declarations are checked both ways when a template is parsed (an
undeclared placeholder and an unused declaration are errors naming the file and line), and the statement must
parse in sqlglot's ``athena`` dialect. The library parses a template when it is first asked for, every one when
they are listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from smtrail_sql.errors import TemplateError, UnknownQueryError
from smtrail_sql.params import LIKE_ESCAPE, ParamSpec
from smtrail_sql.resources import queries_dir
from smtrail_sql.schema import EVENTS_RELATION, METRIC_CALLS_RELATION, METRIC_POINTS_RELATION
from smtrail_sql.template_text import parse_header


@contextmanager
def nesting_checked(path: Path | str) -> Iterator[None]:
    """Turn a ``RecursionError`` into a :class:`TemplateError` naming the file.

    sqlglot parses, copies and writes SQL by recursion: some 50 nested parentheses or about 90 nested
    subqueries exhaust Python's stack, in the parser or later in rendering or transpiling. That is the
    template's doing, so the user is told which file, not shown an ``unexpected RecursionError``.

    >>> try:
    ...     with nesting_checked("mine.sql"):
    ...         raise RecursionError
    ... except TemplateError as error:
    ...     print(error.path)
    mine.sql
    """
    try:
        yield
    except RecursionError:
        raise TemplateError("SQL nested too deeply (parentheses or subqueries) for the SQL parser; write it "
                            "flatter, e.g. with WITH clauses", str(path)) from None


@dataclass(frozen=True)
class Template:
    """A parsed template: its name, documentation, parameters and statement."""

    name: str
    description: str
    params: dict[str, ParamSpec]
    sql: str
    path: Path
    statement: exp.Expr = field(repr=False, compare=False)
    source: str = "built-in"

    @property
    def summary(self) -> str:
        """The first sentence of the description."""
        return self.description.split("\n")[0]


def parse_template(text: str, path: Path, *, source: str = "built-in") -> Template:
    """Parse the text of a template file; errors name the file and line."""
    header = parse_header(text, path)
    name, params, body, body_start = header.name, header.params, header.body, header.body_start
    lines = text.splitlines()
    with nesting_checked(path):
        try:
            statements = [s for s in sqlglot.parse(body, read="athena", error_level=ErrorLevel.RAISE) if s]
        except ParseError as error:
            first = error.errors[0] if error.errors else {}
            at = body_start + int(first.get("line") or 1) if first else None
            raise TemplateError(f"SQL does not parse as Athena SQL: {first.get('description', error)}",
                                str(path), at) from None
        if len(statements) != 1:
            raise TemplateError(f"a template holds exactly one statement, found {len(statements)}", str(path))
        statement = statements[0]
        _check_placeholders(statement, params, path, lines, body_start)
        _check_read_only(statement, path, body_start)
    return Template(
        name=name,
        description=header.description,
        params=params,
        sql=body,
        path=path,
        statement=statement,
        source=source,
    )


def is_cte_name(table: exp.Table) -> bool:
    """Whether a table reference names a CTE of an enclosing WITH clause rather than a relation (names compare
    regardless of case, as Trino and DuckDB compare them)."""
    if table.db:
        return False
    node = table.parent
    while node is not None:
        ctes = node.args.get("with_") or node.args.get("with")
        if isinstance(ctes, exp.With) and any(cte.alias.lower() == table.name.lower() for cte in ctes.expressions):
            return True
        node = node.parent
    return False


#: What a template's statement may be: one query. Nodes of these kinds anywhere in it are refused.
_WRITES = (exp.DML, exp.DDL, exp.Into, exp.Command, exp.Set, exp.Pragma, exp.Copy, exp.Describe, exp.Use,
           exp.Transaction, exp.Commit, exp.Rollback)
#: The relations a template reads (the raw trail table is left out: the window and the deduplication of copies
#: apply to these views only, and the local engine has no such table).
_RELATIONS = (METRIC_POINTS_RELATION, METRIC_CALLS_RELATION)


def _check_read_only(statement: exp.Expr, path: Path, body_start: int) -> None:
    """A template is one read-only query over the documented relations: a SELECT (with WITH, set operations,
    VALUES, UNNEST); anything that could write, read a file or another relation is refused, naming the line."""
    def line_of(node: exp.Expr) -> int:
        for part in (node, *node.find_all(exp.Identifier, exp.Literal)):
            line = part.meta.get("line") if part.meta else None
            if line:
                return body_start + int(line)
        return body_start + 1

    root = statement.unnest() if isinstance(statement, exp.Subquery) else statement
    if not isinstance(root, exp.Query | exp.Values):
        raise TemplateError(f"a template is one read-only query (SELECT, WITH, UNION, VALUES), not "
                            f"{type(root).__name__.upper()}", str(path), body_start + 1)
    for node in statement.walk():
        if isinstance(node, _WRITES):
            raise TemplateError(f"a template is one read-only query: {type(node).__name__.upper()} is refused",
                                str(path), line_of(node))
        if not isinstance(node, exp.Table) or is_cte_name(node):
            continue
        if not isinstance(node.this, exp.Identifier) or node.args.get("db") or node.args.get("catalog"):
            raise TemplateError(f"a template reads only {' and '.join(_RELATIONS)}, not "
                                f"{node.sql(dialect='athena')!r}", str(path), line_of(node))
        if node.name.lower() == EVENTS_RELATION:
            raise TemplateError(
                f"templates read {METRIC_POINTS_RELATION} and {METRIC_CALLS_RELATION}, not {EVENTS_RELATION}: "
                "the time window and the deduplication of copies apply to those views only", str(path),
                line_of(node))
        if node.name.lower() not in _RELATIONS:
            raise TemplateError(f"a template reads only {' and '.join(_RELATIONS)} (and its own CTEs), not "
                                f"{node.name!r}", str(path), line_of(node))


def _check_placeholders(
    statement: exp.Expr, params: dict[str, ParamSpec], path: Path, lines: list[str], body_start: int
) -> None:
    def line_of(name: str) -> int | None:
        for number, line in enumerate(lines[body_start:], start=body_start + 1):
            if re.search(rf":{name}\b", line):
                return number
        return None

    used: set[str] = set()
    for placeholder in statement.find_all(exp.Placeholder):
        placeholder_name = placeholder.name
        if not placeholder_name:
            raise TemplateError("positional '?' placeholders are not allowed; use :name", str(path))
        used.add(placeholder_name)
        if placeholder_name not in params:
            raise TemplateError(f"undeclared parameter :{placeholder_name}", str(path), line_of(placeholder_name))
        spec = params[placeholder_name]
        if isinstance(placeholder.parent, exp.Limit | exp.Offset) and spec.type != "int":
            raise TemplateError(f"parameter :{placeholder_name} in LIMIT/OFFSET must be declared int",
                                str(path), line_of(placeholder_name))
        if spec.is_list and not isinstance(placeholder.parent, exp.In):
            raise TemplateError(f"list parameter :{placeholder_name} must be used as IN (:{placeholder_name})",
                                str(path), line_of(placeholder_name))
        if spec.type == "glob" and not _in_escaped_pattern(placeholder):
            raise TemplateError(f"glob parameter :{placeholder_name} must be (in) the pattern of a LIKE with ESCAPE "
                                f"'{LIKE_ESCAPE}': LIKE :{placeholder_name} ESCAPE '{LIKE_ESCAPE}'", str(path),
                                line_of(placeholder_name))
    for unused in sorted(set(params) - used):
        raise TemplateError(f"unused declared parameter {unused!r}", str(path))


def _in_escaped_pattern(placeholder: exp.Expr) -> bool:
    """Whether a placeholder is (in) the pattern side of ``x LIKE pattern ESCAPE '\\'``."""
    node = placeholder
    while node.parent is not None and not isinstance(node.parent, exp.Like):
        node = node.parent
    like = node.parent
    if like is None or like.args.get("expression") is not node:
        return False
    escape = like.parent
    return (isinstance(escape, exp.Escape) and isinstance(escape.expression, exp.Literal)
            and escape.expression.this == LIKE_ESCAPE)


def load_dir(directory: Path, *, source: str) -> dict[str, Template]:
    """Every ``*.sql`` template of one folder, by name."""
    return {name: _read(path, source) for name, (path, source) in template_files(directory, source=source).items()}


def template_files(directory: Path, *, source: str) -> dict[str, tuple[Path, str]]:
    """Every ``*.sql`` file of one folder, by the name it must declare (its file name): unread."""
    if not directory.is_dir():
        raise TemplateError("not a folder of templates", str(directory))
    return {path.stem: (path, source) for path in sorted(directory.glob("*.sql"))}


def _read(path: Path, source: str) -> Template:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"cannot read: {error}", str(path)) from None
    return parse_template(text, path, source=source)


class TemplateLibrary:
    """The templates available: the built-in ones, then user folders (a user template may replace a built-in).

    Each file is read and parsed when it is first asked for (:meth:`get`), all of them when they are listed
    (:attr:`templates`, iteration): running one query parses one template, not every one of them.
    """

    def __init__(self, files: dict[str, tuple[Path, str]]) -> None:
        self._files = dict(sorted(files.items()))
        self._parsed: dict[str, Template] = {}

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] | None = None) -> TemplateLibrary:
        """The built-in templates and those of ``extra_dirs`` (a folder that is none is a TemplateError now; a
        template that does not parse, when it is asked for).

        >>> TemplateLibrary.load().get("metric-summary").name
        'metric-summary'
        """
        files = template_files(queries_dir(), source="built-in")
        for directory in extra_dirs or ():
            files.update(template_files(Path(directory), source=str(directory)))
        return cls(files)

    @property
    def templates(self) -> dict[str, Template]:
        """Every template, by name (each one parsed)."""
        return {name: self.get(name) for name in self._files}

    def names(self) -> list[str]:
        """Every template name, sorted."""
        return list(self._files)

    def get(self, name: str) -> Template:
        """The template called ``name``; :class:`UnknownQueryError` suggests the closest name."""
        template = self._parsed.get(name)
        if template is None:
            try:
                path, source = self._files[name]
            except KeyError:
                raise UnknownQueryError(name, self.names()) from None
            template = self._parsed[name] = _read(path, source)
        return template

    def __iter__(self) -> Iterator[Template]:
        return iter(self.templates.values())
