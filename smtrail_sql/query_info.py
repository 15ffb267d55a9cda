"""What a query answers and what it takes, as ``queries`` and ``show`` print it and the API returns it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smtrail_sql.templates import Template


@dataclass(frozen=True)
class ParamInfo:
    """One declared parameter of a query; ``summary`` says its type and whether it is required, optional or
    has a default (``int, default 10000``), as ``smtrail-sql show`` prints it."""

    name: str
    type: str
    required: bool
    default: Any
    help: str
    summary: str


@dataclass(frozen=True)
class QueryInfo:
    """What a query answers and what it takes."""

    name: str
    summary: str
    description: str
    params: list[ParamInfo]
    source: str
    path: Path
    #: The template's SQL, as written.
    sql: str

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.description}"]
        lines += [f"  {p.name} ({p.summary}): {p.help}" for p in self.params]
        return "\n".join(lines)


def query_info(template: Template) -> QueryInfo:
    """The description of a loaded template."""
    params = [ParamInfo(s.name, s.type, s.required, s.default, s.help, s.describe())
              for s in template.params.values()]
    return QueryInfo(template.name, template.summary, template.description, params, template.source,
                     template.path, template.sql)
