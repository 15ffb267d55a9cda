"""The names the two relations have where a query runs (:class:`Naming`), apart from the rendering so that
what only needs the names (a query served from the rendered-SQL cache) does not load sqlglot."""

from __future__ import annotations

from dataclasses import dataclass, replace

from smtrail_sql.schema import (
    CALLS_STORE_RELATION,
    EVENTS_RELATION,
    METRIC_CALLS_RELATION,
    METRIC_POINTS_RELATION,
    POINTS_STORE_RELATION,
    REFRESH_LOG_RELATION,
    store_names_for,
)
from smtrail_sql.settings import DEFAULT_DATABASE, DEFAULT_TABLE, validate_identifier


@dataclass(frozen=True)
class Naming:
    """The names the relations have where the query runs: ``database.view``.

    >>> Naming(database="analytics").name_of(METRIC_POINTS_RELATION)
    'sagemaker_metrics'
    """

    database: str = DEFAULT_DATABASE
    view: str = METRIC_POINTS_RELATION
    calls_view: str = METRIC_CALLS_RELATION
    table: str = DEFAULT_TABLE
    #: True when the two relations are read from the metric store's tables (:meth:`reading_store`).
    store: bool = False

    def __post_init__(self) -> None:
        validate_identifier("database", self.database)
        validate_identifier("view", self.view)
        validate_identifier("calls view", self.calls_view)
        validate_identifier("table", self.table)

    def name_of(self, relation: str) -> str:
        """The configured name of one of the template-level (or DDL-level) relation names."""
        points_store, calls_store, refresh_log = store_names_for(self.view, self.calls_view)
        return {
            METRIC_POINTS_RELATION: self.view,
            METRIC_CALLS_RELATION: self.calls_view,
            EVENTS_RELATION: self.table,
            POINTS_STORE_RELATION: points_store,
            CALLS_STORE_RELATION: calls_store,
            REFRESH_LOG_RELATION: refresh_log,
        }[relation]

    def reading_store(self) -> Naming:
        """The same names, with the two relations read from the metric store's tables instead of the views.

        >>> Naming().reading_store().name_of(METRIC_POINTS_RELATION)
        'sagemaker_metrics_store'
        """
        if self.store:
            return self
        return replace(self, view=self.name_of(POINTS_STORE_RELATION), calls_view=self.name_of(CALLS_STORE_RELATION),
                       store=True)
