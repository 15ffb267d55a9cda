"""A cache of what the reader extracted, so a second query over unchanged logs reads no log file.

Two kinds of entry, both Arrow IPC streams of the two relations' rows (memory-mapped when read back):

* **per file**, keyed by the file's path, size, modification time and :data:`READER_VERSION`: a changed or
  new file misses, the others hit;
* **per file set** (a *snapshot*), keyed by every selected file's key: an unchanged selection (the usual warm
  run) opens one file instead of a thousand. Only the newest :data:`MAX_SNAPSHOTS` are kept.

Every entry is written to a temporary file in the same folder and moved into place with :func:`os.replace`,
so an interrupted run leaves either the old entry or none, never half of one; an entry that does not read back
whole is treated as missing and removed.

The folder is ``$SMTRAIL_CACHE_DIR``, else ``$XDG_CACHE_HOME/smtrail-sql``, else ``~/.cache/smtrail-sql``.

>>> import tempfile
>>> cache = ExtractCache(tempfile.mkdtemp())
>>> cache.info().entries
0
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.layout import LogFile

#: Bump when the reader's output changes, so every cached entry is re-extracted.
READER_VERSION = 2  # 2: the rules of DDL version 2 (no dedup, point_index, milliseconds)
#: Snapshots (whole file sets) kept; older ones are removed when a new one is written.
MAX_SNAPSHOTS = 6

_MAGIC = b"SMTRAIL1"
_HEADER = struct.Struct("<8sQQ")  # magic, length of the metadata, length of the points stream


def default_cache_dir() -> Path:
    """``$SMTRAIL_CACHE_DIR``, else ``$XDG_CACHE_HOME/smtrail-sql``, else ``~/.cache/smtrail-sql``."""
    explicit = os.environ.get("SMTRAIL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "smtrail-sql"


@dataclass(frozen=True)
class CachedRows:
    """An entry read back: the two tables (``None`` for a skipped file) and what was recorded with them."""

    points: pa.Table | None
    calls: pa.Table | None
    meta: dict[str, Any]


@dataclass(frozen=True)
class CacheInfo:
    """Size of the cache folder, for ``smtrail-sql cache info``."""

    path: Path
    entries: int
    snapshots: int
    bytes: int


def file_key(log: LogFile) -> str:
    """The per-file key: path, size, modification time (ns) and reader version, hashed.

    >>> from smtrail_sql.reader.layout import LogFile
    >>> file_key(LogFile("/a.json.gz", 10, 1)) == file_key(LogFile("/a.json.gz", 10, 2))
    False
    """
    return hashlib.sha256(f"{READER_VERSION}\0{_identity(log)}".encode()).hexdigest()


def _identity(log: LogFile) -> str:
    """What tells a file's rows apart: its absolute path, size, modification time and partition."""
    path = log.path if log.path[:1] == "/" else os.path.abspath(log.path)  # (discovery's paths are absolute)
    return f"{path}\0{log.size}\0{log.mtime_ns}\0{log.account_id}\0{log.region}\0{log.day}"


def snapshot_key(logs: Iterable[LogFile]) -> str:
    """The key of a whole selection of files: any change, addition or removal gives another key.

    One digest over every file's identity (a warm query spends no time hashing file by file).
    """
    text = "\n".join(map(_identity, logs))
    return hashlib.sha256(f"snapshot {READER_VERSION}\n{text}".encode()).hexdigest()


