"""Turn one CloudTrail log file into the rows of the two relations, as Arrow tables.

The rules are those of DDL version 2 (their scalar form is :mod:`smtrail_sql.reader.rules`), so every engine
gives the same rows:

* only ``BatchPutMetrics`` events of ``metrics-sagemaker.amazonaws.com`` count; the record's keys match in any
  case; ``requestParameters`` may be an object or a JSON string (its first key of two equal ones wins), and
  ``metricData`` anything (only an array has points; an element that is not an object is a point of NULLs);
* a failed call (``errorCode`` set) is a row of the calls relation and stores no points;
* a point's ``timestamp`` and the call's ``eventTime`` follow the time rule (epoch milliseconds at or above
  :data:`EPOCH_MILLIS_THRESHOLD`, epoch seconds below it, or a strict ISO-8601 time), to the millisecond;
* nothing is deduplicated: every copy of an event read is a row (the rendered SQL keeps one per ``eventID``),
  and each point has its 1-based ``point_index`` in ``metricData``.

The work is split in two so that both halves are cheap: :func:`extract_lists` touches each metric call once
in Python and returns plain lists (which the cache stores with :mod:`marshal`); :func:`build_tables` turns the
lists of many files at once into Arrow tables, where every per-point conversion is vectorised.
"""

from __future__ import annotations

import errno
import marshal
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain, compress, count, repeat
from operator import attrgetter, is_not
from stat import S_ISREG
from typing import Any

import pyarrow as pa

from smtrail_sql.reader import rules
from smtrail_sql.reader.layout import (
    SKIP_CORRUPT_GZIP,
    SKIP_DIGEST,
    SKIP_EMPTY,
    SKIP_FOREIGN_JSON,
    SKIP_NOT_A_FILE,
    SKIP_SYMLINK_LOOP,
    SKIP_TOO_DEEP,
    SKIP_TOO_LARGE,
    SKIP_TRUNCATED_JSON,
    SKIP_UNDECODABLE,
    SKIP_UNREADABLE,
    LogFile,
)
from smtrail_sql.reader.rules import field_text, scalar_text
from smtrail_sql.schema import (
    EPOCH_MILLIS_THRESHOLD,
    METRIC_CALL_COLUMNS,
    METRIC_POINT_COLUMNS,
    METRICS_EVENT_NAME,
    METRICS_EVENT_SOURCE,
    TRIAL_COMPONENT_RESOURCE_TYPE,
)
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
                "TIMESTAMP": pa.timestamp("us")}
#: String columns with few distinct values per file are dictionary-encoded: the cache stays small and DuckDB
#: still sees VARCHAR.
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
_PLAIN_STRINGS = {"event_id"}


def _arrow_schema(columns: dict[str, str], plain: set[str]) -> pa.Schema:
    return pa.schema([
        pa.field(name, _DICTIONARY if sql == "VARCHAR" and name not in plain else _ARROW_TYPES[sql])
        for name, sql in columns.items()
    ])


#: Arrow schemas of the two relations, column for column those of :mod:`smtrail_sql.schema` (timestamps in
#: microseconds, DuckDB's TIMESTAMP, always whole milliseconds).
POINT_SCHEMA = _arrow_schema(METRIC_POINT_COLUMNS, set())
CALL_SCHEMA = _arrow_schema(METRIC_CALL_COLUMNS, _PLAIN_STRINGS)

_QUOTED_EVENT_NAME = f'"{METRICS_EVENT_NAME}"'.encode()
_GZIP_MAGIC = b"\x1f\x8b"
_EPOCH = datetime(1970, 1, 1)
_CALL_NAMES = tuple(METRIC_CALL_COLUMNS)
#: Call columns (and their copies on the points) that a query may do without: a *lean* extraction, for a
#: query that names none of them, neither decodes nor converts them and leaves them NULL.
OPTIONAL_COLUMNS = frozenset({"event_time", "trial_component_arn", "error_message", "caller_arn", "user_agent",
                              "source_ip"})
# attribute readers mapped over lists of decoded structs (a loop in C, twice as fast as a comprehension)
_EVENT_ID, _ERROR_CODE, _REQUEST_PARAMETERS, _EVENT_SOURCE, _EVENT_TIME, _ERROR_MESSAGE = (
    attrgetter(n) for n in ("eventID", "errorCode", "requestParameters", "eventSource", "eventTime",
                            "errorMessage"))
