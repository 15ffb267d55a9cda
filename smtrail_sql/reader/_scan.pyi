"""Types of the C scanner built from ``_scan.c`` (see :mod:`smtrail_sql.reader.native`)."""

from typing import Any, Final

TEXT_COLUMNS: Final[tuple[str, ...]]
SOURCE_DIGEST: Final[str]
METRICS_EVENT_NAME: Final[str]
METRICS_EVENT_SOURCE: Final[str]
TRIAL_COMPONENT_RESOURCE_TYPE: Final[str]

def scan(
    data: bytes, account: str | None, region: str | None, day: str | None, /
) -> tuple[int, bool, tuple[int, bytes, bytes, tuple[tuple[bytes, bytes, bytes], ...]], tuple[Any, ...]] | None:
    """The lists of a usual CloudTrail log (events, typed, packed calls: see
    ``smtrail_sql.reader.lists.PackedCalls``, packed points: see ``smtrail_sql.reader.lists.PackedPoints``), or
    None for a file it declines."""

def unify(columns: list[tuple[bytes, bytes]], /) -> tuple[bytes, bytes, bytes]:
    """The distinct entries of several files' packed text columns ((ends, texts) each), in order of first
    appearance: (mapping, ends, texts), ``mapping`` each entry's place among them (int32)."""
