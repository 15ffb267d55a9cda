"""Read one CloudTrail log file into :class:`~smtrail_sql.reader.lists.FileLists`: its bytes, inflated, decoded.

What counts (DDL version 2's rules; their scalar form is :mod:`smtrail_sql.reader.rules`):

* only ``BatchPutMetrics`` events of ``metrics-sagemaker.amazonaws.com`` count; the record's keys match in any
  case; ``requestParameters`` may be an object or a JSON string (its first key of two equal ones wins), and
  ``metricData`` anything (only an array has points; an element that is not an object is a point of NULLs);
* a failed call (``errorCode`` set) is a row of the calls relation and stores no points;
* nothing is deduplicated: every copy of an event read is a row (the rendered SQL keeps one per ``eventID``).

A file is decoded by the *typed* path when it can be (msgspec structs of :mod:`~smtrail_sql.reader.shapes`,
read column by column: the usual file), else by the *generic* path (:mod:`~smtrail_sql.reader.generic`, the
rules value by value). A bad file comes back with its skip reason, never an exception.
"""

from __future__ import annotations

import errno
import os
import re
from itertools import chain, compress, count, repeat
from operator import attrgetter, is_not
from stat import S_ISREG
from typing import Any

from smtrail_sql.reader.generic import extract_generic
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
from smtrail_sql.reader.lists import OPTIONAL_COLUMNS, FileLists
from smtrail_sql.schema import METRICS_EVENT_NAME, METRICS_EVENT_SOURCE, TRIAL_COMPONENT_RESOURCE_TYPE
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

_QUOTED_EVENT_NAME = f'"{METRICS_EVENT_NAME}"'.encode()
#: A JSON escape of an ASCII letter (``\u0041``-``\u007a``, any case of hex digit): the only way to spell the
#: event name other than as the literal bytes (JSON has no other escape for a letter). A file without one and
#: without the literal holds no metric call; one with it is read by a path that decodes escapes. (A match on
#: an escaped backslash followed by ``u00..`` is a false alarm: that file is only read the slow, sure way.)
_LETTER_ESCAPE = re.compile(rb"\\u00[4-7]")
_GZIP_MAGIC = b"\x1f\x8b"
# attribute readers mapped over lists of decoded structs (a loop in C, twice as fast as a comprehension)
_EVENT_ID, _ERROR_CODE, _REQUEST_PARAMETERS, _EVENT_SOURCE, _EVENT_TIME, _ERROR_MESSAGE = (
    attrgetter(n) for n in ("eventID", "errorCode", "requestParameters", "eventSource", "eventTime",
                            "errorMessage"))
_USER_IDENTITY, _USER_AGENT, _SOURCE_IP, _RESOURCES, _ARN = (
    attrgetter(n) for n in ("userIdentity", "userAgent", "sourceIPAddress", "resources", "arn"))
_METRIC_DATA, _TRIAL_COMPONENT = attrgetter("metricData"), attrgetter("trialComponentName")
_METRIC_NAME, _VALUE, _STEP, _TIMESTAMP = (attrgetter(n) for n in ("metricName", "value", "step", "timestamp"))


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

    import smtrail_sql.reader.shapes as shapes

    quoted = data.count(_QUOTED_EVENT_NAME)
    if not quoted:
        if _LETTER_ESCAPE.search(data):  # the event name could be spelt with escapes: only the generic path can tell
            return extract_generic(data, log)
        # most of a trail is other traffic: a file without the event name cannot hold a metric call, so it is
        # only checked for being a CloudTrail log
        outline = _typed(shapes.OUTLINE_DECODER, data, log)
        return outline if isinstance(outline, FileLists) else FileLists(None, len(outline.Records))
    if lean:
        lean_lists = _extract_lean(data, log, quoted)
        if lean_lists is not None:
            return lean_lists
    document = _typed(shapes.LOG_DECODER, data, log)
    if isinstance(document, FileLists):
        return document
    lists = FileLists(None, len(document.Records))
    calls = _metric_calls(document.Records, quoted)
    if calls is not None and _columnar(calls, log, lists):
        return lists
    return extract_generic(data, log)


def _typed(decoder: Any, data: bytes, log: LogFile) -> Any:
    """The log decoded by a typed ``decoder``, with its ``Records``; or the file's final lists: read by the
    generic path when a field has a type the structs do not expect, ``truncated-json``, or a digest or foreign
    JSON when there are no records."""
    import msgspec

    try:
        document = decoder.decode(data)
    except msgspec.ValidationError:  # (a subclass of DecodeError: caught first) read as plain JSON instead
        return extract_generic(data, log)
    except msgspec.DecodeError:
        return FileLists(SKIP_TRUNCATED_JSON)
    if document.Records is None:
        return FileLists(SKIP_DIGEST if document.digestPublicKeyFingerprint is not None else SKIP_FOREIGN_JSON)
    return document


def _extract_lean(data: bytes, log: LogFile, quoted: int) -> FileLists | None:
    """The usual file (see :func:`_columnar`) decoded without the :data:`OPTIONAL_COLUMNS`, which stay None;
    None for any other file, which the full decoder then reads."""
    import msgspec

    import smtrail_sql.reader.shapes as shapes

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

