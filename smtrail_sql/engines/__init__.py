"""Engines run rendered queries: ``local`` (DuckDB over log files) and ``athena`` (pyathena)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from smtrail_sql.render import RenderedQuery
    from smtrail_sql.result import QueryResult


class Engine(Protocol):
    """An adapter that runs a rendered query and returns typed rows."""

    #: The engine's registry name (``local``, ``athena``).
    name: str
    #: The sqlglot dialect the engine executes; the Athena SQL is transpiled to it.
    dialect: str

    def execute(self, query: RenderedQuery) -> QueryResult:
        """Run the query and return every row."""
        ...


ENGINE_NAMES = ("local", "athena")