class ExtractCache:
    """The on-disk cache of extracted rows (see the module docstring).

    >>> import tempfile, pyarrow as pa
    >>> cache = ExtractCache(tempfile.mkdtemp())
    >>> cache.store_snapshot("k", pa.table({"a": [1]}), pa.table({"b": [2]}), {"files": 1})
    >>> cache.load_snapshot("k").meta
    {'files': 1}
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        #: The last snapshot read, kept mapped while its file is unchanged: (key, file identity, rows).
        self._last_snapshot: tuple[str, tuple[int, int, int], CachedRows] | None = None

    # -- per file -------------------------------------------------------------------------------------------
    def _file_path(self, key: str) -> Path:
        return self.root / "files" / key[:2] / f"{key}.entry"

    def load_file(self, log: LogFile) -> bytes | None:
        """The cached extraction of ``log`` (bytes the reader wrote), or None on a miss or a damaged entry."""
        path = self._file_path(file_key(log))
        try:
            data = path.read_bytes()
        except OSError:
            return None
        payload = _unframe(data)
        if payload is None:
            with contextlib.suppress(OSError):
                path.unlink()
        return payload

    def store_file(self, log: LogFile, payload: bytes) -> None:
        """Record the extraction of ``log`` (any bytes; the reader stores its marshalled lists).

        The cache is best effort: a folder that cannot be written (read-only, full) only costs speed.
        """
        with contextlib.suppress(OSError):
            _write_bytes(self._file_path(file_key(log)), _frame(payload))

    # -- per file set ---------------------------------------------------------------------------------------
    def _snapshot_path(self, key: str) -> Path:
        return self.root / "snapshots" / f"{key}.arrows"

    def load_snapshot(self, key: str) -> CachedRows | None:
        """The rows of a whole selection, or None.

        The last snapshot read is kept (memory-mapped) while its file is the same file, whole: asked for again,
        it is the same tables, so a query engine can keep them registered.
        """
        path = self._snapshot_path(key)
        try:
            before = _file_identity(path)
        except OSError:
            return None
        last = self._last_snapshot
        if last is not None and last[0] == key and last[1] == before:
            entry: CachedRows | None = last[2]
        else:
            entry = _read_entry(path)
            self._last_snapshot = (key, before, entry) if entry is not None else None
        if entry is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # the newest snapshots survive pruning
        return entry

    def store_snapshot(self, key: str, points: pa.Table, calls: pa.Table, meta: dict[str, Any]) -> None:
        """Record the rows of a whole selection, then drop the oldest snapshots beyond :data:`MAX_SNAPSHOTS`.

        Best effort, as :meth:`store_file`.
        """
        try:
            _write_entry(self._snapshot_path(key), points, calls, meta)
            folder = self._snapshot_path(key).parent
            snapshots = sorted(folder.glob("*.arrows"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        except OSError:
            return
        for old in snapshots[MAX_SNAPSHOTS:]:
            with contextlib.suppress(OSError):
                old.unlink()

    # -- housekeeping ---------------------------------------------------------------------------------------
    def info(self) -> CacheInfo:
        """How many entries and bytes the cache holds."""
        entries = snapshots = size = 0
        if self.root.is_dir():
            for path in [*self.root.rglob("*.arrows"), *self.root.rglob("*.entry")]:
                with contextlib.suppress(OSError):
                    size += path.stat().st_size
                    if path.parent.name == "snapshots":
                        snapshots += 1
                    else:
                        entries += 1
        return CacheInfo(self.root, entries, snapshots, size)

    def clear(self) -> CacheInfo:
        """Remove every entry; returns what was there."""
        self._last_snapshot = None
        before = self.info()
        for sub in ("files", "snapshots"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        return before


#: Rows per record batch in a snapshot: DuckDB scans a table's batches in parallel, and one batch of a
#: million rows would leave a core idle (metric-summary over 830,000 points: 0.045 s in one batch, 0.040 s
#: in batches of 65,536 rows).
SNAPSHOT_BATCH_ROWS = 65536

_FRAME = struct.Struct("<8sQ")


def _frame(payload: bytes) -> bytes:
    return _FRAME.pack(_MAGIC, len(payload)) + payload


def _unframe(data: bytes) -> bytes | None:
    """The payload of a framed entry, or None when the entry is not whole."""
    if len(data) < _FRAME.size:
        return None
    magic, length = _FRAME.unpack_from(data)
    if magic != _MAGIC or len(data) != _FRAME.size + length:
        return None
    return data[_FRAME.size:]


def serialize_entry(points: pa.Table | None, calls: pa.Table | None, meta: dict[str, Any]) -> bytes:
    """One entry as bytes: header, JSON metadata, then the points and calls as Arrow IPC streams."""
    import pyarrow as pa

    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    streams = []
    for table in (points, calls):
        if table is None:
            streams.append(b"")
            continue
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        streams.append(sink.getvalue().to_pybytes())
    return _HEADER.pack(_MAGIC, len(meta_bytes), len(streams[0])) + meta_bytes + streams[0] + streams[1]


def deserialize_entry(buffer: Any) -> CachedRows:
    """Read an entry from bytes or an Arrow buffer (zero-copy over a memory map); ValueError if not whole."""
    import pyarrow as pa

    data = pa.py_buffer(buffer) if isinstance(buffer, bytes | bytearray) else buffer
    if data.size < _HEADER.size:
        raise ValueError("cache entry too short")
    magic, meta_len, points_len = _HEADER.unpack(data.slice(0, _HEADER.size).to_pybytes())
    if magic != _MAGIC or _HEADER.size + meta_len + points_len > data.size:
        raise ValueError("not a cache entry")
    offset = _HEADER.size
    meta = json.loads(data.slice(offset, meta_len).to_pybytes())
    offset += meta_len
    points_buf = data.slice(offset, points_len)
    calls_buf = data.slice(offset + points_len)
    points = pa.ipc.open_stream(points_buf).read_all() if points_len else None
    calls = pa.ipc.open_stream(calls_buf).read_all() if calls_buf.size else None
    if (points is None) != (calls is None):
        raise ValueError("cache entry holds one table of two")
    return CachedRows(points, calls, meta)


def read_entry(path: str | Path) -> CachedRows:
    """An entry (as :func:`serialize_entry` writes it) from a file, memory-mapped: its tables stay valid
    after the file is removed. Raises OSError or ValueError when it cannot be read whole."""
    import pyarrow as pa

    try:
        with pa.memory_map(str(path), "r") as source:
            return deserialize_entry(source.read_buffer())
    except pa.ArrowInvalid as error:
        raise ValueError(f"{path}: not a whole entry: {error}") from None


def _file_identity(path: Path) -> tuple[int, int, int]:
    """Device, inode and size: an entry replaced (always by a rename) or cut short is another file."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size


def _read_entry(path: Path) -> CachedRows | None:
    import pyarrow as pa

    try:
        return read_entry(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, pa.ArrowInvalid):
        # a damaged entry (disk full, a copy cut short): forget it, the file is simply read again
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _write_entry(path: Path, points: pa.Table, calls: pa.Table, meta: dict[str, Any]) -> None:
    """Stream both tables into a temporary file (no copy of a snapshot in memory), then move it in place."""
    import pyarrow as pa

    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_HEADER.pack(_MAGIC, len(meta_bytes), 0))
            handle.write(meta_bytes)
            start = handle.tell()
            for table in (points, calls):
                with pa.ipc.new_stream(handle, table.schema) as writer:
                    writer.write_table(table, max_chunksize=SNAPSHOT_BATCH_ROWS)
                if table is points:
                    points_length = handle.tell() - start
            # the header goes last: until then the entry does not even claim to be whole
            handle.seek(0)
            handle.write(_HEADER.pack(_MAGIC, len(meta_bytes), points_length))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _write_bytes(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
