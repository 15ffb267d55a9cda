"""What the reader extracts from one file, as plain lists (:class:`FileLists`), and their format in the cache.

Decoding (:mod:`~smtrail_sql.reader.decode`) touches each metric call once in Python and fills these lists;
:func:`~smtrail_sql.reader.tables.build_tables` turns the lists of many files at once into Arrow rows. The
cache stores a file's lists with :mod:`marshal` (lists of str, int, float and None: fast both ways).

>>> lists = FileLists(None, 3, call_points=[1], names=["loss"], values=[0.5], steps=[1], point_times=[1e12])
>>> FileLists.loads(lists.dumps()) == lists
True
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass, field
from typing import Any

from smtrail_sql.schema import METRIC_CALL_COLUMNS

#: The calls relation's columns, in the order the lists keep them.
CALL_NAMES = tuple(METRIC_CALL_COLUMNS)
#: Call columns (and their copies on the points) that a query may do without: a *lean* extraction, for a
#: query that names none of them, neither decodes nor converts them and leaves them NULL.
OPTIONAL_COLUMNS = frozenset({"event_time", "trial_component_arn", "error_message", "caller_arn", "user_agent",
                              "source_ip"})
#: Version of the :class:`FileLists` layout and rules inside cache entries (4: DDL version 2's rules).
LISTS_FORMAT = 4


@dataclass
class FileLists:
    """What one file gave, as plain lists: one list per call column, four per point.

    ``calls[name]`` holds a value per metric call: text (``event_time`` as CloudTrail wrote it) or None, and
    ``point_count``; ``call_points`` the number of points each call stored (0 for a failed call), whose points
    come in call order; per point, ``names`` (text), ``values`` (float), ``steps`` (int, perhaps beyond a
    BIGINT) and ``point_times`` (a number, or text for the time rule), or None. ``typed``: read by the typed
    path (the generic path gives values already through the rules, and times as text).
    """

    skip_reason: str | None = None
    events: int = 0
    calls: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in CALL_NAMES})
    call_points: list[int] = field(default_factory=list)
    names: list[Any] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)
    point_times: list[Any] = field(default_factory=list)
    typed: bool = False

    @property
    def call_count(self) -> int:
        return len(self.calls["event_id"])

    def dumps(self) -> bytes:
        """Serialise with :mod:`marshal` (lists of str/int/float/None: fast both ways)."""
        return marshal.dumps((LISTS_FORMAT, self.skip_reason, self.events,
                              [self.calls[name] for name in CALL_NAMES], self.call_points, self.names,
                              self.values, self.steps, self.point_times, self.typed))

    @classmethod
    def loads(cls, data: bytes) -> FileLists:
        """The inverse of :meth:`dumps`; ValueError when the bytes are not a whole entry of this format."""
        try:
            fmt, reason, events, calls, call_points, names, values, steps, times, typed = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as error:
            raise ValueError(f"not a cache entry: {error}") from None
        if fmt != LISTS_FORMAT or len(calls) != len(CALL_NAMES):
            raise ValueError("cache entry of another format")
        return cls(reason, events, dict(zip(CALL_NAMES, calls, strict=True)), call_points, names, values,
                   steps, times, typed)

