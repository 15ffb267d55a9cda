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
from bisect import bisect_right
from itertools import accumulate, repeat
from operator import add
from stat import S_ISREG
from typing import Any

from smtrail_sql.reader import native, search
from smtrail_sql.reader.columnar import columnar, metric_calls
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
from smtrail_sql.reader.lists import FileLists
from smtrail_sql.schema import METRICS_EVENT_NAME
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

_QUOTED_EVENT_NAME = f'"{METRICS_EVENT_NAME}"'.encode()
#: A JSON escape of an ASCII letter (``\u0041``-``\u007a``, any case of hex digit): the only way to spell the
#: event name other than as the literal bytes (JSON has no other escape for a letter). A file without one and
#: without the literal holds no metric call; one with it is read by a path that decodes escapes. (A match on
#: an escaped backslash followed by ``u00..`` is a false alarm: that file is only read the slow, sure way.)
#: Found by :func:`_holds_letter_escape`: ``\u00`` searched for, then the digit after it.
_ESCAPE_START, _LETTER_ESCAPE_DIGITS = b"\\u00", b"4567"
#: The same, for the rest of a file where ``\u00`` comes every few bytes (see :func:`_holds_letter_escape`).
_DENSE_ESCAPE = re.compile(rb"\\u00[4-7]")
_GZIP_MAGIC = b"\x1f\x8b"
#: A file with fewer metric calls than one per this many bytes is read by :func:`_extract_sparse` (a metric call
#: takes one or two kilobytes: below this, calls are a tenth of the file at most).
SPARSE_BYTES_PER_CALL = 16384


def read_log_file(log: LogFile, *, lean: bool = False, max_size: int = DEFAULT_MAX_LOG_SIZE) -> FileLists:
    """Read and extract one file; a bad file comes back with ``skip_reason`` set, never an exception.

    ``lean`` may leave the :data:`~smtrail_sql.reader.lists.OPTIONAL_COLUMNS` None (never for a cache entry,
    which must be whole).
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
    ``max_size``, and the usual file, one member, is still inflated in one call, into a buffer of the size its
    trailer gives (a hint only, never trusted: a member of another size is inflated again, up to the limit).
    Speed trick: without the hint, the buffer grows as it fills, which costs where glibc's malloc is not tuned
    as the workers' is (``workers._keep_freed_memory``): 0.54 ms a bench file, 0.35 ms with it.

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
            data, inflater = _inflate_member(rest, max_size - total + 1)
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


def _inflate_member(member: bytes, room: int) -> tuple[bytes, Any]:
    """Inflate the gzip member that starts ``member`` (other members may follow), at most ``room`` bytes of it,
    and the inflater (its ``eof``, its ``unused_data``): into a buffer of the size its trailer claims (exact for
    a file of one member); when that is not its size (a file of several members, zero padding, a trailer that
    lies), inflated again the usual way, as one call whose buffer grows: never a copy of the rest of the file."""
    from isal import isal_zlib

    claimed = int.from_bytes(member[-4:], "little") + 1  # (+1: a member longer than claimed is seen to be)
    inflater = isal_zlib.decompressobj(wbits=31)  # (checks the header, the CRC and the length)
    if claimed < room:
        data: bytes = inflater.decompress(member, claimed)
        if inflater.eof:
            return data, inflater
        inflater = isal_zlib.decompressobj(wbits=31)
    return inflater.decompress(member, room), inflater


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
    :mod:`~smtrail_sql.reader.columnar`); any other file is read by the generic path.
    """
    scanned = native.scan(data, log)  # the usual file, in C (when built); None for any other
    if scanned is not None:
        return scanned
    import smtrail_sql.reader.shapes as shapes  # (msgspec's structs: loaded by the first file the scanner declines)

    quoted = search.count(data, _QUOTED_EVENT_NAME)
    if not quoted:
        if _holds_letter_escape(data):  # the event name could be spelt with escapes: only the generic path can tell
            return extract_generic(data, log)
        # most of a trail is other traffic: a file without the event name cannot hold a metric call, so it is
        # only checked for being a CloudTrail log
        outline = _typed(shapes.OUTLINE_DECODER, data, log)
        return outline if isinstance(outline, FileLists) else FileLists(None, len(outline.Records))
    if lean:
        lean_lists = _extract_lean(data, log, quoted)
        if lean_lists is not None:
            return lean_lists
    elif quoted * SPARSE_BYTES_PER_CALL <= len(data):
        sparse = _extract_sparse(data, log, quoted)
        if sparse is not None:
            return sparse
    document = _typed(shapes.LOG_DECODER, data, log)
    if isinstance(document, FileLists):
        return document
    lists = FileLists(None, len(document.Records))
    calls = metric_calls(document.Records, quoted)
    if calls is not None and columnar(calls, log, lists):
        return lists
    return extract_generic(data, log)