_USER_IDENTITY, _USER_AGENT, _SOURCE_IP, _RESOURCES, _ARN = (
    attrgetter(n) for n in ("userIdentity", "userAgent", "sourceIPAddress", "resources", "arn"))
_METRIC_DATA, _TRIAL_COMPONENT = attrgetter("metricData"), attrgetter("trialComponentName")
_METRIC_NAME, _VALUE, _STEP, _TIMESTAMP = (attrgetter(n) for n in ("metricName", "value", "step", "timestamp"))
#: Version of the :class:`FileLists` layout and rules inside cache entries (4: DDL version 2's rules).
LISTS_FORMAT = 4


@dataclass
class FileLists:
    """What one file gave, as plain lists: one list per call column, four per point (see :func:`build_tables`).

    ``calls[name]`` holds a value per metric call: text (``event_time`` as CloudTrail wrote it) or None, and
    ``point_count``; ``call_points`` the number of points each call stored (0 for a failed call), whose points
    come in call order; per point, ``names`` (text), ``values`` (float), ``steps`` (int, perhaps beyond a
    BIGINT) and ``point_times`` (a number, or text for the time rule), or None. ``typed``: read by the typed
    path (the generic path gives values already through the rules, and times as text).
    """

    skip_reason: str | None = None
    events: int = 0
    calls: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in _CALL_NAMES})
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
                              [self.calls[name] for name in _CALL_NAMES], self.call_points, self.names,
                              self.values, self.steps, self.point_times, self.typed))

    @classmethod
    def loads(cls, data: bytes) -> FileLists:
        """The inverse of :meth:`dumps`; ValueError when the bytes are not a whole entry of this format."""
        try:
            fmt, reason, events, calls, call_points, names, values, steps, times, typed = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as error:
            raise ValueError(f"not a cache entry: {error}") from None
        if fmt != LISTS_FORMAT or len(calls) != len(_CALL_NAMES):
            raise ValueError("cache entry of another format")
        return cls(reason, events, dict(zip(_CALL_NAMES, calls, strict=True)), call_points, names, values,
                   steps, times, typed)


