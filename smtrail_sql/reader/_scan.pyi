"""Types of the C scanner built from ``_scan.c`` (see :mod:`smtrail_sql.reader.native`)."""

from typing import Any, Final

CALL_COLUMNS: Final[tuple[str, ...]]
SOURCE_DIGEST: Final[str]
METRICS_EVENT_NAME: Final[str]
METRICS_EVENT_SOURCE: Final[str]
TRIAL_COMPONENT_RESOURCE_TYPE: Final[str]

def scan(
    data: bytes, account: str | None, region: str | None, day: str | None, /
) -> tuple[int, bool, tuple[list[Any], ...], list[int], tuple[Any, ...]] | None:
    """The lists of a usual CloudTrail log (events, typed, call columns, call_points, packed points: see
    ``smtrail_sql.reader.lists.PackedPoints``), or None for a file it declines."""
