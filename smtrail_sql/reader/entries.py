"""The bytes of the reader's stored rows: cache entries, snapshots, and the rows a worker process spools.

Two layouts, both checked by a CRC-32 before anything in them is parsed (see :func:`_crc32`), but for the rows a
worker spools, which live for milliseconds (see :func:`write_spool`):

* a **framed payload** (a per-file cache entry, whose payload is the file's marshalled lists: see
  :mod:`smtrail_sql.reader.lists`): ``_FRAME`` (magic ``SMTRAIL2``, payload length, CRC-32 of the payload and
  then of the key), then the payload;
* a **table entry** (a snapshot of a whole selection; a worker's spooled rows, under the key ``""``):
  ``_HEADER`` (magic ``SMTRAIL2``, length of the metadata, length of the points stream, CRC-32 of everything
  after the header, then of the two lengths and the key), the metadata as JSON, then two Arrow IPC streams:
  the points, then the calls (see :mod:`smtrail_sql.reader.tables`). Read back memory-mapped, the tables are
  zero-copy views of the file.

An entry's key is part of its checksum: an entry moved under another name fails the check.

>>> import pyarrow as pa
>>> deserialize_entry(serialize_entry(pa.table({"a": [1]}), pa.table({"b": [2]}), {"files": 1})).meta
{'files': 1}
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

_MAGIC = b"SMTRAIL2"
_FRAME = struct.Struct("<8sQI")  # magic, length of the payload, CRC-32
_HEADER = struct.Struct("<8sQQI")  # magic, length of the metadata, length of the points stream, CRC-32
_LENGTHS = struct.Struct("<QQ")
#: Rows per record batch in a snapshot: DuckDB scans a table's batches in parallel, and one batch of a
#: million rows would leave a core idle (metric-summary over 830,000 points: 0.045 s in one batch, 0.040 s
#: in batches of 65,536 rows).
SNAPSHOT_BATCH_ROWS = 65536


@dataclass(frozen=True)
class CachedRows:
    """A table entry read back: the two tables and the metadata recorded with them."""

    points: pa.Table
    calls: pa.Table
    meta: dict[str, Any]


def _crc32(data: Any, value: int = 0) -> int:
    """CRC-32 with Intel ISA-L (a dependency already, for gzip): 3.5 ms for 40 MB where :func:`zlib.crc32`
    takes 12 ms and BLAKE2b 100 ms. A CRC-32 finds every burst of damage up to 32 bits and misses other random
    damage once in four billion; a cryptographic digest would only guard against forgery, and whoever can write
    the cache folder can forge any entry anyway."""
    from isal import isal_zlib

    return int(isal_zlib.crc32(data, value))


def _checksum(body: Any, meta_length: int, points_length: int, key: str) -> int:
    """The checksum of a table entry: its body, its lengths and its key."""
    return _crc32(_LENGTHS.pack(meta_length, points_length) + key.encode(), _crc32(body))


def frame(payload: bytes, key: str) -> bytes:
    """``payload`` framed under ``key`` (see the module docstring)."""
    return _FRAME.pack(_MAGIC, len(payload), _crc32(key.encode(), _crc32(payload))) + payload


def unframe(data: bytes, key: str) -> bytes | None:
    """The payload of a framed entry, or None when the entry is not whole and undamaged.

    >>> unframe(frame(b"lists", "k"), "k"), unframe(frame(b"lists", "k"), "other"), unframe(b"junk", "k")
    (b'lists', None, None)
    """
    if len(data) < _FRAME.size:
        return None
    magic, length, crc = _FRAME.unpack_from(data)
    if magic != _MAGIC or len(data) != _FRAME.size + length:
        return None
    with memoryview(data) as view:
        if _crc32(key.encode(), _crc32(view[_FRAME.size:])) != crc:
            return None
    return data[_FRAME.size:]


def serialize_entry(points: pa.Table, calls: pa.Table, meta: dict[str, Any], key: str = "") -> bytes:
    """A table entry as bytes (a worker's rows: small enough to build in memory)."""
    import pyarrow as pa

    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    streams: list[bytes] = []
    for table in (points, calls):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        streams.append(sink.getvalue().to_pybytes())
    body = meta_bytes + streams[0] + streams[1]
    crc = _checksum(body, len(meta_bytes), len(streams[0]), key)
    return _HEADER.pack(_MAGIC, len(meta_bytes), len(streams[0]), crc) + body


def write_spool(path: str, points: pa.Table, calls: pa.Table) -> None:
    """A worker's rows, as a table entry for its reader to map (:func:`read_entry` with ``verify=False``), in a
    new file. Unchecked (its checksum is 0): the file lives for milliseconds in the run's own spool folder,
    written by this run's worker and read by the process that forked it, never kept; a checksum there cost
    the reading process 0.07 s of a core the workers needed (the bench's metric-heavy logs)."""
    import pyarrow as pa

    # the streams written straight to the file, then the header with their length: in memory first, every
    # buffer was copied again as the stream grew (a group of 64 bench files: 2.3 ms, 1.4 ms so)
    with open(path, "wb") as handle:
        handle.write(_HEADER.pack(_MAGIC, len(_NO_META), 0, 0) + _NO_META)
        sink = pa.PythonFile(handle, mode="w")
        lengths = []
        for table in (points, calls):
            start = handle.tell()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            lengths.append(handle.tell() - start)
        handle.seek(0)
        handle.write(_HEADER.pack(_MAGIC, len(_NO_META), lengths[0], 0))


#: The metadata of an entry that has none.
_NO_META = b"{}"


def write_entry(handle: IO[bytes], points: pa.Table | Iterable[pa.Table], calls: pa.Table, meta: dict[str, Any],
                key: str) -> None:
    """Stream a table entry into ``handle``, a new file opened ``w+b`` (a snapshot: no copy of it in memory),
    in batches of :data:`SNAPSHOT_BATCH_ROWS`; the header goes last, so until then the file does not even
    claim to be an entry. ``points`` may come as tables of the same schema, one after the other (each
    written, then let go)."""
    import pyarrow as pa

    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    handle.write(_HEADER.pack(_MAGIC, 0, 0, 0))
    handle.write(meta_bytes)
    start = handle.tell()
    points_length = 0
    for tables in (points, calls):
        writer = None
        for table in [tables] if isinstance(tables, pa.Table) else tables:
            if writer is None:
                writer = pa.ipc.new_stream(handle, table.schema)
            writer.write_table(table, max_chunksize=SNAPSHOT_BATCH_ROWS)
            del table  # (before the next one is made)
        if writer is None:
            raise ValueError("a table entry needs its points")
        writer.close()
        if tables is points:
            points_length = handle.tell() - start
    handle.flush()
    # the checksum of what is on disk, read back from the page cache (about 3 ms for 40 MB)
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as written:
        with memoryview(written) as view:
            crc = _checksum(view[_HEADER.size:], len(meta_bytes), points_length, key)
    handle.seek(0)
    handle.write(_HEADER.pack(_MAGIC, len(meta_bytes), points_length, crc))


def deserialize_entry(buffer: Any, key: str = "") -> CachedRows:
    """Read a table entry from bytes or an Arrow buffer (zero-copy over a memory map); ValueError if it is not
    whole, or damaged: its checksum is verified before anything in it is parsed."""
    import pyarrow as pa

    data = pa.py_buffer(buffer) if isinstance(buffer, bytes | bytearray) else buffer
    with memoryview(data) as view:
        meta_len, points_len = _verified(view, key)
    return _tables(data, meta_len, points_len)


def _verified(view: memoryview, key: str, verify: bool = True) -> tuple[int, int]:
    """The lengths of a table entry's metadata and points stream, once its header and (``verify``) checksum
    are checked (ValueError otherwise)."""
    if view.nbytes < _HEADER.size:
        raise ValueError("cache entry too short")
    magic, meta_len, points_len, crc = _HEADER.unpack(view[:_HEADER.size])
    if magic != _MAGIC or _HEADER.size + meta_len + points_len > view.nbytes:
        raise ValueError("not a cache entry")
    if verify and _checksum(view[_HEADER.size:], meta_len, points_len, key) != crc:
        raise ValueError("cache entry damaged (checksum)")
    return meta_len, points_len


def _tables(data: pa.Buffer, meta_len: int, points_len: int) -> CachedRows:
    """The metadata and the two tables of a verified table entry."""
    import pyarrow as pa

    offset = _HEADER.size
    meta = json.loads(data.slice(offset, meta_len).to_pybytes())
    offset += meta_len
    calls_buf = data.slice(offset + points_len)
    if not points_len or not calls_buf.size:
        raise ValueError("cache entry without its two tables")
    points = pa.ipc.open_stream(data.slice(offset, points_len)).read_all()
    calls = pa.ipc.open_stream(calls_buf).read_all()
    return CachedRows(points, calls, meta)


def read_entry(path: str | Path, key: str = "", *, verify: bool = True) -> CachedRows:
    """A table entry (written under ``key``) from a file, memory-mapped: its tables stay valid after the file is
    removed. Raises OSError or ValueError when it cannot be read whole and undamaged. ``verify=False``: a
    worker's spool (see :func:`write_spool`), whose checksum is not checked.

    The checksum is verified on the mapped bytes before pyarrow is even loaded: only then are the rows known
    to come from here, which lets a one-query process load it lean (see :mod:`smtrail_sql.process`).
    """
    from smtrail_sql.process import import_pyarrow

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _HEADER.size:
            raise ValueError(f"{path}: cache entry too short")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    with memoryview(mapped) as view:
        meta_len, points_len = _verified(view, key, verify)
    pa = import_pyarrow()
    try:
        return _tables(pa.py_buffer(mapped), meta_len, points_len)
    except pa.ArrowException as error:
        raise ValueError(f"{path}: not a whole entry: {error}") from None
