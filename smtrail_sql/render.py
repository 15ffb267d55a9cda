"""Render templates into SQL through sqlglot: typed literals, vanishing optional filters, time windows.

Values never become SQL by string formatting. The template is parsed once into a sqlglot tree; rendering
copies it and replaces each ``:name`` placeholder with a literal node (or removes the predicate that holds an
unset optional one), qualifies the view names, and adds the window to every SELECT that reads a view: an
``event_time`` predicate and a predicate on the ``day`` partition, widened by the delivery lag, so Athena
reads only the days it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from smtrail_sql.catalog import Template
from smtrail_sql.errors import ParameterError, RenderError
from smtrail_sql.params import bind, timestamp_literal, to_literal
from smtrail_sql.schema import EVENTS_RELATION, METRIC_CALLS_RELATION, METRIC_POINTS_RELATION
from smtrail_sql.settings import (
    DEFAULT_DATABASE,
    DEFAULT_TABLE,
    needs_quotes,
    validate_identifier,
)
from smtrail_sql.window import TimeWindow, format_day

#: The dialects a query can be rendered for.
DIALECTS = ("athena", "duckdb")


@dataclass(frozen=True)
class Naming:
    """The names the relations have where the query runs: ``database.view``.

    >>> Naming(database="analytics").qualified(METRIC_POINTS_RELATION)
    'analytics.sagemaker_metrics'
    """

    database: str = DEFAULT_DATABASE
    view: str = METRIC_POINTS_RELATION
    calls_view: str = METRIC_CALLS_RELATION
    table: str = DEFAULT_TABLE

    def __post_init__(self) -> None:
        validate_identifier("database", self.database)
        validate_identifier("view", self.view)
        validate_identifier("calls view", self.calls_view)
        validate_identifier("table", self.table)

    def name_of(self, relation: str) -> str:
        """The configured name of one of the template-level relation names."""
        return {
            METRIC_POINTS_RELATION: self.view,
            METRIC_CALLS_RELATION: self.calls_view,
            EVENTS_RELATION: self.table,
        }[relation]

    def qualified(self, relation: str) -> str:
        """``database.name`` of a template-level relation name."""
        return f"{self.database}.{self.name_of(relation)}"


@dataclass(frozen=True)
class RenderedQuery:
    """A rendered template: its Athena SQL, the tree it came from, and what it was rendered with.

    The SQL of each dialect is generated once and kept: the tree is not to be changed afterwards.
    """

    template: Template
    expression: exp.Expr = field(repr=False)
    params: dict[str, Any]
    window: TimeWindow
    naming: Naming
    #: SQL already generated, by (dialect, pretty): a query run again is not transpiled again (~1 ms).
    _generated: dict[tuple[str, bool], str] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The template's name."""
        return self.template.name

    @property
    def sql(self) -> str:
        """Pretty Athena (Trino) SQL, ready to paste into the Athena console."""
        return self.to_sql("athena")

    def to_sql(self, dialect: str = "athena", *, pretty: bool = True) -> str:
        """The query in ``athena`` or ``duckdb`` SQL (transpiled by sqlglot, unsupported features raise)."""
        if dialect not in DIALECTS:
            raise RenderError(f"unknown dialect {dialect!r}; valid dialects: {', '.join(DIALECTS)}")
        generated = self._generated.get((dialect, pretty))
        if generated is None:
            try:
                generated = self.expression.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
            except SqlglotError as error:
                raise RenderError(f"{self.name}: cannot generate {dialect} SQL: {error}") from None
            self._generated[(dialect, pretty)] = generated
        return generated

    def relations(self) -> set[str]:
        """The template-level relation names the query reads."""
        names = {METRIC_POINTS_RELATION: self.naming.view, METRIC_CALLS_RELATION: self.naming.calls_view}
        found = {t.name for t in self.expression.find_all(exp.Table) if t.db == self.naming.database}
        return {relation for relation, name in names.items() if name in found}


def render(
    template: Template,
    values: Mapping[str, Any] | None = None,
    *,
    window: TimeWindow | None = None,
    naming: Naming | None = None,
) -> RenderedQuery:
    """Render ``template`` with parameter ``values`` (CLI strings or Python values) for a time window.

    ``window`` defaults to :meth:`TimeWindow.parse` with no bounds (the last 7 days); pass
    :meth:`TimeWindow.all_time` for no window.

    >>> from smtrail_sql.catalog import Catalog
    >>> q = render(Catalog.load().get("metric-history"), {"trial_component": "run-1", "metric": "loss"},
    ...            window=TimeWindow.parse(since="2024-05-01", until="2024-05-02"))
    >>> "day >= '2024/05/01'" in q.sql
    True
    """
    window = window if window is not None else TimeWindow.parse()
    naming = naming or Naming()
    bound = bind(template.params, values or {}, query=template.name)
    tree = template.statement.copy()
    tree = substitute(tree, template, bound)
    apply_window(tree, window)
    qualify_relations(tree, naming)
    rendered = RenderedQuery(template=template, expression=tree, params=bound, window=window, naming=naming)
    _check_roundtrip(rendered)
    return rendered


