"""Edits of a template's sqlglot tree that every rendering shares: the window and the deduplication of copies
put in front of every read of the views, the predicate of an unset optional parameter dropped, and the tree
written in a dialect with Trino's meaning kept.

Used by :mod:`smtrail_sql.render` (values written as literals) and :mod:`smtrail_sql.bound_sql` (values bound).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from smtrail_sql.errors import RenderError
from smtrail_sql.naming import Naming
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_CALLS_RELATION, METRIC_POINT_COLUMNS, METRIC_POINTS_RELATION
from smtrail_sql.settings import needs_quotes
from smtrail_sql.templates import Template, is_cte_name, nesting_checked
from smtrail_sql.window import TimeWindow

#: What identifies one row of each view: the copies of an event share it.
_DEDUP_KEYS = {METRIC_POINTS_RELATION: ("event_id", "point_index"), METRIC_CALLS_RELATION: ("event_id",)}
#: The columns of each view, by its template-level name.
RELATION_COLUMNS = {METRIC_POINTS_RELATION: METRIC_POINT_COLUMNS, METRIC_CALLS_RELATION: METRIC_CALL_COLUMNS}
#: Which copy of a row is kept: the earliest delivery day's, then by account and region.
_COPY_ORDER = ("day", "account_id", "region")
#: The column numbering the copies of one row (1: the copy kept).
_COPY_NUMBER = "copy_number"


#: The sources of the package's own templates (built-in queries, the explanation's): their ``AVG`` runs as
#: DuckDB's ``FAVG`` (see :func:`with_trino_semantics`), their tests proving every argument a number.
PACKAGE_SOURCES = frozenset({"built-in", "explain"})


def generate(tree: exp.Expr, dialect: str, name: str, path: Any, *, pretty: bool = True,
             compensated_avg: bool = False) -> str:
    """``tree`` (of the template ``name``, read from ``path``) in ``dialect``, with Trino's meaning kept outside
    Athena; a RenderError if it cannot be. ``compensated_avg``: see :func:`with_trino_semantics`."""
    try:
        with nesting_checked(path):
            if dialect != "athena":
                tree = with_trino_semantics(tree, compensated_avg=compensated_avg)
            return tree.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        raise RenderError(f"{name}: cannot generate {dialect} SQL: {error}") from None


def with_trino_semantics(tree: exp.Expr, *, compensated_avg: bool = False) -> exp.Expr:
    """A copy of an Athena (Trino) tree whose functions keep Trino's meaning once sqlglot writes it for DuckDB.

    ``MAX_BY``/``MIN_BY`` return the value of the extreme row even when that value is NULL; DuckDB's
    ``ARG_MAX``/``ARG_MIN`` skip such rows, its ``ARG_MAX_NULL``/``ARG_MIN_NULL`` do not.

    With ``compensated_avg`` (the package's own templates), ``AVG`` is DuckDB's ``FAVG``, which sums
    compensated: its threads' partial sums, added in whatever order they finish, then differ far below the last
    digit (plain ``AVG`` gave 7 different results in 8 runs of ``metric-summary`` over the logs of
    ``bench/bench_local.py``; ``FAVG`` one, and the closer to the exact mean). Not for any SQL: ``FAVG`` takes
    numbers only, where Trino also averages intervals.
    """
    def transform(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.ArgMax | exp.ArgMin) and node.args.get("count") is None:
            name = "ARG_MAX_NULL" if isinstance(node, exp.ArgMax) else "ARG_MIN_NULL"
            return exp.Anonymous(this=name, expressions=[node.this, node.expression])
        if compensated_avg and isinstance(node, exp.Avg) and not isinstance(node.this, exp.Distinct):
            return exp.Anonymous(this="FAVG", expressions=[node.this])
        return node

    return tree.transform(transform)


def drop_predicate(tree: exp.Expr, placeholder: exp.Expr, template: Template) -> exp.Expr:
    """``tree`` without the predicate (in a WHERE or HAVING) that holds ``placeholder``, an unset optional parameter."""
    node: exp.Expr = placeholder
    while node.parent is not None and not isinstance(node.parent, exp.And | exp.Where | exp.Having):
        if isinstance(node.parent, exp.Select | exp.Subquery | exp.Union | exp.Join):
            break
        node = node.parent
    parent = node.parent
    if isinstance(parent, exp.And):
        sibling = parent.right if parent.left is node else parent.left
        parent.replace(sibling)
    elif isinstance(parent, exp.Where | exp.Having):
        parent.pop()
    else:
        raise RenderError(
            f"{template.name}: optional parameter :{placeholder.name} is unset but is not inside a WHERE or "
            "HAVING condition that can be dropped; give it a default or a value"
        )
    return tree


def apply_window(tree: exp.Expr, window: TimeWindow, naming: Naming | None = None, *,
                 deduplicate: bool = True, parameters: bool = False) -> exp.Expr:
    """Put the window and the deduplication of copies in front of every read of the views.

    Each view the query reads becomes a CTE of the same name, so the template's own SQL stays as written:
    the CTE reads ``database.view`` inside the window (the ``day`` partition predicate first, then
    ``event_time``) and keeps one row per ``(event_id, point_index)`` (points) or ``event_id`` (calls).
    Deduplicating *after* the window lets the ``day`` predicate reach the table scan (Trino pushes a filter
    through a window function only on its partition keys); the copy kept is the one of the earliest delivery
    day, then account and region, ties broken on the columns the query reads, so every engine keeps the same
    row. Rows without an ``event_id`` cannot be told apart from copies and are all kept.
    ``deduplicate=False`` applies the window alone (for relations known to hold each event once);
    ``parameters`` leaves the window's values as named parameters (see :meth:`RenderedQuery.duckdb_statement`).
    Returns the tree.
    """
    naming = naming or Naming()
    read = _relations_read(tree)
    if not read:
        return tree
    names_read = _names_read(tree)
    ctes = [_relation_cte(relation, window, naming, names_read, deduplicate=deduplicate, parameters=parameters)
            for relation in read]
    existing = tree.args.get("with_") or tree.args.get("with")
    if existing is not None:
        existing.set("expressions", ctes + list(existing.expressions))
        return tree
    with_key = "with_" if "with_" in type(tree).arg_types else "with"
    tree.set(with_key, exp.With(expressions=ctes))
    return tree


def _relations_read(tree: exp.Expr) -> list[str]:
    """The views a query reads (by their template-level names), in a fixed order. Names compare regardless of
    case: Trino and DuckDB read ``SAGEMAKER_METRICS`` (quoted or not) as ``sagemaker_metrics``, which resolves
    to the CTE of that name."""
    read = {
        table.name.lower()
        for table in tree.find_all(exp.Table)
        if not table.db and table.name.lower() in _DEDUP_KEYS and not is_cte_name(table)
    }
    return [relation for relation in _DEDUP_KEYS if relation in read]


def _names_read(tree: exp.Expr) -> frozenset[str] | None:
    """Every identifier of the query (a superset of the columns it reads), or None when a ``*`` selects
    every column (``COUNT(*)`` reads none) or a natural join compares columns it does not name."""
    if any(not isinstance(star.parent, exp.Count) for star in tree.find_all(exp.Star)):
        return None
    if any(str(join.args.get("method") or "").upper() == "NATURAL" for join in tree.find_all(exp.Join)):
        return None
    return frozenset(identifier.name.lower() for identifier in tree.find_all(exp.Identifier))


def _relation_cte(relation: str, window: TimeWindow, naming: Naming, names_read: frozenset[str] | None, *,
                  deduplicate: bool, parameters: bool = False) -> exp.CTE:
    """``relation AS (...)``: the view's columns the query reads, inside the window, and one copy of each row.

    ``SELECT <read> FROM (SELECT <read>, <keys>, ROW_NUMBER() OVER (PARTITION BY <keys> ORDER BY day, account,
    region, <read>) AS copy_number FROM view WHERE <window>) AS copies WHERE copy_number = 1 OR event_id IS
    NULL``; without ``deduplicate``, ``SELECT <read> FROM view WHERE <window>``.
    """
    keys = _DEDUP_KEYS[relation]
    # (a query that names none of the view's columns, COUNT(*) say, still needs its rows: one column keeps them)
    shown = [c for c in RELATION_COLUMNS[relation] if names_read is None or c in names_read] or [keys[0]]
    order = [*_COPY_ORDER, *(c for c in shown if c not in _COPY_ORDER and c not in keys)]
    inner = exp.select(*(dict.fromkeys([*shown, *order, *keys]) if deduplicate else shown))
    if deduplicate:
        numbered = exp.Window(
            this=exp.RowNumber(),
            partition_by=[exp.column(key) for key in keys],
            order=exp.Order(expressions=[exp.Ordered(this=exp.column(c), nulls_first=False) for c in order]),
        )
        inner = inner.select(exp.alias_(numbered, _COPY_NUMBER), copy=False)
    inner = inner.from_(_view_table(relation, naming), copy=False)
    predicates = _window_predicates(window, parameters=parameters)
    if predicates:
        inner = inner.where(exp.and_(*predicates), copy=False)
    body = inner
    if deduplicate:
        first_copy = exp.or_(exp.column(_COPY_NUMBER).eq(1), exp.column("event_id").is_(exp.null()))
        body = exp.select(*shown).from_(inner.subquery("copies"), copy=False).where(first_copy, copy=False)
    return exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(relation)))


def _view_table(relation: str, naming: Naming) -> exp.Table:
    """``database.view`` of a template-level relation name, quoted where Athena needs it."""
    return exp.Table(this=athena_identifier(naming.name_of(relation)), db=athena_identifier(naming.database))


def _window_predicates(window: TimeWindow, *, parameters: bool = False) -> list[exp.Expr]:
    """The window on a view's columns: the ``day`` partition range first (what lets Athena prune delivery
    days), then ``event_time``. The values are :meth:`TimeWindow.bindings`, written as literals, or with
    ``parameters`` left as named parameters (``$first_day`` in DuckDB) for the engine to bind."""
    bindings = window.bindings()

    def value(name: str) -> exp.Expr:
        return exp.Placeholder(this=name) if parameters else exp.Literal.string(bindings[name])

    def moment(name: str) -> exp.Expr:
        return exp.cast(value(name), exp.DataType.build("TIMESTAMP"))

    predicates: list[exp.Expr] = []
    if "first_day" in bindings:
        predicates.append(exp.column("day") >= value("first_day"))
    if "last_day" in bindings:
        predicates.append(exp.column("day") <= value("last_day"))
    if "window_start" in bindings:
        predicates.append(exp.column("event_time") >= moment("window_start"))
    if "window_end" in bindings:
        predicates.append(exp.column("event_time") < moment("window_end"))
    return predicates


def athena_identifier(name: str) -> exp.Identifier:
    """A database, table or view name, quoted where Athena needs it (:func:`~smtrail_sql.settings.needs_quotes`):
    sqlglot writes backticks in DDL and double quotes in queries and views.

    >>> exp.table_(athena_identifier("select"), db=athena_identifier("smtrail")).sql(dialect="athena")
    'smtrail."select"'
    """
    return exp.to_identifier(name, quoted=needs_quotes(name))
