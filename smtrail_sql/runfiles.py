"""Scratch files that belong to one run, and the removal of those a dead run left behind.

A run that is killed (``kill -9``, the out-of-memory killer, a SIGTERM with no handler) cannot remove what it
was writing: the cache's temporary files, the rows its workers spool. So every such file or
folder is named ``PREFIX{pid}-...`` after the process that made it, and held with a shared :func:`fcntl.flock`
while in use; the next run removes the ones whose process is gone and whose lock is free. Both tests are needed:
a pid says nothing across PID namespaces (two containers sharing a cache folder), and forked
workers that outlive a killed parent still hold the lock they inherited, so their files stay until they exit.
The lock is released by the kernel when its last holder dies, however it dies.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> name = owned_prefix("demo-")
>>> name == f"demo-{os.getpid()}-"
True
>>> remove_dead(folder, "demo-")
0
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

#: A name of this kind without a pid (written before pids were put in names) is removed once untouched this long.
UNOWNED_AGE_S = 24 * 3600


#: The folders of a run's reader workers' spooled rows, and of its DuckDB's spill (see
#: :mod:`smtrail_sql.reader.workers`), in the cache's ``tmp``: ``{prefix}{pid}-...``.
SPOOL_PREFIX = "smtrail-rows-"
SPILL_PREFIX = "smtrail-duckdb-"


def remove_dead_scratch(folder: str | Path) -> int:
    """Remove the spooled rows and the spill folders that dead runs left in ``folder`` (see
    :func:`remove_dead`); returns how many."""
    return remove_dead(folder, SPOOL_PREFIX) + remove_dead(folder, SPILL_PREFIX)


def owned_prefix(prefix: str) -> str:
    """The start of the name of a scratch file or folder that this process owns."""
    return f"{prefix}{os.getpid()}-"


def hold(fd: int) -> None:
    """Mark an open scratch file or folder as in use until every process holding ``fd`` closes it or dies.

    Best effort: where the file system has no locks (some network mounts), the pid alone decides.
    """
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)


def remove_dead(folder: str | Path, prefix: str) -> int:
    """Remove the scratch files and folders named ``prefix{pid}-...`` in ``folder`` whose run is over.

    A run is over when its pid is not alive and no process holds its lock (see the module docstring). Returns
    how many were removed; never raises (this is housekeeping).
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid = _pid_of(entry.name[len(prefix):])
        if pid is None:
            if not _untouched_for(entry, UNOWNED_AGE_S):
                continue
        elif pid == os.getpid() or _alive(pid):
            continue
        if _remove_unless_held(entry):
            removed += 1
    return removed


@contextlib.contextmanager
def scratch_folder(parent: str, prefix: str) -> Iterator[str]:
    """A new folder ``parent/prefix{pid}-XXXX`` held (see :func:`hold`) while in use, removed at the end.

    Forked children inherit the hold: the folder is not taken for a dead run's while any of them lives.
    """
    import tempfile

    path = tempfile.mkdtemp(prefix=owned_prefix(prefix), dir=parent)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        hold(fd)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _pid_of(rest: str) -> int | None:
    head, dash, _ = rest.partition("-")
    return int(head) if dash and head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:
        return False
    # a zombie (dead, not yet waited for: orphaned workers in a container whose init reaps nothing) holds nothing
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _untouched_for(entry: os.DirEntry[str], seconds: float) -> bool:
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > seconds
    except OSError:
        return False


def _remove_unless_held(entry: os.DirEntry[str]) -> bool:
    is_dir = entry.is_dir(follow_symlinks=False)
    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if is_dir else 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live process holds it (another PID namespace, or an orphaned worker)
        except OSError:
            pass  # no locks on this file system: the dead pid decides
        if is_dir:
            shutil.rmtree(entry.path, ignore_errors=True)
            return not os.path.lexists(entry.path)
        os.unlink(entry.path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