def substitute(tree: exp.Expr, template: Template, bound: Mapping[str, Any]) -> exp.Expr:
    """Replace every placeholder with its literal; drop the predicate around an unset optional one."""
    while True:
        placeholder = next(iter(tree.find_all(exp.Placeholder)), None)
        if placeholder is None:
            return tree
        spec = template.params[placeholder.name]
        value = bound[spec.name]
        if value is None:
            tree = _drop_predicate(tree, placeholder, template)
        elif spec.is_list:
            in_node = placeholder.parent
            assert isinstance(in_node, exp.In)
            items = [to_literal(spec.scalar_type, item) for item in value]
            others = [e for e in in_node.expressions if e is not placeholder]
            in_node.set("expressions", others + items)
        else:
            if isinstance(placeholder.parent, exp.Limit | exp.Offset) and value < 0:
                raise ParameterError(f"parameter {spec.name!r} is a row count: expects an integer >= 0, got {value}")
            literal = to_literal(spec.type, value)
            if placeholder is tree:
                return literal
            placeholder.replace(literal)


def _drop_predicate(tree: exp.Expr, placeholder: exp.Expr, template: Template) -> exp.Expr:
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


def apply_window(tree: exp.Expr, window: TimeWindow) -> None:
    """AND the window onto every SELECT that reads one of the views (aliases respected)."""
    if not window.is_bounded:
        return
    first_day, last_day = window.delivery_day_range()
    for table in list(tree.find_all(exp.Table)):
        if table.db or table.name not in (METRIC_POINTS_RELATION, METRIC_CALLS_RELATION):
            continue
        if _is_cte_name(table):
            continue
        select = table.find_ancestor(exp.Select)
        if select is None:
            continue
        alias = table.alias_or_name
        predicates: list[exp.Expr] = []
        # the partition predicate first: it is what lets Athena prune delivery days
        if first_day is not None:
            predicates.append(exp.column("day", alias) >= exp.Literal.string(format_day(first_day)))
        if last_day is not None:
            predicates.append(exp.column("day", alias) <= exp.Literal.string(format_day(last_day)))
        if window.start is not None:
            predicates.append(exp.column("event_time", alias) >= timestamp_literal(window.start))
        if window.end is not None:
            predicates.append(exp.column("event_time", alias) < timestamp_literal(window.end))
        select.where(exp.and_(*predicates), copy=False)


def _is_cte_name(table: exp.Table) -> bool:
    with_ = table.find_ancestor(exp.Select)
    while with_ is not None:
        ctes = with_.args.get("with_") or with_.args.get("with")
        if ctes and any(cte.alias == table.name for cte in ctes.expressions):
            return True
        with_ = with_.find_ancestor(exp.Select)
    return False


def athena_identifier(name: str) -> exp.Identifier:
    """A database, table or view name, quoted where Athena needs it (:func:`~smtrail_sql.settings.needs_quotes`):
    sqlglot writes backticks in DDL and double quotes in queries and views.

    >>> exp.table_(athena_identifier("select"), db=athena_identifier("smtrail")).sql(dialect="athena")
    'smtrail."select"'
    """
    return exp.to_identifier(name, quoted=needs_quotes(name))


def qualify_relations(tree: exp.Expr, naming: Naming) -> None:
    """Point the template-level relation names at ``database.name`` (quoted where Athena needs it)."""
    for table in tree.find_all(exp.Table):
        if table.db or table.name not in (METRIC_POINTS_RELATION, METRIC_CALLS_RELATION, EVENTS_RELATION):
            continue
        if _is_cte_name(table):
            continue
        alias = table.alias_or_name
        table.set("this", athena_identifier(naming.name_of(table.name)))
        table.set("db", athena_identifier(naming.database))
        if not table.alias and isinstance(table.parent, exp.From | exp.Join):
            # keep column references like sagemaker_metrics.value valid after the rename
            table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))


def _check_roundtrip(rendered: RenderedQuery) -> None:
    sql = rendered.sql
    try:
        statements = [s for s in sqlglot.parse(sql, read="athena", error_level=ErrorLevel.RAISE) if s]
    except SqlglotError as error:  # pragma: no cover - would be a bug in the renderer
        raise RenderError(f"{rendered.name}: rendered SQL does not parse: {error}") from None
    if len(statements) != 1:  # pragma: no cover - impossible by construction, asserted in tests
        raise RenderError(f"{rendered.name}: rendered SQL is not one statement")
