"""The memory a reader may take to extract files, whatever they hold: a budget the system enforces.

The size limit (``SMTRAIL_MAX_LOG_SIZE``) bounds the bytes of a file once inflated, not what decoding them takes:
a CloudTrail file takes about twice its inflated size, but a file made of millions of empty records or points
(``{"Records":[{},{},...]}`` gzips a thousandfold) takes fifty times its size in decoded objects. So the
reading itself runs under an address-space budget (``RLIMIT_DATA``: the heap and every private writable
mapping, which is where Python, msgspec and Arrow allocate). An allocation past it fails with ``MemoryError``,
which skips that one file as ``too-large``, frees what it held, and lets the reading go on.

The budget is :func:`reader_budget` above what the process held when the reading began: a worker process sets
it for its whole life (it only reads), the CLI's own process only while it reads files itself (small
selections, or one core), and then restores its limit. Linux only; elsewhere nothing is limited.

While the budget holds, Arrow allocates from the system's ``malloc``, not from its default pool: mimalloc (the
default of pyarrow's wheels) reserves its address space a gigabyte at a time on first use, which the limit
counts as taken, so a reader's budget would be mostly spent before it read a byte, and what Arrow then used
inside that reservation would not be counted at all. Only the IPC writer's scratch space (pyarrow lets no pool
be chosen for it) still comes from Arrow's own pool, whose first reservation is made before the budget counts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Budget above a reader's starting size: decoding CloudTrail files takes about twice their inflated size,
#: and the process also holds the file's Arrow rows and its cache entry; the rest is room for the run.
BUDGET_PER_LOG_SIZE = 4
BUDGET_BASE = 256 * 1024 * 1024


def reader_budget(max_size: int) -> int:
    """The bytes a reader may allocate to extract files no larger than ``max_size`` once inflated.

    >>> reader_budget(1 << 30) // (1 << 20)
    4352
    """
    return BUDGET_PER_LOG_SIZE * max_size + BUDGET_BASE


def data_size() -> int | None:
    """This process's data size (``VmData``: what ``RLIMIT_DATA`` counts), or None where not known."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def limit_data(budget: int) -> tuple[int, int] | None:
    """Let this process allocate at most ``budget`` more bytes from now on; the limits it had before (to give
    back to :func:`restore_data_limit`), or None when nothing was changed (not Linux, a lower limit already set).
    """
    if not sys.platform.startswith("linux"):
        return None
    import resource

    now = data_size()
    if now is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = now + budget
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft <= wanted:
        return None  # a limit of the user's (``ulimit -d``) is lower: it stays
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    except (ValueError, OSError):
        return None
    return soft, hard


def restore_data_limit(previous: tuple[int, int] | None) -> None:
    """Put back the limits :func:`limit_data` replaced."""
    if previous is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, previous)


def count_arrow_memory() -> object:
    """Make Arrow allocate from the system's ``malloc`` (see the module docstring); the pool it used before,
    for :func:`restore_arrow_pool`."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    table = pa.table({"reserved": [1]})  # (an IPC write: its scratch space's pool reserves its first gigabyte)
    with pa.ipc.new_stream(pa.BufferOutputStream(), table.schema) as writer:
        writer.write_table(table)
    pa.set_memory_pool(pa.system_memory_pool())
    return previous


def restore_arrow_pool(previous: object) -> None:
    """Give Arrow back the pool :func:`count_arrow_memory` replaced (buffers keep the pool they came from)."""
    import pyarrow as pa

    pa.set_memory_pool(previous)


@contextmanager
def data_budget(budget: int) -> Iterator[None]:
    """Run the block with at most ``budget`` more bytes to allocate, Arrow's included (see
    :func:`limit_data`)."""
    pool = count_arrow_memory()
    previous = limit_data(budget)
    try:
        yield
    finally:
        restore_data_limit(previous)
        restore_arrow_pool(pool)
