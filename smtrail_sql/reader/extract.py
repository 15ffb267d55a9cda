"""Turn one CloudTrail log file into the rows of the two relations, as Arrow tables.

The rules are those of the Athena view (``sql/ddl``), so both engines give the same rows:

* only ``BatchPutMetrics`` events of ``metrics-sagemaker.amazonaws.com`` count; ``requestParameters`` may be
  an object, a JSON string or null, and ``metricData`` may be missing (then the call has no points);
* a failed call (``errorCode`` set) is a row of the calls relation and stores no points;
* a point's ``timestamp`` is epoch milliseconds at or above :data:`EPOCH_MILLIS_THRESHOLD`, epoch seconds
  (int or float) below it, or an ISO-8601 string (UTC when it has no zone), rounded to the microsecond the
  way DuckDB's ``to_timestamp(double)`` does;
* the same event twice in a file (same account, region, day and ``eventID``) counts once.

The work is split in two so that both halves are cheap: :func:`extract_lists` touches each metric call once
in Python and returns plain lists (which the cache stores with :mod:`marshal`); :func:`build_tables` turns the
lists of many files at once into Arrow tables, where every per-point conversion is vectorised.
"""

from __future__ import annotations

import json
import marshal
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, compress, count, repeat
from operator import attrgetter, is_not
from typing import Any

import pyarrow as pa

from smtrail_sql.reader.layout import (
    SKIP_CORRUPT_GZIP,
    SKIP_DIGEST,
    SKIP_EMPTY,
    SKIP_FOREIGN_JSON,
    SKIP_TRUNCATED_JSON,
    SKIP_UNREADABLE,
    LogFile,
)
from smtrail_sql.schema import (
    EPOCH_MILLIS_THRESHOLD,
    METRIC_CALL_COLUMNS,
    METRIC_POINT_COLUMNS,
    METRICS_EVENT_NAME,
    METRICS_EVENT_SOURCE,
    TRIAL_COMPONENT_RESOURCE_TYPE,
)

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


#: Arrow schemas of the two relations, column for column those of :mod:`smtrail_sql.schema`.
POINT_SCHEMA = _arrow_schema(METRIC_POINT_COLUMNS, set())
CALL_SCHEMA = _arrow_schema(METRIC_CALL_COLUMNS, _PLAIN_STRINGS)

_EVENT_NAME_BYTES = METRICS_EVENT_NAME.encode()
_GZIP_MAGIC = b"\x1f\x8b"
#: Range DuckDB's TIMESTAMP holds (years 1-9999 in microseconds); outside it a point time is NULL.
_MIN_MICROS, _MAX_MICROS = -62135596800 * 10**6, 253402300800 * 10**6
_EPOCH = datetime(1970, 1, 1)
_CALL_NAMES = tuple(METRIC_CALL_COLUMNS)
#: Call columns (and their copies on the points) that a query may do without: a *lean* extraction, for a
#: query that names none of them, neither decodes nor converts them and leaves them NULL.
OPTIONAL_COLUMNS = frozenset({"event_time", "trial_component_arn", "error_message", "caller_arn", "user_agent",
                              "source_ip"})
# attribute readers mapped over lists of decoded structs (a loop in C, twice as fast as a comprehension)
_EVENT_ID, _ERROR_CODE, _REQUEST_PARAMETERS = (attrgetter(n) for n in ("eventID", "errorCode", "requestParameters"))
_METRIC_DATA, _TRIAL_COMPONENT = attrgetter("metricData"), attrgetter("trialComponentName")
_METRIC_NAME, _VALUE, _STEP, _TIMESTAMP = (attrgetter(n) for n in ("metricName", "value", "step", "timestamp"))
#: Version of the :class:`FileLists` layout inside cache entries.
LISTS_FORMAT = 3