def _holds_letter_escape(data: bytes) -> bool:
    r"""Whether ``data`` holds a JSON escape of an ASCII letter (see :data:`_ESCAPE_START`).

    >>> _holds_letter_escape(rb'{"eventName":"\u0042atchPutMetrics"}'), _holds_letter_escape(rb'"caf\u00e9"')
    (True, False)
    """
    at, hits = search.find(data, _ESCAPE_START), 0
    while at >= 0:
        if at + 4 < len(data) and data[at + 4] in _LETTER_ESCAPE_DIGITS:
            return True
        hits += 1
        if hits % search.DENSE_HITS == 0 and at < hits * search.DENSE_BYTES:  # dense (a text of escaped accents):
            return _DENSE_ESCAPE.search(data, at + 1) is not None  # one regular scan beats a call per hit
        at = search.find(data, _ESCAPE_START, at + 1)
    return False


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
    """The usual file (see :func:`~smtrail_sql.reader.columnar.columnar`) decoded without the
    :data:`~smtrail_sql.reader.lists.OPTIONAL_COLUMNS`, which stay None; None for any other file, which the
    full decoder then reads."""
    import msgspec

    import smtrail_sql.reader.shapes as shapes

    try:
        document = shapes.LEAN_LOG_DECODER.decode(data)
    except msgspec.DecodeError:  # (ValidationError included) the full path tells why
        return None
    if document.Records is None:
        return None
    lists = FileLists(None, len(document.Records))
    calls = metric_calls(document.Records, quoted)
    return lists if calls is not None and columnar(calls, log, lists, lean=True) else None


def _extract_sparse(data: bytes, log: LogFile, quoted: int) -> FileLists | None:
    """A file whose metric calls are few among other traffic: its records only validated and counted
    (:class:`~smtrail_sql.reader.shapes.Outline`), and typed only those that hold the quoted event name; None
    for any other file (the full decoder then reads it, and tells why).

    Exactly the full decoder's rows: in an ASCII file without a letter escape (see :data:`_ESCAPE_START`), a
    record named ``BatchPutMetrics`` holds the quoted name, and no field left undecoded could have failed to
    decode (only text that is not UTF-8 fails in a field that skipping accepts);
    :func:`~smtrail_sql.reader.columnar.metric_calls` then proves that every named record was among those
    typed: as many of them as quoted names. Speed trick: the bench's 1%-metric files take 0.22 s of CPU per
    320 files this way, 0.34 s with the full decoder. Not for a lean read: its decoder costs no more (0.20 s).
    """
    import msgspec

    import smtrail_sql.reader.shapes as shapes

    if not data.isascii() or _holds_letter_escape(data):
        return None
    try:
        records = shapes.OUTLINE_DECODER.decode(data).Records
        if not records:
            return None
        events = shapes.EVENTS_DECODER.decode(b"[" + b",".join(_records_holding(data, records, quoted)) + b"]")
    except msgspec.DecodeError:  # (ValidationError included) the full path tells why
        return None
    lists = FileLists(None, len(records))
    calls = metric_calls(events, quoted)
    return lists if calls is not None and columnar(calls, log, lists) else None


def _records_holding(data: bytes, records: list[Any], quoted: int) -> list[Any]:
    """The raw records (in file order) where the quoted event name is found in ``data``.

    Each record's offset is told by the lengths of those before it, CloudTrail's records being separated by
    one comma: no look at each record in Python (500 records a file in the bench, 0.15 s per 320 files). A file
    laid out otherwise has each record searched instead. (A name outside every record picks none, and
    :func:`~smtrail_sql.reader.columnar.metric_calls` then finds fewer calls than names.)
    """
    starts = list(accumulate(map(add, map(len, records), repeat(1)), initial=data.find(records[0])))
    chosen: list[int] = []
    at = -1
    for _ in range(quoted):
        at = data.find(_QUOTED_EVENT_NAME, at + 1)
        index = bisect_right(starts, at) - 1
        if 0 <= index < len(records) and (not chosen or chosen[-1] != index):
            chosen.append(index)
    if all(data.find(records[i], starts[i], starts[i + 1]) == starts[i] for i in chosen):
        return [records[i] for i in chosen]
    return [r for r in records if _QUOTED_EVENT_NAME in bytes(r)]
