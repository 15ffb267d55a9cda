"""The columns a rendered query may read: the local engine reads no other from the logs (a lean read leaves the
descriptive columns of a call NULL when no query names them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smtrail_sql.render import RenderedQuery


def columns_named(query: RenderedQuery) -> frozenset[str] | None:
    """Every name the query could read a column by (a superset: all identifiers), or None when it has a
    ``*`` that selects columns (``COUNT(*)`` reads none) or a natural join.

    >>> from smtrail_sql.templates import TemplateLibrary
    >>> from smtrail_sql.render import render
    >>> from smtrail_sql.window import TimeWindow
    >>> query = render(TemplateLibrary.load().get("metric-summary"), window=TimeWindow.all_time())
    >>> "user_agent" in columns_named(query)
    False
    """
    from smtrail_sql.prerendered import LightQuery

    if isinstance(query, LightQuery):  # (known without sqlglot: see smtrail_sql.prerendered)
        return query.columns
    from sqlglot import exp

    tree = query.expression
    if any(not isinstance(star.parent, exp.Count) for star in tree.find_all(exp.Star)):
        return None
    if any(str(join.args.get("method") or "").upper() == "NATURAL" for join in tree.find_all(exp.Join)):
        return None  # a natural join compares every column the two sides share, naming none
    return frozenset(identifier.name.lower() for identifier in tree.find_all(exp.Identifier))