def read_log_file(log: LogFile, *, lean: bool = False, max_size: int = DEFAULT_MAX_LOG_SIZE) -> FileLists:
    """Read and extract one file; a bad file comes back with ``skip_reason`` set, never an exception.

    ``lean`` may leave the :data:`OPTIONAL_COLUMNS` None (never for a cache entry, which must be whole).
    ``max_size``: a file larger than this once inflated is skipped as ``too-large`` (its bytes are never all
    held: see :func:`inflate`).

    >>> from smtrail_sql.reader.layout import LogFile
    >>> read_log_file(LogFile("/nonexistent.json.gz", 0, 0)).skip_reason
    'unreadable'
    >>> read_log_file(LogFile("/dev/zero", 0, 0)).skip_reason
    'not-a-file'
    """
    try:
        # non-blocking: a FIFO put where a file was listed must not hang the open (the layout never lists one)
        fd = os.open(log.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        return FileLists(SKIP_SYMLINK_LOOP if error.errno == errno.ELOOP else SKIP_UNREADABLE)
    try:
        st = os.fstat(fd)
        if not S_ISREG(st.st_mode):  # a device or a FIFO may never end
            return FileLists(SKIP_NOT_A_FILE)
        raw = _read_at_most(fd, st.st_size, max_size)
    except OSError:
        return FileLists(SKIP_UNREADABLE)
    finally:
        os.close(fd)
    if raw is None:
        return FileLists(SKIP_TOO_LARGE)
    try:
        return extract_lists(raw, log, lean=lean, max_size=max_size)
    except RecursionError:
        return FileLists(SKIP_TOO_DEEP)
    except MemoryError:
        return FileLists(SKIP_TOO_LARGE)
    except Exception:  # noqa: BLE001  (one file's bytes never fail a query: it is skipped, and counted)
        return FileLists(SKIP_UNDECODABLE)


def _read_at_most(fd: int, size: int, max_size: int) -> bytes | None:
    """The file's bytes, or None as soon as there are more than ``max_size`` (a gzip file is never larger
    than what it inflates to, give or take its header). The usual file comes whole from the first read."""
    if size > max_size:
        return None
    chunks: list[bytes] = []
    total = 0
    want = size + 1  # (a file grown since, or one whose size says nothing, as in /proc, is read on)
    while chunk := os.read(fd, min(want, max_size + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > max_size:
            return None
        want = max(want, 1 << 20)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def inflate(raw: bytes, max_size: int = DEFAULT_MAX_LOG_SIZE) -> bytes | str:
    """Gzip bytes inflated as :func:`gzip.decompress` does (every member, zero padding after one), or the
    skip reason: ``corrupt-gzip``, or ``too-large`` as soon as the output would pass ``max_size``.

    Inflating stops at the limit: a bomb (10 GB of spaces in 10 MB) never gets more memory than
    ``max_size``, and the usual file, one member, is still inflated in one call.

    >>> import gzip
    >>> inflate(gzip.compress(b"{}") * 2), inflate(gzip.compress(b" " * 100), max_size=99), inflate(b"junk")
    (b'{}{}', 'too-large', 'corrupt-gzip')
    """
    from isal import isal_zlib

    failures = (getattr(isal_zlib, "error", OSError), OSError, EOFError, ValueError)
    members: list[bytes] = []
    total = 0
    rest = raw
    try:
        while True:
            inflater = isal_zlib.decompressobj(wbits=31)  # (checks the header, the CRC and the length)
            data: bytes = inflater.decompress(rest, max_size - total + 1)
            total += len(data)
            if total > max_size:
                return SKIP_TOO_LARGE
            if not inflater.eof:  # cut short
                return SKIP_CORRUPT_GZIP
            members.append(data)
            rest = inflater.unused_data.lstrip(b"\0")
            if not rest:
                break
            if rest[:2] != _GZIP_MAGIC:
                return SKIP_CORRUPT_GZIP
    except failures:
        return SKIP_CORRUPT_GZIP
    return members[0] if len(members) == 1 else b"".join(members)


def extract_lists(raw: bytes, log: LogFile, *, lean: bool = False, max_size: int = DEFAULT_MAX_LOG_SIZE
                  ) -> FileLists:
    """Extract the metric calls and points of a log file's bytes (gzipped or not); see the module docstring.

    ``lean`` and ``max_size``: as in :func:`read_log_file`.
    """
    if raw.isspace() or not raw:  # (not ``strip()``, which copies a file that ends with a newline)
        return FileLists(SKIP_EMPTY)
    if raw[:2] == _GZIP_MAGIC:
        data = inflate(raw, max_size)
        if isinstance(data, str):
            return FileLists(data)
    elif log.path.endswith(".gz"):
        return FileLists(SKIP_CORRUPT_GZIP)
    elif len(raw) > max_size:
        return FileLists(SKIP_TOO_LARGE)
    else:
        data = raw
    if data.isspace() or not data:
        return FileLists(SKIP_EMPTY)
    return _extract_json(data, log, lean)


def _extract_json(data: bytes, log: LogFile, lean: bool = False) -> FileLists:
    """Decode with the typed schema (only the fields a metric call needs, in C); odd files go generic.

    The typed structs match keys exactly and keep the last of two equal keys, where the rules match the
    record's keys in any case: a file is read typed only when nothing in it can tell the two apart (see
    :func:`_metric_calls` and :func:`_columnar`); any other file is read by :func:`_extract_generic`.
    """
    import msgspec

    from smtrail_sql.reader import shapes

    quoted = data.count(_QUOTED_EVENT_NAME)
    if not quoted:
        if b"\\u" in data:  # the event name could be spelt with escapes: only the generic path can tell
            return _extract_generic(data, log)
        # most of a trail is other traffic: a file without the event name cannot hold a metric call, so it is
        # only checked for being a CloudTrail log
        try:
            outline = shapes.OUTLINE_DECODER.decode(data)
        except msgspec.ValidationError:  # (a subclass of DecodeError: caught first)
            return _extract_generic(data, log)
        except msgspec.DecodeError:
            return FileLists(SKIP_TRUNCATED_JSON)
        if outline.Records is None:
            return FileLists(SKIP_DIGEST if outline.digestPublicKeyFingerprint is not None else SKIP_FOREIGN_JSON)
        return FileLists(None, len(outline.Records))
    if lean:
        lean_lists = _extract_lean(data, log, quoted)
        if lean_lists is not None:
            return lean_lists
    try:
        document = shapes.LOG_DECODER.decode(data)
    except msgspec.ValidationError:  # (a subclass of DecodeError: caught first)
        # a field of an unexpected type somewhere in the file: the generic path reads it as plain JSON
        return _extract_generic(data, log)
    except msgspec.DecodeError:
        return FileLists(SKIP_TRUNCATED_JSON)
    if document.Records is None:
        return FileLists(SKIP_DIGEST if document.digestPublicKeyFingerprint is not None else SKIP_FOREIGN_JSON)
    lists = FileLists(None, len(document.Records))
    calls = _metric_calls(document.Records, quoted)
    if calls is not None and _columnar(calls, log, lists):
        return lists
    return _extract_generic(data, log)


def _extract_lean(data: bytes, log: LogFile, quoted: int) -> FileLists | None:
    """The usual file (see :func:`_columnar`) decoded without the :data:`OPTIONAL_COLUMNS`, which stay None;
    None for any other file, which the full decoder then reads."""
    import msgspec

    from smtrail_sql.reader import shapes

    try:
        document = shapes.LEAN_LOG_DECODER.decode(data)
    except msgspec.DecodeError:  # (ValidationError included) the full path tells why
        return None
    if document.Records is None:
        return None
    lists = FileLists(None, len(document.Records))
    calls = _metric_calls(document.Records, quoted)
    return lists if calls is not None and _columnar(calls, log, lists, lean=True) else None


def _metric_calls(records: list[Any], quoted: int) -> list[Any] | None:
    """The metric calls among typed records, or None when the typed records may not be all of them.

    Every metric call's name is the string ``"BatchPutMetrics"`` in the bytes (or spelt with escapes, which
    fails the count): as many of them as typed records of that name means no call hides behind a key in
    another case (``EventName``), and each of those records must have its source under the exact key.
    """
    named = [e for e in records if e.eventName == METRICS_EVENT_NAME]
    if len(named) != quoted:
        return None
    sources = list(map(_EVENT_SOURCE, named))
    if None in sources:
        return None
    return [e for e, source in zip(named, sources, strict=True) if source == METRICS_EVENT_SOURCE]


def _columnar(calls: list[Any], log: LogFile, lists: FileLists, *, lean: bool = False) -> bool:
    """The usual file, column by column with comprehensions (much cheaper than appends call by call).

    Usual means: the location gives the partition; every call has its ``eventID``, ``requestParameters``
    (an object) and, unless ``lean``, its time, caller, agent, address and resources under the exact keys
    (a key in another case leaves a typed field None: such a file goes generic); every text field is a
    string (a number's or an object's text is not known here). Otherwise returns False, ``lists`` untouched.
    ``lean`` calls (decoded as :class:`~smtrail_sql.reader.shapes.LeanEvent`) leave the
    :data:`OPTIONAL_COLUMNS` None.
    """
    account, region, day = log.account_id, log.region, log.day
    if account is None or region is None or day is None:
        return False
    ids = list(map(_EVENT_ID, calls))
    params = list(map(_REQUEST_PARAMETERS, calls))
    if None in ids or None in params or str in set(map(type, params)):
        return False
    codes = list(map(_ERROR_CODE, calls))
    data, components = list(map(_METRIC_DATA, params)), list(map(_TRIAL_COMPONENT, params))
    texts = [ids, codes, components]
    if not lean:
        times, identities = list(map(_EVENT_TIME, calls)), list(map(_USER_IDENTITY, calls))
        agents, ips = list(map(_USER_AGENT, calls)), list(map(_SOURCE_IP, calls))
        resources = list(map(_RESOURCES, calls))
        if None in times or None in identities or None in agents or None in ips or None in resources:
            return False
        callers = list(map(_ARN, identities))
        arns = list(map(_typed_trial_component_arn, resources))
        if None in callers or _ODD in arns:
            return False
        messages = list(map(_ERROR_MESSAGE, calls))
        texts += [times, callers, agents, ips, arns, messages]
    if not all(set(map(type, column)) <= _TEXT_TYPES for column in texts):
        return False
    size = len(calls)
    counts = [len(d) if d else 0 for d in data] if None in data else list(map(len, data))
    columns = lists.calls
    columns["account_id"] = [account] * size
    columns["region"] = [region] * size
    columns["day"] = [day] * size
    columns["event_id"] = ids
    columns["trial_component"] = components
    columns["point_count"] = counts
    columns["error_code"] = codes
    if lean:
        for name in OPTIONAL_COLUMNS:
            columns[name] = [None] * size
    else:
        columns["event_time"] = times
        columns["trial_component_arn"] = arns
        columns["error_message"] = messages
        columns["caller_arn"] = callers
        columns["user_agent"] = agents
        columns["source_ip"] = ips
    # a failed call stored nothing; the points of the others, flattened in C (no loop over calls here)
    stored = counts.copy()
    for failed in compress(count(), map(is_not, codes, repeat(None))):
        stored[failed] = 0
    points = list(chain.from_iterable(compress(data, stored)))
    lists.call_points = stored
    lists.typed = True
    lists.names = list(map(_METRIC_NAME, points))
    lists.values = list(map(_VALUE, points))
    lists.steps = list(map(_STEP, points))
    lists.point_times = list(map(_TIMESTAMP, points))
    return True


#: What :func:`_typed_trial_component_arn` gives for resources the typed path cannot read as the rules do.
_ODD = "\0odd"
_TEXT_TYPES: frozenset[type] = frozenset({str, type(None)})


def _typed_trial_component_arn(resources: list[Any]) -> str | None:
    for resource in resources:
        kind = resource.type
        if kind is None or (resource.ARN is None) == (resource.arn is None):
            return _ODD  # a key in another case, or both ARN and arn (the last one wins: order unknown here)
        if kind == TRIAL_COMPONENT_RESOURCE_TYPE:
            arn = resource.ARN if resource.ARN is not None else resource.arn
            return arn if type(arn) is str else _ODD
    return None


def _extract_generic(data: bytes, log: LogFile) -> FileLists:
    """Any JSON, read by the rules value by value (:mod:`~smtrail_sql.reader.rules`): slower, for files the
    typed schema does not fit."""
    try:
        document = rules.loads(data)
    except ValueError:
        return FileLists(SKIP_TRUNCATED_JSON)
    except RecursionError:
        return FileLists(SKIP_TOO_DEEP)
    top = dict(document) if isinstance(document, rules.JsonObject) else {}
    records = top.get("Records")
    if type(records) is not list:
        digest = top.get("digestPublicKeyFingerprint") is not None
        return FileLists(SKIP_DIGEST if digest else SKIP_FOREIGN_JSON)
    lists = FileLists(None, len(records))
    builder = _ListBuilder(log, lists)
    for record in records:
        if isinstance(record, rules.JsonObject):
            fields = record.folded()
            if field_text(fields.get("eventname")) == METRICS_EVENT_NAME \
                    and field_text(fields.get("eventsource")) == METRICS_EVENT_SOURCE:
                builder.add(fields)
    return lists


def event_day(event_time: str | None) -> str | None:
    """The ``yyyy/MM/dd`` (UTC) of an ``eventTime`` by the time rule, or None.

    >>> event_day("2022-12-14T21:53:41-05:00")
    '2022/12/15'
    """
    millis = rules.time_millis(event_time)
    if millis is None:
        return None
    return f"{_EPOCH + timedelta(milliseconds=millis):%Y/%m/%d}"


class _ListBuilder:
    """Appends one metric call's values (a record's fields by lower-case key) to a :class:`FileLists`."""

    def __init__(self, log: LogFile, lists: FileLists) -> None:
        self.log = log
        self.lists = lists
        c = lists.calls
        self.columns = (c["account_id"], c["region"], c["day"], c["event_time"], c["event_id"],
                        c["trial_component"], c["trial_component_arn"], c["point_count"], c["error_code"],
                        c["error_message"], c["caller_arn"], c["user_agent"], c["source_ip"])

    def add(self, fields: dict[str, Any]) -> None:
        get = fields.get
        log = self.log
        event_time = field_text(get("eventtime"))
        account, region, day = log.account_id, log.region, log.day
        if account is None:
            account = field_text(get("recipientaccountid"))
        if region is None:
            region = field_text(get("awsregion"))
        if day is None:
            day = event_day(event_time)
        params = get("requestparameters")
        if isinstance(params, str):
            try:  # a JSON string (or a scalar, whose text is read as JSON, as the view reads it)
                params = rules.loads(params)
            except (ValueError, RecursionError):
                params = None
        metric_data: Any = ()
        component = None
        if isinstance(params, rules.JsonObject):
            inside = params.first()
            component = scalar_text(inside.get("trialComponentName"))
            metric_data = inside.get("metricData")
            if type(metric_data) is not list:
                metric_data = ()
        identity = get("useridentity")
        error_code = field_text(get("errorcode"))
        (accounts, regions, days, times, ids, components, arns, counts, codes, messages, callers, agents,
         ips) = self.columns
        accounts.append(account)
        regions.append(region)
        days.append(day)
        times.append(event_time)
        ids.append(field_text(get("eventid")))
        components.append(component)
        arns.append(_trial_component_arn(get("resources")))
        counts.append(len(metric_data))
        codes.append(error_code)
        messages.append(field_text(get("errormessage")))
        callers.append(field_text(identity.folded().get("arn")) if isinstance(identity, rules.JsonObject)
                       else None)
        agents.append(field_text(get("useragent")))
        ips.append(field_text(get("sourceipaddress")))
        lists = self.lists
        if error_code is not None or not metric_data:
            lists.call_points.append(0)  # a failed call stored nothing
            return
        lists.call_points.append(len(metric_data))
        for point in metric_data:
            # an element that is not an object is a point of NULLs, counted in point_count and point_index
            # (keys matched exactly, the last of two equal keys wins: the view reads a point after the cast of
            # metricData to ARRAY(JSON), which Trino writes anew from a map)
            inside = dict(point) if isinstance(point, rules.JsonObject) else {}
            lists.names.append(rules.point_scalar_text(inside.get("metricName")))
            lists.values.append(rules.value_of(scalar_text(inside.get("value"))))
            lists.steps.append(rules.step_of(scalar_text(inside.get("step"))))
            lists.point_times.append(scalar_text(inside.get("timestamp")))  # (the time rule in build_tables)


def _trial_component_arn(resources: Any) -> str | None:
    if type(resources) is not list:
        return None
    for resource in resources:
        if isinstance(resource, rules.JsonObject):
            fields = resource.folded()
            if field_text(fields.get("type")) == TRIAL_COMPONENT_RESOURCE_TYPE:
                return field_text(fields.get("arn"))
    return None


# -- Arrow ---------------------------------------------------------------------------------------------------

def empty_tables() -> tuple[pa.Table, pa.Table]:
    """Zero-row tables with the two schemas (built from no batches: ``Schema.empty_table`` imports pandas)."""
    return pa.Table.from_batches([], POINT_SCHEMA), pa.Table.from_batches([], CALL_SCHEMA)


def build_tables(parts: Sequence[FileLists], *, lean: bool = False) -> tuple[pa.Table, pa.Table]:
    """The points and calls of several files as Arrow tables (in the order given), with the view's types.

    Each point's call-level columns are dictionary arrays over the calls' values, indexed by the point's call:
    in particular ``points.event_id.indices`` are row numbers in ``calls``. ``lean`` makes every one of the
    :data:`OPTIONAL_COLUMNS` NULL, whatever the parts hold (some may have come through the full path).
    """
    import numpy as np

    parts = [p for p in parts if p.skip_reason is None]
    if not parts:
        return empty_tables()
    call_columns: dict[str, list[Any]] = {name: [] for name in _CALL_NAMES}
    call_points: list[int] = []
    names: list[Any] = []
    values: list[Any] = []
    steps: list[Any] = []
    times: list[Any] = []
    kept_names = [name for name in _CALL_NAMES if not (lean and name in OPTIONAL_COLUMNS)]
    for part in parts:
        for name in kept_names:
            call_columns[name].extend(part.calls[name])
        call_points.extend(part.call_points)
        names.extend(part.names)
        values.extend(part.values)
        steps.extend(part.steps)
        times.extend(part.point_times)
    call_count = len(call_columns["event_id"])
    calls = pa.table(
        {name: pa.nulls(call_count, CALL_SCHEMA.field(name).type) if lean and name in OPTIONAL_COLUMNS
         else _call_column(name, call_columns[name]) for name in _CALL_NAMES}, schema=CALL_SCHEMA
    )
    # each call's points follow one another, in call order: the owner of each point, and its position in the
    # call's metricData, by run lengths
    runs = np.asarray(call_points, dtype=np.int64)
    owners = np.repeat(np.arange(call_count, dtype=np.int32), runs)
    indices = _from_numpy(owners, pa.int32())
    columns: dict[str, pa.Array] = {}
    for name in METRIC_POINT_COLUMNS:
        if name == "point_index":
            starts = np.cumsum(runs) - runs
            columns[name] = _from_numpy(np.arange(len(owners), dtype=np.int64) - np.repeat(starts, runs) + 1,
                                        pa.int64())
        elif name == "metric_name":
            columns[name] = _strings(names, _DICTIONARY)
        elif name == "value":
            columns[name] = _numbers(values, pa.float64(), _float_or_none)
        elif name == "step":
            columns[name] = _numbers(steps, pa.int64(), _step_in_range)
        elif name == "metric_time":
            columns[name] = _point_times(times)
        elif lean and name in OPTIONAL_COLUMNS:
            columns[name] = pa.nulls(len(indices), POINT_SCHEMA.field(name).type)
        else:
            column = calls.column(name).combine_chunks()
            if name == "event_id":  # a call's points share its id: index the calls' ids, no hashing
                columns[name] = pa.DictionaryArray.from_arrays(indices, column)
            else:
                columns[name] = _spread(column, owners)
    return pa.table(columns, schema=POINT_SCHEMA), calls


def _spread(column: pa.Array, owners: Any) -> pa.Array:
    """``column[owners]``: each call's value on each of its points, for a dictionary or timestamp column.

    Taken with numpy (``owners``: an int32 array), which needs no :mod:`pyarrow.compute`: workers never
    import it (0.05 s before the workers fork, or in each of them).
    """
    import numpy as np

    source = column.indices if isinstance(column, pa.DictionaryArray) else column
    width = 4 if isinstance(column, pa.DictionaryArray) else 8  # int32 codes, int64 microseconds
    offset, size = source.offset, len(source)
    values = np.frombuffer(source.buffers()[1], np.int32 if width == 4 else np.int64, size, offset * width)[owners]
    mask = None
    if source.null_count:
        valid = np.unpackbits(np.frombuffer(source.buffers()[0], np.uint8), bitorder="little")
        mask = ~valid[offset:offset + size].astype(bool)[owners]
        values[mask] = 0  # (a NULL's slot holds anything: any valid code will do under the mask)
    if isinstance(column, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(_from_numpy(values, pa.int32(), mask), column.dictionary)
    return _from_numpy(values, column.type, mask)


def _from_numpy(values: Any, arrow_type: pa.DataType, invalid: Any = None) -> pa.Array:
    """``pa.array(values, arrow_type, mask=invalid)`` for a numpy array of ``arrow_type``'s width, over its
    memory: ``pa.array`` first asks whether it is a masked array, and that imports ``numpy.ma`` (0.03 s in
    every worker)."""
    import numpy as np

    nulls = int(np.count_nonzero(invalid)) if invalid is not None else 0
    validity = pa.py_buffer(np.packbits(~invalid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(np.ascontiguousarray(values))],
                                 null_count=nulls)


def _call_column(name: str, values: list[Any]) -> pa.Array:
    arrow_type = CALL_SCHEMA.field(name).type
    if name == "event_time":
        return _event_times(values)
    if name == "point_count":
        return pa.array(values, pa.int64())
    return _strings(values, arrow_type)


def _strings(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    """Strings (dictionary-encoded when asked, which Arrow does while converting: ten times cheaper than
    encoding afterwards). Both paths give only text or None; anything else would be a bug: NULL, not a crash."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([v if isinstance(v, str) else None for v in values], arrow_type)


def _event_times(values: list[Any]) -> pa.Array:
    """``eventTime`` texts by the time rule, to the millisecond."""
    millis, valid = _text_millis(values)
    return _from_numpy(millis * 1000, pa.timestamp("us"), ~valid)


def _numbers(values: list[Any], arrow_type: pa.DataType, convert: Any) -> pa.Array:
    """Numbers both paths give as the rules want them (floats, finite; ints), converted by Arrow in C; a list
    Arrow refuses (an int beyond a BIGINT, from the typed path) goes through ``convert``, value by value."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([convert(v) for v in values], arrow_type)


def _float_or_none(value: Any) -> float | None:
    return value if type(value) is float else None


def _step_in_range(step: Any) -> int | None:
    return step if type(step) is int and -(2**63) <= step < 2**63 else None


def _point_times(values: list[Any]) -> pa.Array:
    """Point timestamps by the time rule: numbers (floats: the double of the number as written) vectorised,
    texts apart (see :func:`_text_millis`)."""
    import numpy as np

    try:
        array = pa.array(values, pa.float64())  # no text among them: the usual case, no look at each
        positions: list[int] = []
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        positions = list(compress(count(), map(isinstance, values, repeat(str))))
        numbers = values.copy()
        for position in positions:
            numbers[position] = None
        array = pa.array(numbers, pa.float64())
    numbers = array.to_numpy(zero_copy_only=False)  # (a NULL is NaN)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.where(numbers >= EPOCH_MILLIS_THRESHOLD, numbers, numbers * 1000.0)
        millis = _round_half_away(scaled)
        valid = (millis >= rules.MIN_MILLIS) & (millis < rules.MAX_MILLIS)  # NaN and inf compare false: NULL
    millis[~valid] = 0
    result = millis.astype(np.int64)
    if positions:
        text_millis, text_valid = _text_millis([values[p] for p in positions])
        result[positions] = text_millis
        valid[positions] = text_valid
    return _from_numpy(result * 1000, pa.timestamp("us"), ~valid)


def _round_half_away(numbers: Any) -> Any:
    """:func:`rules.round_half_away` over a float array, exactly (``|x| - floor(|x|)`` is exact)."""
    import numpy as np

    magnitude = np.abs(numbers)
    floor = np.floor(magnitude)
    return np.copysign(np.where(magnitude - floor >= 0.5, floor + 1.0, floor), numbers)


#: Positions of the digits in ``YYYY-MM-DDTHH:MM:SSZ``, CloudTrail's own form of a time.
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _second_millis(chars: Any) -> tuple[Any, Any]:
    """Rows of bytes that start ``YYYY-MM-DD[T ]HH:MM:SS``: whether each does (a real date and time), and its
    epoch milliseconds."""
    import numpy as np

    digits = (chars[:, _DIGITS] - 48).astype(np.int64)  # (a byte below '0' wraps around, above 9)
    ok = (digits <= 9).all(axis=1) & (chars[:, 4] == 45) & (chars[:, 7] == 45) & (chars[:, 13] == 58)
    ok &= ((chars[:, 10] == 84) | (chars[:, 10] == 32)) & (chars[:, 16] == 58)
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day = digits[:, 4] * 10 + digits[:, 5], digits[:, 6] * 10 + digits[:, 7]
    hour, minute = digits[:, 8] * 10 + digits[:, 9], digits[:, 10] * 10 + digits[:, 11]
    second = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.asarray(_MONTH_DAYS)[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # days from 1970-01-01 (H. Hinnant's days_from_civil, as rules.days_from_civil)
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = era * 146097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year - 719468
    return ok, (days * 86400 + hour * 3600 + minute * 60 + second) * 1000


def _text_millis(texts: list[Any]) -> tuple[Any, Any]:
    """Texts (or None) by the time rule, as epoch milliseconds and whether each is a time (numpy arrays).

    CloudTrail's own form, ``YYYY-MM-DDTHH:MM:SSZ``, and the same with milliseconds (``...SS.fffZ``) are
    checked and computed over the bytes with numpy (no Arrow cast: it takes forms the rule rejects; 0.17 s of
    the rule's Python per 150 bench files otherwise); any other text goes through :func:`rules.time_millis`.
    """
    import numpy as np

    size = len(texts)
    millis = np.zeros(size, dtype=np.int64)
    valid = np.zeros(size, dtype=bool)
    if not size:
        return millis, valid
    array = _strings(texts, pa.string())
    offsets = np.frombuffer(array.buffers()[1], np.int32, size + 1, array.offset * 4)
    lengths = np.diff(offsets)
    done = np.zeros(size, dtype=bool)
    data = np.frombuffer(array.buffers()[2], np.uint8) if array.buffers()[2] is not None else None
    for length in (20, 24):  # ...SSZ and ...SS.fffZ (the SDKs' and the demo's form)
        rows = np.flatnonzero(lengths == length)
        if not rows.size or data is None:
            continue
        chars = data[offsets[rows][:, None] + np.arange(length)]
        ok, stamp = _second_millis(chars)
        ok &= chars[:, length - 1] == 90  # Z
        if length == 24:
            fraction = (chars[:, 20:23] - 48).astype(np.int64)  # (a byte below '0' wraps around, above 9)
            ok &= (chars[:, 19] == 46) & (fraction <= 9).all(axis=1)
            stamp = stamp + fraction[:, 0] * 100 + fraction[:, 1] * 10 + fraction[:, 2]
        ok &= (stamp >= rules.MIN_MILLIS) & (stamp < rules.MAX_MILLIS)
        good = rows[ok]
        millis[good] = stamp[ok]
        valid[good] = True
        done[good] = True
    for position in np.flatnonzero(~done).tolist():  # any other form (or None): the rule itself
        moment = rules.time_millis(texts[position]) if isinstance(texts[position], str) else None
        if moment is not None:
            millis[position] = moment
            valid[position] = True
    return millis, valid
