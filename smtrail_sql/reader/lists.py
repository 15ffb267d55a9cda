"""What the reader extracts from one file, as plain lists (:class:`FileLists`), and their format in the cache.

Decoding (:mod:`~smtrail_sql.reader.decode`) touches each metric call once in Python and fills these lists
(the C scanner packs the points and calls in buffers instead: :class:`PackedPoints`, :class:`PackedCalls`);
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
#: may be packed; 6: calls too; 7: times in CloudTrail's form read by the scanner).
LISTS_FORMAT = 7
#: The calls' text columns that :class:`PackedCalls` packs, in its order (the C scanner's ``TEXT_COLUMNS``).
PACKED_TEXT_COLUMNS = ("event_id", "trial_component", "error_code", "event_time", "trial_component_arn",
                       "error_message", "caller_arn", "user_agent", "source_ip")
#: A time the C scanner left to the time rule (not in CloudTrail's own form, or none).
NO_MILLIS = -(2**63)
#: The call columns that are the file's partition (its location's), the same on each of its calls.
PARTITION_COLUMNS = ("account_id", "region", "day")


class PackedPoints(NamedTuple):
    """A file's points as the C scanner gives them (``_scan.c``): in buffers that numpy and Arrow take as they
    are, one value a point, rather than Python objects. Values are those of the typed path's lists (see
    :meth:`to_lists`), which :func:`~smtrail_sql.reader.tables.build_tables` turns into the same rows.

    ``names``: the file's distinct metric names, in order of first appearance, and ``codes`` (int32) each
    point's rank among them, -1 for None; ``values`` (float64) and ``steps`` (int64), each with its
    ``*_valid`` (one byte a point: 0 for None); ``time_kinds`` (one byte a point: 0 None, 1 a number, 2 a
    text, 3 a text in CloudTrail's own form, ``YYYY-MM-DDTHH:MM:SS[.fff]Z``, whose epoch milliseconds by the
    time rule are its number), ``time_numbers`` (float64, NaN where none), ``text_ends`` (int32: where each
    point's text ends in ``texts``, ASCII; a point without text ends where the one before did).
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
            point_times.append(number if kind == 1 else self.texts[start:end].decode("ascii") if kind >= 2 else None)
            start = end
        return names, values, steps, point_times


class PackedText(NamedTuple):
    """A text column of a file's calls, packed: ``codes`` (int32 a call) each call's entry, -1 for None;
    ``ends`` (int32 an entry) where each entry ends in ``texts`` (ASCII). The entries of a column whose equal
    values repeat (a trial component, a caller) are distinct, in order of first appearance; those of
    ``event_id`` and ``event_time`` are one a call, in call order."""

    codes: bytes
    ends: bytes
    texts: bytes

    def to_list(self) -> list[str | None]:
        from array import array

        ends = array("i", self.ends).tolist() if self.ends else []
        entries = [self.texts[start:end].decode("ascii") for start, end in zip([0, *ends], ends, strict=False)]
        return [entries[code] if code >= 0 else None for code in (array("i", self.codes) if self.codes else [])]


class PackedCalls(NamedTuple):
    """A file's metric calls as the C scanner gives them: ``partition`` (account, region, day: every call's),
    ``point_counts`` (int64 a call) and ``call_points`` (int64 a call: the points it stored, 0 for a failed
    call), ``event_millis`` (int64 a call: its ``eventTime`` by the time rule when in CloudTrail's own form,
    :data:`NO_MILLIS` otherwise), and ``texts``, a :class:`PackedText` for each of :data:`PACKED_TEXT_COLUMNS`.
    Values are those of the typed path's lists (see :meth:`to_lists`)."""

    size: int
    partition: tuple[str | None, str | None, str | None]
    point_counts: bytes
    call_points: bytes
    event_millis: bytes
    texts: tuple[PackedText, ...]

    def to_lists(self) -> tuple[dict[str, list[Any]], list[int]]:
        """The calls as the typed path's lists: the call columns, and each call's stored points."""
        from array import array

        columns: dict[str, list[Any]] = {name: [value] * self.size
                                         for name, value in zip(PARTITION_COLUMNS, self.partition, strict=True)}
        columns.update((name, PackedText(*text).to_list()) for name, text in zip(PACKED_TEXT_COLUMNS, self.texts,
                                                                                 strict=True))
        columns["point_count"] = array("q", self.point_counts).tolist() if self.point_counts else []
        return ({name: columns[name] for name in CALL_NAMES},
                array("q", self.call_points).tolist() if self.call_points else [])


@dataclass
class FileLists:
    """What one file gave, as plain lists: one list per call column, four per point.

    ``calls[name]`` holds a value per metric call: text (``event_time`` as CloudTrail wrote it) or None, and
    ``point_count``; ``call_points`` the number of points each call stored (0 for a failed call), whose points
    come in call order; per point, ``names`` (text), ``values`` (float), ``steps`` (int, perhaps beyond a
    BIGINT) and ``point_times`` (a number, or text for the time rule), or None. ``typed``: read by the typed
    path (the generic path gives values already through the rules, and times as text). ``packed`` and
    ``packed_calls``: the points and the calls as the C scanner packs them, their lists then empty (see
    :meth:`unpacked`).
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
    packed_calls: PackedCalls | None = None

    @property
    def call_count(self) -> int:
        return self.packed_calls.size if self.packed_calls is not None else len(self.calls["event_id"])

    @property
    def point_count(self) -> int:
        return self.packed.size if self.packed is not None else len(self.names)

    def unpacked(self) -> FileLists:
        """These lists with packed points and calls (see :class:`PackedPoints`, :class:`PackedCalls`) as the
        typed path's lists."""
        if self.packed is None and self.packed_calls is None:
            return self
        names, values, steps, times = (self.packed.to_lists() if self.packed is not None
                                       else (self.names, self.values, self.steps, self.point_times))
        calls, call_points = (self.packed_calls.to_lists() if self.packed_calls is not None
                              else (self.calls, self.call_points))
        return FileLists(self.skip_reason, self.events, calls, call_points, names, values, steps, times, self.typed)

    def dumps(self) -> bytes:
        """Serialise with :mod:`marshal` (lists of str/int/float/None, packed points' and calls' bytes: fast
        both ways)."""
        calls = self.packed_calls
        return marshal.dumps((LISTS_FORMAT, self.skip_reason, self.events,
                              [self.calls[name] for name in CALL_NAMES], self.call_points, self.names,
                              self.values, self.steps, self.point_times, self.typed,
                              tuple(self.packed) if self.packed is not None else None,
                              None if calls is None else (calls.size, tuple(calls.partition), calls.point_counts,
                                                          calls.call_points, calls.event_millis,
                                                          tuple(map(tuple, calls.texts)))))

    @classmethod
    def loads(cls, data: bytes) -> FileLists:
        """The inverse of :meth:`dumps`; ValueError when the bytes are not a whole entry of this format."""
        try:
            loaded = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as error:
            raise ValueError(f"not a cache entry: {error}") from None
        if not isinstance(loaded, tuple) or not loaded or loaded[0] != LISTS_FORMAT:
            raise ValueError("cache entry of another format")
        try:
            _, reason, events, calls, call_points, names, values, steps, times, typed, packed, packed_calls = loaded
            points = PackedPoints(*packed) if packed is not None else None
            if packed_calls is not None:
                size, partition, point_counts, stored, event_millis, texts = packed_calls
                packed_calls = PackedCalls(size, partition, point_counts, stored, event_millis,
                                           tuple(PackedText(*text) for text in texts))
        except (ValueError, TypeError) as error:
            raise ValueError(f"not a cache entry: {error}") from None
        if len(calls) != len(CALL_NAMES):
            raise ValueError("cache entry of another format")
        return cls(reason, events, dict(zip(CALL_NAMES, calls, strict=True)), call_points, names, values,
                   steps, times, typed, points, packed_calls)
