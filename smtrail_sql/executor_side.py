"""The executor's side (see :mod:`smtrail_sql.executor`, the command's): load what its queries need, then run
each query the command sends and send back its answer, until the command ends; a cold executor reads the files
there, its progress sent as it goes.

Answers: ``("result", QueryResult)``; ``("progress", method, arguments)`` while a cold one reads; a cold one's
``("raise", error)`` for the reader's own errors (raised by the command as they are) and ``("rows", path, window,
read, files)`` for a result too large to send (the rows read, written to a file: the command queries them
itself); ``("error", text)`` for anything else (the command runs the query itself).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smtrail_sql.engines.local import LocalEngine

#: The most values (rows times columns) of a result sent back: a larger one costs more to pickle and send than
#: the executor saves (0.7 us a value: 9 s for every point of ``bench/bench_local.py``'s logs); the command then
#: runs the query itself.
MAX_CELLS = 100_000
#: Whether this (cold) executor is reading for the command: a stop then unwinds the reader (see :func:`stop`).
_READING = False
#: Whether it was told to stop and is unwinding.
_STOPPING = False
#: The files of rows handed to the command, held open (see runfiles.hold) until this process ends.
_HELD: list[Any] = []


def stop(signum: int, frame: object) -> None:
    """A cold executor's SIGTERM: while it reads, a ``KeyboardInterrupt`` that unwinds the reader (which stops
    its workers and removes its files) to :func:`serve_requests`, which exits; another one meanwhile (the
    group's, then the command's) is let be, lest it cut that clean-up short; otherwise an exit at once (a stop
    may land anywhere then, even in the exit's own ``finally``)."""
    global _STOPPING
    if _STOPPING:
        return
    if _READING:
        _STOPPING = True
        raise KeyboardInterrupt
    os._exit(1)


def serve_requests(requests: int, replies: int, cold: bool) -> None:
    """The executor: load what a warm query (or, ``cold``, a read) needs, then run each query it is sent and send
    back its result, until the command ends."""
    code = 0
    try:
        from smtrail_sql.pipes import receive, send
        from smtrail_sql.process import declare_one_query, die_with_parent, import_pyarrow

        die_with_parent()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        if devnull > 2:
            os.close(devnull)
        # (the reader's workers, forked here, hold no end of the command's pipes: the command sees this process
        # gone when it is, whatever its workers do)
        os.register_at_fork(after_in_child=lambda: _close(requests, replies))
        declare_one_query()
        ahead = None if cold else _DatabaseAhead.load()
        if cold:
            _load_reader()
        else:
            import_pyarrow()
        import smtrail_sql.engines.local  # noqa: F401  (loaded already by a cold one: see _load_reader)
        import smtrail_sql.reader.pipeline  # noqa: F401

        engines: dict[tuple[Any, ...], LocalEngine] = {}
        while (request := receive(requests)) is not None:  # (until the command ends, or dismisses it)
            send(replies, _answer(request, ahead, engines, replies if cold else None))
    except BaseException:  # noqa: BLE001  (nothing is seen: the command runs the query itself)
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _load_reader() -> None:
    """Load what a cold read needs before its workers are forked (they inherit it), with Python's cyclic
    garbage collector off meanwhile: loading makes many objects and no garbage (0.10 s, 0.094 s so)."""
    import gc

    from smtrail_sql.reader.workers import preload

    gc.disable()
    try:
        import pyarrow  # noqa: F401  (with numpy: the reader hands numpy arrays to Arrow)

        preload()
        import smtrail_sql.engines.local  # noqa: F401
        import smtrail_sql.prerendered  # noqa: F401  (the request's query)
    finally:
        gc.enable()


class _DatabaseAhead:
    """A DuckDB database made in a thread while the rest loads (its making, about 30 ms, is nearly all outside
    the GIL), with the memory limit and the spill folder of a query with the default settings."""

    @classmethod
    def load(cls) -> _DatabaseAhead:
        """DuckDB loaded, and its database begun."""
        import duckdb  # noqa: F401

        return cls()

    def __init__(self) -> None:
        import threading

        from smtrail_sql.engines.database import new_database
        from smtrail_sql.reader.cache import ExtractCache
        from smtrail_sql.reader.workers import spill_folder, spool_parent
        from smtrail_sql.settings import DUCKDB_MEMORY_VARIABLE, validate_duckdb_memory

        cache = ExtractCache()  # (no folder is made here: a command refused later must have written nothing)
        self.settings = (validate_duckdb_memory(os.environ.get(DUCKDB_MEMORY_VARIABLE)),
                         spool_parent(cache, make=False))
        self.made: list[Any] = []
        spill = spill_folder(cache, make=False)
        self._thread = threading.Thread(target=lambda: self.made.append(new_database(self.settings[0], spill)),
                                        daemon=True)
        self._thread.start()

    def give(self, engine: LocalEngine, naming: Any) -> None:
        """Give the database to ``engine`` if its settings are the ones it was made with."""
        from smtrail_sql.reader.workers import spool_parent

        self._thread.join()
        if self.made and self.settings == (engine.duckdb_memory, spool_parent(engine.cache, make=False)):
            engine.adopt_database(naming, self.made.pop())


def _answer(request: dict[str, Any], ahead: _DatabaseAhead | None, engines: dict[tuple[Any, ...], LocalEngine],
            replies: int | None) -> tuple[Any, ...]:
    """The result of the request's query, run by the engine of its settings (kept for the next request: its
    DuckDB database is made once). ``replies``, a cold executor's: the read's progress is sent there as it
    goes, and the reader's own errors and a result too large to send are answered (see :func:`_cold_answer`)."""
    global _READING
    from smtrail_sql.engines.local import LocalEngine, ResultTooLarge
    from smtrail_sql.errors import SmtrailError
    from smtrail_sql.reader.cache import ExtractCache

    settings = tuple(request[name] for name in ("logs", "accounts", "regions", "cache", "strict", "workers",
                                                 "max_log_size", "duckdb_memory"))
    engine = engines.get(settings)
    if engine is None:
        engine = engines[settings] = LocalEngine(
            request["logs"], accounts=request["accounts"], regions=request["regions"],
            cache=ExtractCache(request["cache"]) if request["cache"] is not None else None,
            use_cache=request["cache"] is not None, strict=request["strict"], workers=request["workers"],
            max_log_size=request["max_log_size"], duckdb_memory=request["duckdb_memory"])
        if ahead is not None:
            ahead.give(engine, request["query"].naming)
    engine.discovered = (request["query"].window, request["found"])
    _READING = replies is not None
    try:
        progress = _Progress(replies) if replies is not None else None
        return ("result", engine.execute(request["query"], progress=progress, max_cells=MAX_CELLS))
    except (ResultTooLarge, SmtrailError) as error:
        if replies is not None:
            return _cold_answer(error, engine)
        return ("error", repr(error))  # (a warm one: the command runs the query)
    except Exception as error:  # noqa: BLE001  (the command runs the query: its error, if any, is its own)
        return ("error", repr(error))
    finally:
        _READING = False


def _cold_answer(error: Exception, engine: LocalEngine) -> tuple[Any, ...]:
    """A cold executor's answer to ``error``: a result too large to send back, as the rows read (written to a
    file for the command to map: see :func:`_handed`); the reader's own error, as it is, if it can be sent."""
    import pickle

    from smtrail_sql.engines.local import ResultTooLarge

    if not isinstance(error, ResultTooLarge):
        try:
            copy = pickle.loads(pickle.dumps(error))
        except Exception:  # noqa: BLE001  (one that cannot be sent: the command runs the query)
            return ("error", repr(error))
        if type(copy) is not type(error) or str(copy) != str(error):  # (not the same on the other side)
            return ("error", repr(error))
        return ("raise", error)
    from smtrail_sql.reader.entries import write_entry
    from smtrail_sql.reader.workers import spool_parent
    from smtrail_sql.runfiles import SPOOL_PREFIX, hold, owned_prefix

    handed = error.read
    read = {"files_read": handed.read.files_read, "files_cached": handed.read.files_cached,
            "skipped": handed.read.skipped, "skipped_paths": handed.read.skipped_paths,
            "single_copy": handed.read.single_copy}
    # (named as this process's scratch, held while it lives: removed by the command, or by any run once this
    # process is gone, if the command has not mapped it)
    path = os.path.join(spool_parent(engine.cache), owned_prefix(SPOOL_PREFIX) + os.urandom(4).hex() + ".arrows")
    handle = open(path, "w+b")  # noqa: SIM115  (held open until this process ends)
    _HELD.append(handle)
    try:
        hold(handle.fileno())
        write_entry(handle, handed.read.points, handed.read.calls, {}, "")  # (streamed: no copy of the rows)
        handle.flush()
    except BaseException:  # (a stop meanwhile, a full disk: nothing is left)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return ("rows", path, handed.window, read, handed.files)


class _Progress:
    """A cold read's progress, sent to the command as it goes (see :func:`serve`)."""

    def __init__(self, replies: int) -> None:
        self.replies = replies

    def _send(self, method: str, *arguments: Any) -> None:
        from smtrail_sql.pipes import send

        send(self.replies, ("progress", method, arguments))

    def start(self, files: int, total_bytes: int) -> None:
        self._send("start", files, total_bytes)

    def advance(self, files: int, nbytes: int) -> None:
        self._send("advance", files, nbytes)

    def finish(self) -> None:
        self._send("finish")

    def status(self, status: Any) -> None:
        self._send("status", status)
