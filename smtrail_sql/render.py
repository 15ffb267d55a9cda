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

from smtrail_sql.errors import ParameterError, RenderError
from smtrail_sql.naming import Naming as Naming
from smtrail_sql.params import bind, to_literal
from smtrail_sql.query_tree import PACKAGE_SOURCES, apply_window, athena_identifier, drop_predicate, generate
from smtrail_sql.schema import (
    CALLS_STORE_RELATION,
    EVENTS_RELATION,
    METRIC_CALLS_RELATION,
    METRIC_POINTS_RELATION,
    POINTS_STORE_RELATION,
    REFRESH_LOG_RELATION,
)
from smtrail_sql.templates import Template, is_cte_name, nesting_checked
from smtrail_sql.window import TimeWindow

#: The dialects a query can be rendered for.
DIALECTS = ("athena", "duckdb")


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
    #: The same query without the deduplication of copies: equal to it over relations known to hold no event
    #: twice (see :meth:`to_sql`).
    single_copy_expression: exp.Expr | None = field(default=None, repr=False, compare=False)
    #: The query before the window was put in front of its reads: for :meth:`duckdb_statement`.
    unwindowed: exp.Expr | None = field(default=None, repr=False, compare=False)
    #: SQL already generated, by (dialect, pretty, copies): a query run again is not transpiled again (~1 ms).
    _generated: dict[tuple[str, bool, bool], str] = field(default_factory=dict, init=False, repr=False,
                                                          compare=False)
    #: :meth:`duckdb_statement`'s SQL and parameter names, by ``copies``.
    _parameterized: dict[bool, tuple[str, tuple[str, ...]]] = field(default_factory=dict, init=False,
                                                                     repr=False, compare=False)

    @property
    def name(self) -> str:
        """The template's name."""
        return self.template.name

    @property
    def sql(self) -> str:
        """Pretty Athena (Trino) SQL, ready to paste into the Athena console."""
        return self.to_sql("athena")

    def to_sql(self, dialect: str = "athena", *, pretty: bool = True, copies: bool = True) -> str:
        """The query in ``athena`` or ``duckdb`` SQL (transpiled by sqlglot, unsupported features raise).

        ``copies=False`` leaves out the deduplication of copies, for relations known to hold each event once
        (the local engine's, when the reader found no event ID twice): the rows are the same, and DuckDB is
        spared a window function over every point (0.35-0.6 s on 830,000 points, against 0.05 s for the
        whole of a ``metric-summary``).
        """
        if dialect not in DIALECTS:
            raise RenderError(f"unknown dialect {dialect!r}; valid dialects: {', '.join(DIALECTS)}")
        key = (dialect, pretty, copies)
        generated = self._generated.get(key)
        if generated is None:
            tree = self.expression if copies or self.single_copy_expression is None else self.single_copy_expression
            generated = self._generate(tree, dialect, pretty)
            self._generated[key] = generated
        return generated

    def _generate(self, tree: exp.Expr, dialect: str, pretty: bool = True) -> str:
        return generate(tree, dialect, self.name, self.template.path, pretty=pretty,
                        compensated_avg=self.template.source in PACKAGE_SOURCES)

    def duckdb_statement(self, *, copies: bool = True) -> tuple[str, dict[str, Any]]:
        """What the local engine runs: the query in DuckDB SQL with the window's bounds left as named
        parameters (``$first_day``, ``$window_start``...), and the values to bind to them
        (:meth:`TimeWindow.bindings <smtrail_sql.window.TimeWindow.bindings>`); ``copies`` as in :meth:`to_sql`.
        A built-in template's own parameters are bound too (``$param_metrics``...: see :mod:`smtrail_sql.bound_sql`).

        The SQL depends on which bounds the window has, not on their values: kept once
        (:mod:`smtrail_sql.prerendered`), it serves a relative window (``--since 7d``) at every instant,
        the values bound by DuckDB, never written into the text.
        """
        from smtrail_sql import bound_sql

        generated = self._parameterized.get(copies)
        if generated is None:
            if self.unwindowed is None:  # (no tree to put parameters in: the window's literals serve)
                return self.to_sql("duckdb", copies=copies), {}
            if bound_sql.applies(self.template, self.naming):  # (a built-in: its values bound too)
                generated = bound_sql.compile_form(self.template, self.params, self.window, self.naming, copies)
            else:
                tree = apply_window(self.unwindowed.copy(), self.window, self.naming, deduplicate=copies,
                                    parameters=True)
                names = tuple(sorted({placeholder.name for placeholder in tree.find_all(exp.Placeholder)}))
                generated = (self._generate(tree, "duckdb"), names)
            self._parameterized[copies] = generated
        sql, names = generated
        values = {**self.window.bindings(), **bound_sql.bound_values(self.template.params, self.params)}
        return sql, {name: values[name] for name in names}


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

    >>> from smtrail_sql.templates import TemplateLibrary
    >>> q = render(TemplateLibrary.load().get("metric-history"), {"trial_components": "run-1", "metrics": "loss"},
    ...            window=TimeWindow.parse(since="2024-05-01", until="2024-05-02"))
    >>> "day >= '2024/05/01'" in q.sql
    True
    """
    window = window if window is not None else TimeWindow.parse()
    naming = naming or Naming()
    bound = bind(template.params, values or {}, query=template.name)
    with nesting_checked(template.path):
        tree = template.statement.copy()
        tree = substitute(tree, template, bound)
        unwindowed = tree.copy()
        single_copy = apply_window(tree.copy(), window, naming, deduplicate=False)
        tree = apply_window(tree, window, naming)
        rendered = RenderedQuery(template=template, expression=tree, params=bound, window=window, naming=naming,
                                 single_copy_expression=single_copy, unwindowed=unwindowed)
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
            tree = drop_predicate(tree, placeholder, template)
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


#: The relation names :func:`qualify_relations` points at the deployment's objects.
_QUALIFIED = (METRIC_POINTS_RELATION, METRIC_CALLS_RELATION, EVENTS_RELATION, POINTS_STORE_RELATION,
              CALLS_STORE_RELATION, REFRESH_LOG_RELATION)


def qualify_relations(tree: exp.Expr, naming: Naming) -> None:
    """Point the template-level relation names at ``database.name`` (quoted where Athena needs it)."""
    for table in tree.find_all(exp.Table):
        if table.db or table.name not in _QUALIFIED:
            continue
        if is_cte_name(table):
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
    if not isinstance(statements[0], exp.Query | exp.Values):  # (the catalog lets no other through)
        raise RenderError(f"{rendered.name}: rendered SQL is not a query")
