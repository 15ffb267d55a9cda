"""What the reader extracts from one file, as plain lists (:class:`FileLists`), and their format in the cache.

Decoding (:mod:`~smtrail_sql.reader.decode`) touches each metric call once in Python and fills these lists
(the C scanner packs the points in buffers instead: :class:`PackedPoints`);
:func:`~smtrail_sql.reader.tables.build_tables` turns the lists of many files at once into Arrow rows. The
cache stores a file's lists with :mod:`marshal` (lists of str, int, float and None: fast both ways).

>>> lists = FileLists(None, 3, call_points=[1], names=["loss"], values=[0.5], steps=[1], point_times=[1e12])
>>> FileLists.loads(lists.dumps()) == lists
True
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from smtrail_sql.schema import METRIC_CALL_COLUMNS

#: The calls relation's columns, in the order the lists keep them.
CALL_NAMES = tuple(METRIC_CALL_COLUMNS)
#: Call columns (and their copies on the points) that a query may do without: a *lean* extraction, for a
#: query that names none of them, neither decodes nor converts them and leaves them NULL.
OPTIONAL_COLUMNS = frozenset({"event_time", "trial_component_arn", "error_message", "caller_arn", "user_agent",
                              "source_ip"})
#: Version of the :class:`FileLists` layout and rules inside cache entries (4: DDL version 2's rules; 5: points
#: may be packed).
LISTS_FORMAT = 5


class PackedPoints(NamedTuple):
    """A file's points as the C scanner gives them (``_scan.c``): in buffers that numpy and Arrow take as they
    are, one value a point, rather than Python objects. Values are those of the typed path's lists (see
    :meth:`to_lists`), which :func:`~smtrail_sql.reader.tables.build_tables` turns into the same rows.

    ``names``: the file's distinct metric names, in order of first appearance, and ``codes`` (int32) each
    point's rank among them, -1 for None; ``values`` (float64) and ``steps`` (int64), each with its
    ``*_valid`` (one byte a point: 0 for None); ``time_kinds`` (one byte a point: 0 None, 1 a number, 2 a
    text), ``time_numbers`` (float64, NaN where not a number), ``text_ends`` (int32: where each point's text
    ends in ``texts``, ASCII; a point without text ends where the one before did).
    """

    size: int
    names: list[str]
    codes: bytes
    values: bytes
    value_valid: bytes
    steps: bytes
    step_valid: bytes
    time_kinds: bytes
    time_numbers: bytes
    text_ends: bytes
    texts: bytes

    def to_lists(self) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        """The points as the typed path's lists: names, values, steps and point times."""
        from array import array

        def numbers(code: str, data: bytes) -> list[Any]:
            return array(code, data).tolist() if data else []

        codes, values, steps = numbers("i", self.codes), numbers("d", self.values), numbers("q", self.steps)
        kinds, times, ends = list(self.time_kinds), numbers("d", self.time_numbers), numbers("i", self.text_ends)
        names = [self.names[code] if code >= 0 else None for code in codes]
        values = [v if ok else None for v, ok in zip(values, self.value_valid, strict=True)]
        steps = [v if ok else None for v, ok in zip(steps, self.step_valid, strict=True)]
        point_times: list[Any] = []
        start = 0
        for kind, number, end in zip(kinds, times, ends, strict=True):
            point_times.append(number if kind == 1 else self.texts[start:end].decode("ascii") if kind == 2 else None)
            start = end
        return names, values, steps, point_times


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
    packed: PackedPoints | None = None

    @property
    def call_count(self) -> int:
        return len(self.calls["event_id"])

    @property
    def point_count(self) -> int:
        return self.packed.size if self.packed is not None else len(self.names)

    def unpacked(self) -> FileLists:
        """These lists with packed points (see :class:`PackedPoints`) as the typed path's lists."""
        if self.packed is None:
            return self
        names, values, steps, times = self.packed.to_lists()
        return FileLists(self.skip_reason, self.events, self.calls, self.call_points, names, values, steps, times,
                         self.typed)

    def dumps(self) -> bytes:
        """Serialise with :mod:`marshal` (lists of str/int/float/None, packed points' bytes: fast both ways)."""
        return marshal.dumps((LISTS_FORMAT, self.skip_reason, self.events,
                              [self.calls[name] for name in CALL_NAMES], self.call_points, self.names,
                              self.values, self.steps, self.point_times, self.typed,
                              tuple(self.packed) if self.packed is not None else None))

    @classmethod
    def loads(cls, data: bytes) -> FileLists:
        """The inverse of :meth:`dumps`; ValueError when the bytes are not a whole entry of this format."""
        try:
            fmt, reason, events, calls, call_points, names, values, steps, times, typed, packed = marshal.loads(data)
            points = PackedPoints(*packed) if packed is not None else None
        except (EOFError, ValueError, TypeError) as error:
            raise ValueError(f"not a cache entry: {error}") from None
        if fmt != LISTS_FORMAT or len(calls) != len(CALL_NAMES):
            raise ValueError("cache entry of another format")
        return cls(reason, events, dict(zip(CALL_NAMES, calls, strict=True)), call_points, names, values,
                   steps, times, typed, points)

