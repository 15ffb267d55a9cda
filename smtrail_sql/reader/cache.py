"""A cache of what the reader extracted, so a second query over unchanged logs reads no log file.

Two kinds of entry (their bytes: :mod:`smtrail_sql.reader.entries`):

* **per file**, ``files/KE/KEY.entry``: the file's lists as the reader marshals them (see
  :mod:`smtrail_sql.reader.lists`), in a frame with their length and a CRC-32; keyed by the file's identity
  (see :func:`file_key`): a changed or new file misses, the others hit;
* **per file set** (a *snapshot*), ``snapshots/KEY.arrows``: a header (lengths and a CRC-32), JSON metadata (the
  skipped files and their reasons, whether each event was read once), then the two relations' rows as two
  Arrow IPC streams, points then calls, memory-mapped when read back; keyed by every selected file's identity:
  an unchanged selection (the usual warm run) opens one file instead of a thousand. Only the newest
  :data:`MAX_SNAPSHOTS` are kept.

What the cache guarantees:

* a file whose content may have changed is never answered from the cache: keys hold its inode and change time
  beside path, size and modification time;
* an entry is served only whole and undamaged: the CRC-32 covers its bytes and its key, and is checked before
  anything in it is parsed (a snapshot is never handed to Arrow unverified); an entry that fails the check is
  removed and its files are read again;
* an entry is written to a temporary file and moved into place with :func:`os.replace`, so a run stopped at any
  point leaves the old entry or none, never half of one; temporaries are named after their writer's pid, and a
  killed writer's are removed by the next run (see :mod:`smtrail_sql.runfiles`).

The folder is ``$SMTRAIL_CACHE_DIR``, else ``$XDG_CACHE_HOME/smtrail-sql``, else ``~/.cache/smtrail-sql``.

>>> import tempfile
>>> cache = ExtractCache(tempfile.mkdtemp())
>>> cache.info().entries
0
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtrail_sql.reader.entries import CachedRows, frame, read_entry, unframe, write_entry
from smtrail_sql.runfiles import hold, owned_prefix, remove_dead, remove_dead_scratch

if TYPE_CHECKING:
    import pyarrow as pa

    from smtrail_sql.reader.layout import LogFile

#: Bump when the reader's output changes, so every cached entry is re-extracted.
READER_VERSION = 2  # 2: the rules of DDL version 2 (no dedup, point_index, milliseconds)
#: Bump when the layout of entries or keys changes: older entries are then never even looked up.
CACHE_FORMAT = 2  # 2: inode and change time in keys, CRC-32 in every entry, temporaries named after their pid
#: Snapshots (whole file sets) kept; older ones are removed when a new one is written.
MAX_SNAPSHOTS = 6

_TEMP_PREFIX = ".tmp-"


def default_cache_dir() -> Path:
    """``$SMTRAIL_CACHE_DIR``, else ``$XDG_CACHE_HOME/smtrail-sql``, else ``~/.cache/smtrail-sql``."""
    explicit = os.environ.get("SMTRAIL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "smtrail-sql"


@dataclass(frozen=True)
class CacheInfo:
    """Size of the cache folder, for ``smtrail-sql cache info``."""

    path: Path
    entries: int
    snapshots: int
    bytes: int


def file_key(log: LogFile) -> str:
    """The per-file key: the file's identity (see :func:`with_identity`), reader version and format, hashed.

    Identity is what ``stat`` says, not a digest of the content: the warm path stats every file anyway (about
    50 ms for 1,000 files), while hashing their content would mean reading it all, the very cost the cache
    saves. Path, size and modification time are not enough (a rewrite can keep the size, and the modification
    time can be set back); the inode and the change time (``st_ctime_ns``) are: any write, ``utime`` or rename
    moves the change time, and no user can set it back. (It moves by the kernel's clock tick: two rewrites of
    one file within a few milliseconds, with a read between them, are the case this does not tell apart.)
    A file changed while it is read is cached under the identity it had before: a key it can never have again.

    >>> from smtrail_sql.reader.layout import LogFile
    >>> file_key(LogFile("/a.json.gz", 10, 1)) == file_key(LogFile("/a.json.gz", 10, 2))
    False
    """
    import hashlib  # (here: 2 ms of a cold executor's start-up, which needs no key)

    return hashlib.sha256(f"{READER_VERSION}\0{CACHE_FORMAT}\0{_identity(log)}".encode()).hexdigest()


def _identity(log: LogFile) -> str:
    """What tells a file's rows apart: its absolute path, stat identity and partition."""
    path = log.path if log.path[:1] == "/" else os.path.abspath(log.path)  # (discovery's paths are absolute)
    return (f"{path}\0{log.size}\0{log.mtime_ns}\0{log.inode}\0{log.ctime_ns}\0{log.account_id}\0{log.region}"
            f"\0{log.day}")


def with_identity(logs: Sequence[LogFile]) -> Sequence[LogFile]:
    """``logs``, each with its inode and change time: discovery records them; a file given without is
    stat-ed here, before it is read (never after: its content would then be cached under a later identity).

    >>> from smtrail_sql.reader.layout import LogFile
    >>> with_identity([LogFile("/nonexistent.json.gz", 0, 0)])[0].ctime_ns
    0
    """
    if all(log.ctime_ns for log in logs):
        return logs
    known = []
    for log in logs:
        if not log.ctime_ns:
            with contextlib.suppress(OSError):
                st = os.stat(log.path)
                log = log._replace(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino,
                                   ctime_ns=st.st_ctime_ns)
        known.append(log)
    return known


