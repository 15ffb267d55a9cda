"""Messages over a pipe between two of smtrail-sql's own processes: each a pickle after its length.

Used between the command and its executor (:mod:`smtrail_sql.executor`) and between the reader and its workers
(:mod:`smtrail_sql.reader.forked`): both ends are this package, forked from one process, so a pickle is safe
and every type is known on both sides.
"""

from __future__ import annotations

import os
from typing import Any

#: Bytes of a message's length, before its pickle.
LENGTH_BYTES = 8


def send(fd: int, message: Any) -> None:
    """Write ``message`` (any picklable object) to the pipe ``fd``, whole."""
    import pickle

    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(LENGTH_BYTES, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def receive(fd: int) -> Any:
    """The next message from the pipe ``fd``; None at its end, or at a message cut short (its writer died).

    >>> read, write = os.pipe()
    >>> send(write, {"rows": [1, 2]}); os.close(write)
    >>> receive(read), receive(read)
    ({'rows': [1, 2]}, None)
    """
    import pickle

    head = _read_exactly(fd, LENGTH_BYTES)
    if head is None:
        return None
    data = _read_exactly(fd, int.from_bytes(head, "little"))
    return None if data is None else pickle.loads(data)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
