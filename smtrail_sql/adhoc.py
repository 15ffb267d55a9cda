"""Your own SQL over the two views, held to the rules of a template, and the columns it can read.

``smtrail-sql sql "SELECT ..."`` (:meth:`Toolkit.sql <smtrail_sql.api.Toolkit.sql>`) parses the text as a
template without a header (:func:`adhoc_template`): the same parser, in sqlglot's ``athena`` dialect, and the
same checks (one statement, a query, nothing that writes, reads a file or reads ``cloudtrail_events``), so the
renderer then puts the time window and the deduplication of copies in front of every read of a view, exactly
as for a canned query. The SQL is never pasted into anything: it is a sqlglot tree from the start.

>>> adhoc_template("SELECT metric_name FROM sagemaker_metrics").name
'sql'
>>> adhoc_template("SELECT 1; DROP TABLE x")
Traceback (most recent call last):
...
smtrail_sql.errors.AdHocQueryError: ad-hoc query: one query only (a statement, no ';' between two), found 2
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from smtrail_sql.errors import AdHocQueryError, TemplateError
from smtrail_sql.result import QueryResult
from smtrail_sql.schema import (
    COLUMN_DESCRIPTIONS,
    METRIC_CALL_COLUMNS,
    METRIC_CALLS_RELATION,
    METRIC_POINT_COLUMNS,
    METRIC_POINTS_RELATION,
    RELATION_DESCRIPTIONS,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from smtrail_sql.templates import Template

#: The name an ad-hoc query goes by in messages (``sql: DuckDB could not run the query: ...``).
ADHOC_NAME: Final = "sql"
#: Where errors found while rendering or transpiling it say they are (``ad-hoc query: SQL nested too deeply``).
ADHOC_PATH: Final = Path("ad-hoc query")
#: The header the text is parsed under. Its last line is not a ``--`` comment, so that the header ends there:
#: ``--`` lines at the start of the user's SQL are comments, never header lines (a ``-- param:`` of theirs
#: declares nothing).
_HEADER: Final = f"-- name: {ADHOC_NAME}\n-- description: An ad-hoc query.\n/* ad-hoc query */\n"
_HEADER_LINES: Final = _HEADER.count("\n")

#: The relations ad-hoc SQL reads, with their columns, in the order ``columns`` lists them.
RELATIONS: Final[dict[str, dict[str, str]]] = {
    METRIC_POINTS_RELATION: METRIC_POINT_COLUMNS,
    METRIC_CALLS_RELATION: METRIC_CALL_COLUMNS,
}

#: Template messages, said of an ad-hoc query.
_REWORDED: Final = (
    ("a template is one read-only query", "one read-only query is allowed"),
    ("a template reads only", "a query reads only"),
    ("templates read", "queries read"),
    ("a template holds exactly one statement, found", "one query only (a statement, no ';' between two), found"),
)

#: How sqlglot shows a token in a parse error: ``<Token token_type: TokenType.WHERE, text: WHERE, line: 2, ...>``.
#: sqlglot's errors for a column that no relation of the query has, and where it is.
_UNKNOWN_COLUMN: Final = re.compile(r"could not be resolved|Unknown column")
_AT: Final = re.compile(r"\.? *Line: (\d+), Col: \d+\.?")
_TOKEN: Final = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: .*?>")


def adhoc_template(text: str) -> Template:
    """``text`` (one read-only query in Athena SQL over ``sagemaker_metrics`` and ``sagemaker_metric_calls``)
    as a template with no parameters; :class:`~smtrail_sql.errors.AdHocQueryError` (a usage error) names what
    is wrong and the line of ``text`` where it is.

    >>> adhoc_template("DELETE FROM sagemaker_metrics")
    Traceback (most recent call last):
    ...
    smtrail_sql.errors.AdHocQueryError: ad-hoc query, line 1: one read-only query is allowed (SELECT, WITH, \
UNION, VALUES), not DELETE
    """
    from smtrail_sql.templates import parse_template

    if not text.strip().strip(";").strip():
        raise AdHocQueryError("empty: give one SELECT over sagemaker_metrics or sagemaker_metric_calls")
    try:
        template = parse_template(_HEADER + text, Path(f"{ADHOC_NAME}.sql"), source="ad-hoc")
    except TemplateError as error:
        raise _restated(error) from None
    statement = template.statement
    _check_columns(statement)
    for node in statement.walk():  # (the header's comment, and the user's: the SQL sent is the query alone)
        node.comments = None
    return replace(template, path=ADHOC_PATH, sql=text.strip(), statement=statement)


def _restated(error: TemplateError) -> AdHocQueryError:
    """A template's error about the header-wrapped text, said of the user's text and its own lines."""
    message = str(error)
    where = f"{error.path}:{error.line}: " if error.path and error.line else f"{error.path}: " if error.path else ""
    message = message.removeprefix(where)
    if message.startswith(("undeclared parameter", "positional '?'")):
        message = (f"{message.split(';')[0]}: ad-hoc SQL takes no parameters; write the value in the SQL, or keep "
                   "the query as a template of your own (--queries-dir) to give it -p values")
    for old, new in _REWORDED:
        message = message.replace(old, new)
    message = _TOKEN.sub(lambda match: repr(match.group(1)), message)  # (sqlglot's token repr, as the text)
    # (the line of the header's comment is where a template's statement begins: the text's first line)
    line = max(error.line - _HEADER_LINES, 1) if error.line and error.line >= _HEADER_LINES else None
    return AdHocQueryError(message, line)


def _check_columns(statement: exp.Expr) -> None:
    """Refuse a column no relation of the query has, naming it, before any engine is asked (DuckDB would say
    it late and point at the rendered SQL). sqlglot resolves the names against the views' columns, the query's
    own CTEs, subqueries, aliases and UNNESTs; anything it cannot judge is left to the engine."""
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.qualify import qualify

    try:
        qualify(statement.copy(), schema=dict(RELATIONS), dialect="athena", validate_qualify_columns=True,
                identify=False, quote_identifiers=False)
    except OptimizeError as error:
        text = str(error)
        if not _UNKNOWN_COLUMN.search(text):
            return
        at = _AT.search(text)
        line = int(at.group(1)) - 1 if at and int(at.group(1)) > 1 else None  # (line 1 is the header's comment)
        message = _AT.sub("", text).strip().rstrip(".")
        raise AdHocQueryError(f"{message}: `smtrail-sql columns` lists the columns of {' and '.join(RELATIONS)}",
                              line) from None
    except Exception:  # (a query sqlglot cannot qualify is the engine's to judge)
        return


def columns_result() -> QueryResult:
    """Every column ad-hoc SQL (and a template) can read: relation, column, type and what it holds.

    >>> columns_result().as_dicts()[0]
    {'relation': 'sagemaker_metrics', 'column': 'account_id', 'type': 'VARCHAR', \
'description': 'partition: the account folder of the log file'}
    """
    rows = [(relation, column, sql_type, COLUMN_DESCRIPTIONS[relation][column])
            for relation, columns in RELATIONS.items() for column, sql_type in columns.items()]
    return QueryResult(columns=["relation", "column", "type", "description"],
                       column_types=["VARCHAR"] * 4, rows=rows)


def describe_relations() -> list[tuple[str, str]]:
    """Each relation and what it holds, in one line.

    >>> describe_relations()[1]
    ('sagemaker_metric_calls', 'one row per BatchPutMetrics call, failed ones included')
    """
    return [(relation, RELATION_DESCRIPTIONS[relation]) for relation in RELATIONS]