@dataclass
class FileLists:
    """What one file gave, as plain lists: one list per call column, four per point (see :func:`build_tables`).

    ``calls[name]`` holds a value per metric call (``event_time`` as CloudTrail wrote it); ``call_points`` the
    number of points each call stored (0 for a failed call), whose points come in call order; ``names``,
    ``values``, ``steps`` and ``point_times`` hold each point's values as the JSON had them, or, when
    ``typed_points`` is set, as :class:`~smtrail_sql.reader.shapes.Point` types them.
    """

    skip_reason: str | None = None
    events: int = 0
    calls: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in _CALL_NAMES})
    call_points: list[int] = field(default_factory=list)
    names: list[Any] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)
    point_times: list[Any] = field(default_factory=list)
    typed_points: bool = False

    @property
    def call_count(self) -> int:
        return len(self.calls["event_id"])

    def dumps(self) -> bytes:
        """Serialise with :mod:`marshal` (lists of str/int/float/None: fast both ways)."""
        return marshal.dumps((LISTS_FORMAT, self.skip_reason, self.events,
                              [self.calls[name] for name in _CALL_NAMES], self.call_points, self.names,
                              self.values, self.steps, self.point_times, self.typed_points))

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


def read_log_file(log: LogFile, *, lean: bool = False) -> FileLists:
    """Read and extract one file; a bad file comes back with ``skip_reason`` set, never an exception.

    ``lean`` may leave the :data:`OPTIONAL_COLUMNS` None (never for a cache entry, which must be whole).

    >>> from smtrail_sql.reader.layout import LogFile
    >>> read_log_file(LogFile("/nonexistent.json.gz", 0, 0)).skip_reason
    'unreadable'
    """
    try:
        with open(log.path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return FileLists(SKIP_UNREADABLE)
    return extract_lists(raw, log, lean=lean)


def _decompress(raw: bytes) -> bytes | None:
    from isal import igzip, isal_zlib

    failures = (getattr(isal_zlib, "error", OSError), OSError, EOFError, ValueError)
    try:
        # the usual file is one gzip member: inflated in one call (igzip.decompress reads it in chunks and
        # joins them, 15% slower); anything else (several members, trailing bytes, a cut) goes to igzip below
        inflater = isal_zlib.decompressobj(wbits=31)
        data: bytes = inflater.decompress(raw)
        if inflater.eof and not inflater.unused_data:
            return data
        data = igzip.decompress(raw)  # type: ignore[no-untyped-call]  # every member, as gzip does
        return data
    except failures:
        return None


def extract_lists(raw: bytes, log: LogFile, *, lean: bool = False) -> FileLists:
    """Extract the metric calls and points of a log file's bytes (gzipped or not); see the module docstring.

    ``lean``: as in :func:`read_log_file`.
    """
    if not raw.strip():
        return FileLists(SKIP_EMPTY)
    if raw[:2] == _GZIP_MAGIC:
        data = _decompress(raw)
        if data is None:
            return FileLists(SKIP_CORRUPT_GZIP)
    elif log.path.endswith(".gz"):
        return FileLists(SKIP_CORRUPT_GZIP)
    else:
        data = raw
    if not data.strip():
        return FileLists(SKIP_EMPTY)
    return _extract_json(data, log, lean)


def _extract_json(data: bytes, log: LogFile, lean: bool = False) -> FileLists:
    """Decode with the typed schema (only the fields a metric call needs, in C); odd shapes go generic."""
    import msgspec

    from smtrail_sql.reader import shapes

    if _EVENT_NAME_BYTES not in data:
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
        lean_lists = _extract_lean(data, log)
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
    calls = [e for e in document.Records if e.eventName == METRICS_EVENT_NAME
             and e.eventSource == METRICS_EVENT_SOURCE]
    if not _columnar(calls, log, lists):
        lists.typed_points = True  # until a call's points come as plain JSON (see _ListBuilder._add_points)
        builder = _ListBuilder(log, lists)
        for event in calls:
            builder.add_typed(event)
    return lists


def _extract_lean(data: bytes, log: LogFile) -> FileLists | None:
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
    calls = [e for e in document.Records if e.eventName == METRICS_EVENT_NAME
             and e.eventSource == METRICS_EVENT_SOURCE]
    return lists if _columnar(calls, log, lists, lean=True) else None


def _columnar(calls: list[Any], log: LogFile, lists: FileLists, *, lean: bool = False) -> bool:
    """The usual file, column by column with comprehensions (much cheaper than appends call by call).

    Usual means: the location gives the partition, every ``requestParameters`` is an object or null, and no
    ``eventID`` repeats; otherwise returns False and leaves ``lists`` untouched. ``lean`` calls (decoded as
    :class:`~smtrail_sql.reader.shapes.LeanEvent`) leave the :data:`OPTIONAL_COLUMNS` None.
    """
    account, region, day = log.account_id, log.region, log.day
    if account is None or region is None or day is None:
        return False
    ids = list(map(_EVENT_ID, calls))
    if len(set(ids)) != len(ids) or None in ids:
        return False
    params = list(map(_REQUEST_PARAMETERS, calls))
    if str in set(map(type, params)):
        return False
    size = len(calls)
    if None in params:  # a null requestParameters: no component, no points
        data: list[Any] = [p.metricData if p is not None else None for p in params]
        components = [p.trialComponentName if p is not None else None for p in params]
    else:
        data, components = list(map(_METRIC_DATA, params)), list(map(_TRIAL_COMPONENT, params))
    codes = list(map(_ERROR_CODE, calls))
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
        columns["event_time"] = [e.eventTime for e in calls]
        columns["trial_component_arn"] = [_typed_trial_component_arn(e.resources) for e in calls]
        columns["error_message"] = [e.errorMessage for e in calls]
        columns["caller_arn"] = [e.userIdentity.arn if e.userIdentity is not None else None for e in calls]
        columns["user_agent"] = [e.userAgent for e in calls]
        columns["source_ip"] = [e.sourceIPAddress for e in calls]
    # a failed call stored nothing; the points of the others, flattened in C (no loop over calls here)
    stored = counts.copy()
    for failed in compress(count(), map(is_not, codes, repeat(None))):
        stored[failed] = 0
    points = list(chain.from_iterable(compress(data, stored)))
    lists.call_points = stored
    lists.typed_points = True
    lists.names = list(map(_METRIC_NAME, points))
    lists.values = list(map(_VALUE, points))
    lists.steps = list(map(_STEP, points))
    lists.point_times = list(map(_TIMESTAMP, points))
    return True


def _extract_generic(data: bytes, log: LogFile) -> FileLists:
    """Any JSON, as dicts and lists: slower, for files the typed schema does not fit."""
    import msgspec

    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return FileLists(SKIP_TRUNCATED_JSON)
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        digest = isinstance(document, dict) and document.get("digestPublicKeyFingerprint") is not None
        return FileLists(SKIP_DIGEST if digest else SKIP_FOREIGN_JSON)
    lists = FileLists(None, len(records))
    builder = _ListBuilder(log, lists)
    for record in records:
        if type(record) is dict and record.get("eventName") == METRICS_EVENT_NAME \
                and record.get("eventSource") == METRICS_EVENT_SOURCE:
            builder.add(record)
    return lists


def parse_event_time(value: Any) -> datetime | None:
    """``eventTime`` as naive UTC: ISO-8601 with ``Z`` or an offset, or ``2023-01-09 16:01:21``; else None.

    >>> parse_event_time("2022-12-14T21:53:41Z")
    datetime.datetime(2022, 12, 14, 21, 53, 41)
    """
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def point_time_micros(value: Any) -> int | None:
    """A point's ``timestamp`` as epoch microseconds (UTC), or None when it is not a time.

    Numbers (and numeric strings) at or above 1e11 are milliseconds, others seconds; the microseconds are
    ``round(seconds * 1e6)`` half to even, exactly DuckDB's ``to_timestamp(double)``.

    >>> point_time_micros(1670366870000), point_time_micros(1670366870.5), point_time_micros("2022-12-06T22:47:50Z")
    (1670366870000000, 1670366870500000, 1670366870000000)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _iso_micros(value)
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return None
    if not math.isfinite(number):
        return None
    seconds = number / 1000.0 if number >= EPOCH_MILLIS_THRESHOLD else number
    micros = round(seconds * 1e6)
    return micros if _MIN_MICROS <= micros < _MAX_MICROS else None


def _iso_micros(text: str) -> int | None:
    moment = parse_event_time(text)
    if moment is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_step(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    number = _as_float(value)
    if number is None or not math.isfinite(number) or abs(number) >= 2**63:
        return None
    # DuckDB's and Trino's CAST(double AS BIGINT) round half away from zero
    return int(math.copysign(math.floor(abs(number) + 0.5), number))


class _ListBuilder:
    """Appends one metric call's values to a :class:`FileLists`; tight code, it runs once per call."""

    def __init__(self, log: LogFile, lists: FileLists) -> None:
        self.log = log
        self.lists = lists
        self.seen: set[tuple[Any, ...]] = set()
        c = lists.calls
        self.columns = (c["account_id"], c["region"], c["day"], c["event_time"], c["event_id"],
                        c["trial_component"], c["trial_component_arn"], c["point_count"], c["error_code"],
                        c["error_message"], c["caller_arn"], c["user_agent"], c["source_ip"])

    def add(self, event: dict[str, Any]) -> None:
        get = event.get
        log = self.log
        event_time = get("eventTime")
        account, region, day = log.account_id, log.region, log.day
        if account is None or region is None or day is None:
            account, region, day = _fallback_partition(event, account, region, day)
        event_id = get("eventID")
        if event_id is not None:
            key = (account, region, day, event_id)
            if key in self.seen:
                return  # the same event twice in one file
            self.seen.add(key)
        params = get("requestParameters")
        if type(params) is str:
            try:
                params = json.loads(params)
            except ValueError:
                params = None
        if type(params) is dict:
            metric_data = params.get("metricData")
            component = params.get("trialComponentName")
            if type(metric_data) is not list:
                metric_data = []
        else:
            metric_data, component = [], None
        identity = get("userIdentity")
        error_code = get("errorCode")
        (accounts, regions, days, times, ids, components, arns, counts, codes, messages, callers, agents,
         ips) = self.columns
        accounts.append(account)
        regions.append(region)
        days.append(day)
        times.append(event_time)
        ids.append(event_id)
        components.append(component)
        arns.append(_trial_component_arn(get("resources")))
        counts.append(len(metric_data))
        codes.append(error_code)
        messages.append(get("errorMessage"))
        callers.append(identity.get("arn") if type(identity) is dict else None)
        agents.append(get("userAgent"))
        ips.append(get("sourceIPAddress"))
        if error_code is not None or not metric_data:
            self.lists.call_points.append(0)  # a failed call stored nothing
            return
        self._add_points(metric_data)

    def add_typed(self, event: Any) -> None:
        """:meth:`add` for an event decoded with :data:`shapes.LOG_DECODER` (attributes instead of keys)."""
        log = self.log
        account, region, day = log.account_id, log.region, log.day
        if account is None or region is None or day is None:
            account, region, day = _fallback_partition(
                {"recipientAccountId": event.recipientAccountId, "awsRegion": event.awsRegion,
                 "eventTime": event.eventTime}, account, region, day)
        event_id = event.eventID
        if event_id is not None:
            key = (account, region, day, event_id)
            if key in self.seen:
                return  # the same event twice in one file
            self.seen.add(key)
        params = event.requestParameters
        if type(params) is str:
            # a JSON string: the rare shape, read as plain JSON like the generic path does
            self._add_fields(event, account, region, day, _loads_or_none(params), generic_points=True)
            return
        self._add_fields(event, account, region, day, params, generic_points=False)

    def _add_fields(self, event: Any, account: Any, region: Any, day: Any, params: Any, *,
                    generic_points: bool) -> None:
        if params is None:
            metric_data: Any = ()
            component = None
        elif generic_points:
            if type(params) is dict:
                metric_data = params.get("metricData")
                component = params.get("trialComponentName")
                if type(metric_data) is not list:
                    metric_data = ()
            else:
                metric_data, component = (), None
        else:
            metric_data = params.metricData or ()
            component = params.trialComponentName
        identity = event.userIdentity
        error_code = event.errorCode
        (accounts, regions, days, times, ids, components, arns, counts, codes, messages, callers, agents,
         ips) = self.columns
        accounts.append(account)
        regions.append(region)
        days.append(day)
        times.append(event.eventTime)
        ids.append(event.eventID)
        components.append(component)
        arns.append(_typed_trial_component_arn(event.resources))
        counts.append(len(metric_data))
        codes.append(error_code)
        messages.append(event.errorMessage)
        callers.append(identity.arn if identity is not None else None)
        agents.append(event.userAgent)
        ips.append(event.sourceIPAddress)
        if error_code is not None or not metric_data:
            self.lists.call_points.append(0)  # a failed call stored nothing
            return
        if generic_points:
            self._add_points(metric_data)
            return
        lists = self.lists
        lists.call_points.append(len(metric_data))
        lists.names.extend(map(_METRIC_NAME, metric_data))
        lists.values.extend(map(_VALUE, metric_data))
        lists.steps.extend(map(_STEP, metric_data))
        lists.point_times.extend(map(_TIMESTAMP, metric_data))

    def _add_points(self, metric_data: list[Any]) -> None:
        """Points given as plain JSON; an element that is not an object is a point of NULLs, as in the view."""
        lists = self.lists
        lists.typed_points = False
        lists.call_points.append(len(metric_data))
        for point in metric_data:
            if type(point) is not dict:
                point = {}
            lists.names.append(point.get("metricName"))
            lists.values.append(point.get("value"))
            lists.steps.append(point.get("step"))
            lists.point_times.append(point.get("timestamp"))


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _typed_trial_component_arn(resources: Any) -> str | None:
    if not resources:
        return None
    for resource in resources:
        if resource.type == TRIAL_COMPONENT_RESOURCE_TYPE:
            arn = resource.ARN if resource.ARN is not None else resource.arn
            return arn if isinstance(arn, str) else None
    return None


def _fallback_partition(event: dict[str, Any], account: str | None, region: str | None,
                        day: str | None) -> tuple[Any, Any, Any]:
    """Partition values for a file whose location gives none: the event's own account, region and date."""
    if account is None:
        account = event.get("recipientAccountId")
    if region is None:
        region = event.get("awsRegion")
    if day is None:
        moment = parse_event_time(event.get("eventTime"))
        day = f"{moment:%Y/%m/%d}" if moment is not None else None
    return account, region, day


def _trial_component_arn(resources: Any) -> str | None:
    if type(resources) is not list:
        return None
    for resource in resources:
        if type(resource) is dict and resource.get("type") == TRIAL_COMPONENT_RESOURCE_TYPE:
            arn = resource.get("ARN")
            if arn is None:
                arn = resource.get("arn")
            return arn if isinstance(arn, str) else None
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
    typed = all(part.typed_points for part in parts)
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
    # each call's points follow one another, in call order: the owner of each point by run lengths
    owners = np.repeat(np.arange(call_count, dtype=np.int32), call_points)
    indices = _from_numpy(owners, pa.int32())
    columns: dict[str, pa.Array] = {}
    for name in METRIC_POINT_COLUMNS:
        if name == "metric_name":
            columns[name] = _strings(names, _DICTIONARY)
        elif name == "value":
            columns[name] = _numbers(values, pa.float64(), _as_float, None if typed else _NUMBER_TYPES)
        elif name == "step":
            columns[name] = _numbers(steps, pa.int64(), _as_step, None if typed else _INTEGER_TYPES)
        elif name == "metric_time":
            columns[name] = _point_times(times, typed)
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
    encoding afterwards); a value that is not a string is NULL."""
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a field that is not a string in an odd record
        return pa.array([v if isinstance(v, str) else None for v in values], arrow_type)


def _event_times(values: list[Any]) -> pa.Array:
    """``eventTime`` strings: ISO-8601 with a zone (CloudTrail's ``...Z``) cast in C; otherwise one by one.

    (A cast, not ``pyarrow.compute.strptime``, whose first use costs 0.2 s of set-up in every process.)
    """
    texts = _strings(values, pa.string())
    try:
        return _cast(_cast(texts, pa.timestamp("us", tz="UTC")), pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([parse_event_time(v) for v in texts.to_pylist()], pa.timestamp("us"))


#: The Python types Arrow converts exactly as the view casts them (``bool`` is not one: Arrow would make it 1.0).
_NUMBER_TYPES: frozenset[type] = frozenset({int, float, type(None)})
_INTEGER_TYPES: frozenset[type] = frozenset({int, type(None)})


def _numbers(values: list[Any], arrow_type: pa.DataType, convert: Any, exact_types: frozenset[type] | None
             ) -> pa.Array:
    """Arrow converts a list of ``exact_types`` (None: known to be) in C; any other list (strings, booleans,
    fractional steps, integers too large) goes through ``convert``, value by value."""
    if exact_types is None or set(map(type, values)) <= exact_types:
        try:
            return pa.array(values, arrow_type)
        except (pa.ArrowInvalid, OverflowError):
            pass
    return pa.array([convert(v) for v in values], arrow_type)


def _point_times(values: list[Any], typed: bool = False) -> pa.Array:
    """Point timestamps (numbers, strings or anything; ``typed``: floats, strings or None), vectorised over
    the numbers, strings parsed apart."""
    texts: list[str] = []
    positions: list[int] = []
    array = None
    if typed:
        try:
            array = pa.array(values, pa.float64())  # no string among them: the usual case, no look at each
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    if array is None:
        kinds = {float, str, type(None)} if typed else set(map(type, values))
        numbers = values
        if str in kinds:
            positions = list(compress(count(), map(isinstance, values, repeat(str))))
            texts = [values[position] for position in positions]
            numbers = values.copy()
            for position in positions:
                numbers[position] = None
            kinds.discard(str)
        if kinds <= _NUMBER_TYPES:
            try:
                array = pa.array(numbers, pa.float64())
            except (pa.ArrowInvalid, OverflowError):
                pass
    if array is None:  # booleans, objects or integers too large: the rare slow path
        return pa.array([point_time_micros(v) for v in values], pa.timestamp("us"))
    import numpy as np

    numbers = array.to_numpy(zero_copy_only=False)  # (a NULL is NaN)
    with np.errstate(invalid="ignore", over="ignore"):
        seconds = np.where(numbers >= EPOCH_MILLIS_THRESHOLD, numbers / 1000.0, numbers)
        micros = np.rint(seconds * 1e6)  # half to even, as DuckDB's to_timestamp(double)
        invalid = ~((micros >= _MIN_MICROS) & (micros < _MAX_MICROS))  # NaN and inf compare false: NULL
    micros[invalid] = 0
    result = micros.astype(np.int64)
    if texts:
        parsed, parsed_valid = _text_micros(texts)
        result[positions] = parsed
        invalid[positions] = ~parsed_valid
    return _from_numpy(result, pa.timestamp("us"), invalid)


def _text_micros(texts: list[str]) -> tuple[Any, Any]:
    """String point times as epoch microseconds and whether each is a time (two numpy arrays): zoned
    ISO-8601 in C, anything else one by one."""
    import numpy as np

    try:
        zoned = _cast(pa.array(texts, pa.string()), pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        micros = [point_time_micros(text) for text in texts]
        valid = np.fromiter((m is not None for m in micros), bool, len(micros))
        return np.fromiter((m or 0 for m in micros), np.int64, len(micros)), valid
    # (strings give no NULL: every one was parsed)
    return zoned.to_numpy().view(np.int64), np.ones(len(texts), dtype=bool)


def _cast(array: pa.Array, target: pa.DataType) -> pa.Array:
    """``array.cast(target)`` without importing :mod:`pyarrow.compute`, which only wraps the kernels of
    ``pyarrow._compute`` in Python functions and costs 0.05 s in every process that imports it."""
    try:
        from pyarrow._compute import CastOptions, call_function
    except ImportError:  # a pyarrow that moved them
        return array.cast(target)
    result: pa.Array = call_function("cast", [array], CastOptions.safe(target))
    return result