def snapshot_key(logs: Iterable[LogFile]) -> str:
    """The key of a whole selection of files: any change, addition or removal gives another key.

    One digest over every file's identity (a warm query spends no time hashing file by file).
    """
    import hashlib

    text = "\n".join(map(_identity, logs))
    return hashlib.sha256(f"snapshot {READER_VERSION} {CACHE_FORMAT}\n{text}".encode()).hexdigest()


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
        self._last_snapshot: tuple[str, tuple[int, ...], CachedRows] | None = None

    # -- per file -------------------------------------------------------------------------------------------
    def _file_path(self, key: str) -> Path:
        return self.root / "files" / key[:2] / f"{key}.entry"

    def load_file(self, log: LogFile) -> bytes | None:
        """The cached extraction of ``log`` (bytes the reader wrote), or None on a miss or a damaged entry."""
        key = file_key(log)
        path = self._file_path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        payload = unframe(data, key)
        if payload is None:
            with contextlib.suppress(OSError):
                path.unlink()
        return payload

    def store_file(self, log: LogFile, payload: bytes) -> None:
        """Record the extraction of ``log`` (any bytes; the reader stores its marshalled lists).

        The cache is best effort: a folder that cannot be written (read-only, full) only costs speed.
        """
        key = file_key(log)
        with contextlib.suppress(OSError):
            self._write_bytes(self._file_path(key), frame(payload, key))

    # -- per file set ---------------------------------------------------------------------------------------
    def _snapshot_path(self, key: str) -> Path:
        return self.root / "snapshots" / f"{key}.arrows"

    def has_snapshot(self, key: str) -> bool:
        """Whether a snapshot is kept under ``key`` (whole and undamaged or not: :meth:`load_snapshot` tells)."""
        return self._snapshot_path(key).is_file()

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
            self._last_snapshot = None
            entry = _read_entry(path, key)
        if entry is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # the newest snapshots survive pruning
                # (which moves the change time: the identity kept is the one after it)
                self._last_snapshot = (key, _file_identity(path), entry)
        return entry

    def store_snapshot(self, key: str, points: pa.Table | Iterable[pa.Table], calls: pa.Table,
                       meta: dict[str, Any]) -> None:
        """Record the rows of a whole selection (the points may come as tables one after the other), then drop
        the oldest snapshots beyond :data:`MAX_SNAPSHOTS`.

        Best effort, as :meth:`store_file`.
        """
        try:
            self._write_entry(self._snapshot_path(key), key, points, calls, meta)
            folder = self._snapshot_path(key).parent
            snapshots = sorted(folder.glob("*.arrows"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        except OSError:
            return
        for old in snapshots[MAX_SNAPSHOTS:]:
            with contextlib.suppress(OSError):
                old.unlink()

    # -- writing --------------------------------------------------------------------------------------------
    def _temporary(self) -> tuple[int, str]:
        """A new temporary file (descriptor, path), named after this process and held while it is written.

        Temporaries live in one folder of their own, so that finding a dead writer's costs one directory listing.
        """
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        import tempfile  # (only a cache being written needs it: a warm query imports it not)

        fd, temp = tempfile.mkstemp(dir=folder, prefix=owned_prefix(_TEMP_PREFIX), suffix=".part")
        hold(fd)
        return fd, temp

    def _write_bytes(self, path: Path, payload: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = self._temporary()
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _write_entry(self, path: Path, key: str, points: pa.Table | Iterable[pa.Table], calls: pa.Table,
                     meta: dict[str, Any]) -> None:
        """Stream a snapshot into a temporary file (see :func:`~smtrail_sql.reader.entries.write_entry`), then
        move it in place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = self._temporary()
        try:
            with os.fdopen(fd, "w+b") as handle:
                write_entry(handle, points, calls, meta, key)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    # -- housekeeping ---------------------------------------------------------------------------------------
    def remove_leftovers(self) -> int:
        """Remove the temporary files of writers that died before they finished (see :mod:`smtrail_sql.runfiles`);
        a live writer's are kept. Returns how many were removed."""
        # (the snapshots folder: temporaries of format 1, which were written there, named without a pid)
        return remove_dead(self.root / "tmp", _TEMP_PREFIX) + remove_dead(self.root / "snapshots", _TEMP_PREFIX)

    def info(self) -> CacheInfo:
        """How many entries and bytes the cache holds."""
        entries = snapshots = size = 0
        # (not tmp: what runs going on spool there is theirs, and gone when they end)
        for path in [*(self.root / "snapshots").glob("*.arrows"), *(self.root / "files").rglob("*.entry")]:
            with contextlib.suppress(OSError):
                size += path.stat().st_size
                if path.parent.name == "snapshots":
                    snapshots += 1
                else:
                    entries += 1
        return CacheInfo(self.root, entries, snapshots, size)

    def clear(self) -> CacheInfo:
        """Remove every entry, and what dead runs left in ``tmp``; returns what was there. A run going on keeps
        its scratch files (the rows its workers spool, what its DuckDB spills): it is not broken mid-read."""
        import shutil

        self._last_snapshot = None
        before = self.info()
        for sub in ("files", "snapshots", "rendered"):  # (rendered: smtrail_sql.prerendered)
            shutil.rmtree(self.root / sub, ignore_errors=True)
        self.remove_leftovers()
        remove_dead_scratch(self.root / "tmp")
        with contextlib.suppress(OSError):
            (self.root / "tmp").rmdir()  # (when nothing is left in it)
        return before


def _file_identity(path: Path) -> tuple[int, ...]:
    """Device, inode, size and change time: an entry replaced (always by a rename), cut short or written over
    in place is another file, checked again."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_ctime_ns


def _read_entry(path: Path, key: str) -> CachedRows | None:
    try:
        return read_entry(path, key)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001  (whatever a damaged entry raises, it is a miss, never an error)
        # a damaged entry (disk full, a copy cut short, a bad sector): forget it, the files are read again
        with contextlib.suppress(OSError):
            path.unlink()
        return None

