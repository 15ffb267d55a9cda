"""What every engine is to its callers: one settings object in, one Protocol, progress reported while it runs.

Callers (the :class:`~smtrail_sql.api.Toolkit`, and through it every command) use an engine through
:class:`Engine` alone: they build it from :class:`EngineSettings`, call :meth:`Engine.execute` with an optional
:class:`RunProgress`, and read what the run cost from the :class:`~smtrail_sql.result.QueryStats` of its result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from typing import Self

    from smtrail_sql.render import RenderedQuery
    from smtrail_sql.result import QueryResult


@dataclass(frozen=True)
class QueryStatus:
    """One poll of a running query: what a status line shows."""

    query_id: str
    state: str
    elapsed_seconds: float
    bytes_scanned: int

    def describe(self) -> str:
        """``RUNNING  3.2s  12.0 MiB scanned  (query id)``.

        >>> QueryStatus("q-1", "RUNNING", 3.2, 0).describe()
        'RUNNING      3.2s  0 B scanned  (q-1)'
        """
        from smtrail_sql.aws.pricing import format_bytes

        return (f"{self.state:<9} {self.elapsed_seconds:6.1f}s  {format_bytes(self.bytes_scanned)} scanned  "
                f"({self.query_id})")


class RunProgress(Protocol):
    """What an engine reports while a query runs; each engine calls what applies to it.

    The local engine reports the log files it reads (:meth:`start`, :meth:`advance`, :meth:`finish`: the
    reader's ``ReadProgress``); Athena reports every poll of the running query (:meth:`status`).
    """

    def start(self, files: int, total_bytes: int) -> None:
        """Log files to read (those the cache does not answer)."""

    def advance(self, files: int, nbytes: int) -> None:
        """Some of them were read."""

    def finish(self) -> None:
        """Reading is over."""

    def status(self, status: QueryStatus) -> None:
        """A poll of the running query."""


@dataclass(frozen=True)
class EngineSettings:
    """Every engine option, in one object: which engine, and what each engine needs.

    ``None`` leaves a value to the environment (``SMTRAIL_*``, pyathena's variables) or to the default. The
    location of the trail's files in S3 (``bucket``, ``prefix``, ``org_id``, ``accounts``, ``regions``) serves
    the scan estimate; ``accounts``/``regions`` also narrow what the local engine reads. ``max_scan`` (a size
    such as ``10GB``) refuses a query whose estimated scan is larger, on an engine that bills scans.

    >>> EngineSettings(engine="athena", workgroup="primary").workgroup
    'primary'
    """

    engine: str | None = None
    database: str | None = None
    # the local engine
    logs: Path | None = None
    strict: bool = False
    use_cache: bool = True
    # Athena
    workgroup: str | None = None
    output_location: str | None = None
    region: str | None = None
    profile: str | None = None
    catalog: str | None = None
    poll_interval: float | None = None
    # the trail's files in S3, and the scan limit
    bucket: str | None = None
    prefix: str | None = None
    org_id: str | None = None
    accounts: str | None = None
    regions: str | None = None
    max_scan: str | None = None
    #: The metric store's S3 folder (default ``s3://BUCKET/smtrail-sql/DATABASE/``), for estimates of the store.
    store_location: str | None = None

    def __post_init__(self) -> None:
        # a bad scan limit is told when the settings are made, before any query is built or AWS is asked
        if self.max_scan:
            from smtrail_sql.aws.pricing import parse_size
            from smtrail_sql.spelling import spell

            parse_size(self.max_scan, setting=spell("max_scan", "--max-scan"))


class Engine(Protocol):
    """An adapter that runs a rendered query and returns typed rows (registered in ``engines.ENGINES``)."""

    #: The engine's registry name (``local``, ``athena``).
    name: ClassVar[str]
    #: The sqlglot dialect the engine executes; the Athena SQL is transpiled to it.
    dialect: ClassVar[str]
    #: Whether a run is billed by the bytes it scans in S3 (then ``max_scan`` applies).
    bills_scans: ClassVar[bool]

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> Self:
        """The engine the settings describe (a bad value is a :class:`~smtrail_sql.errors.SettingError`)."""
        ...

    def execute(self, query: RenderedQuery, *, progress: RunProgress | None = None) -> QueryResult:
        """Run the query and return every row, with what the run cost in ``result.stats``."""
        ...

    def close(self) -> None:
        """Release connections (the engine opens new ones if used again)."""
        ...
