"""A second process that loads DuckDB while the command line is parsed, and runs a warm local query there.

A warm ``smtrail-sql run`` (or ``sql``, or ``plot``) is mostly start-up, and its start-up is Python imports,
which hold the interpreter's lock: typer and the command's own modules (about 0.1 s), then DuckDB and pyarrow
(about 0.25 s), one after the other, whatever threads are used. On a machine with two cores, the console script
therefore forks at once (before importing anything heavy: a fork then costs about a millisecond) a process of
its own, the *executor*, that imports DuckDB and pyarrow on the other core while the command line is parsed.

When the query turns out to be a local one whose rows come from a snapshot (a warm query: see
:mod:`smtrail_sql.reader.pipeline`), :func:`serve` hands it to the executor, which runs it with the same
:class:`~smtrail_sql.engines.local.LocalEngine` code and sends back the result; the command process never
loads DuckDB or pyarrow. After an empty result, the executor waits for the command's next query (the result's
explanation asks what the logs hold), with the same engine and database, until the command ends. Anything else
(rows, Athena, a cold read, whose progress is shown as it goes, any other command) dismisses the executor, which
exits at once.
Nothing the executor does is seen: its output goes to ``/dev/null``; an error there, or an executor gone, makes
the command run the query itself, as it always did, so that errors keep their messages and exit codes.

It dies with the command: a Ctrl-C to the terminal's process group stops it as it stops the command; the
command gone any other way closes its pipe (and on Linux the kernel stops it too). ``SMTRAIL_EXECUTOR=0``
turns it off.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from smtrail_sql.engines.base import Engine
    from smtrail_sql.engines.local import LocalEngine
    from smtrail_sql.result import QueryResult

#: ``0`` turns the executor off.
EXECUTOR_VARIABLE = "SMTRAIL_EXECUTOR"
#: The commands that may run a query through it.
COMMANDS = ("run", "sql", "plot")
#: The most values (rows times columns) of a result sent back: a larger one costs more to pickle and send than
#: the executor saves (0.7 us a value: 9 s for every point of ``bench/bench_local.py``'s logs); the command then
#: runs the query itself.
MAX_CELLS = 100_000
#: The option that makes every query read its files again: such a command is never served from a snapshot.
NO_CACHE_OPTION = "--no-cache"
#: (its process id, the pipe to it, the pipe from it), while it waits for a query.
_EXECUTOR: tuple[int, int, int] | None = None
#: Executors stopped but not yet reaped (see :func:`dismiss`).
_STOPPED: list[int] = []


def start(arguments: list[str]) -> None:
    """Fork the executor if ``arguments`` (the command line) run a command that may use it: not one with
    ``--no-cache``, whose rows never come from a snapshot (its fork, the copies of the pages the command then
    writes, and its loading would only slow a cold read)."""
    global _EXECUTOR
    if (not hasattr(os, "fork") or not hasattr(signal, "pthread_sigmask") or _EXECUTOR is not None
            or os.environ.get(EXECUTOR_VARIABLE, "1") == "0" or not arguments or arguments[0] not in COMMANDS
            or NO_CACHE_OPTION in arguments or (os.cpu_count() or 1) < 2):
        return
    from_parent, to_child = os.pipe()  # (each: its reading end, its writing end)
    from_child, to_parent = os.pipe()
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # (until the executor has dropped the command's handlers)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        for fd in (to_child, from_parent, from_child, to_parent):
            os.close(fd)
        return
    if pid == 0:  # (the executor: a stop signal ends it, never a handler of the command's)
        for signum in stops:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        os.close(to_child)
        os.close(from_child)
        _serve(from_parent, to_parent)
    _EXECUTOR = (pid, to_child, from_child)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    os.close(from_parent)
    os.close(to_parent)


def dismiss(*, wait: bool = True) -> None:
    """Stop the executor and reap it (nothing to do if there is none). It holds nothing that could be left
    half-done: before a query it has only loaded modules, and once it has answered it has only to exit.

    ``wait=False`` (a command that goes on to read its files): stopped now, reaped by the next call, at the
    command's end (its exit, which frees a process that loaded DuckDB, took about 4 ms of the command's).
    """
    global _EXECUTOR
    if _EXECUTOR is not None:
        pid, to_child, from_child = _EXECUTOR
        _EXECUTOR = None
        for fd in (to_child, from_child):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            _STOPPED.append(pid)
    while wait and _STOPPED:
        with contextlib.suppress(OSError):
            os.waitpid(_STOPPED[-1], 0)
        _STOPPED.pop()


def serve(engine: Engine, query: Any) -> QueryResult | None:
    """``query``'s result from the executor when ``engine`` is the local one and the query's rows come from a
    snapshot of its cache; None otherwise (the executor dismissed: the caller runs the query itself)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        return None
    started = time.perf_counter()
    try:
        request = _request(cast("LocalEngine", engine), query) if engine.name == "local" else None
    except Exception:  # noqa: BLE001  (the query itself will tell what is wrong)
        request = None
    if request is None:
        dismiss(wait=False)  # (the command reads its files now: the executor is reaped at its end)
        return None
    from smtrail_sql.pipes import receive, send

    pid, to_child, from_child = _EXECUTOR
    try:
        send(to_child, request)
        reply = receive(from_child)
    except Exception:  # noqa: BLE001  (the executor gone, or a reply that is not whole: run it here)
        reply = None
    if not isinstance(reply, tuple) or reply[0] != "result":
        dismiss(wait=False)  # (the command reads its files now: the executor is reaped at its end)
        return None
    from dataclasses import replace

    result: QueryResult = reply[1]
    if result.rows:  # (an empty one stays for the command's next query, the explanation's, until it ends; the
        dismiss()    # rows of any other may be paged for minutes, with DuckDB's memory held for nothing)
    if result.stats is None:
        return result
    return replace(result, stats=replace(result.stats, elapsed_seconds=time.perf_counter() - started))


def _request(engine: LocalEngine, query: Any) -> dict[str, Any] | None:
    """What the executor needs to run ``query`` as ``engine`` would: None unless its rows come from a snapshot."""
    from smtrail_sql.engines.columns import columns_named
    from smtrail_sql.prerendered import PrerenderedQuery
    from smtrail_sql.reader.cache import snapshot_key, with_identity
    from smtrail_sql.reader.layout import discover_log_files

    if engine.cache is None:
        return None
    found = discover_log_files(engine.logs, query.window, engine.accounts, engine.regions)
    if found.skipped_paths and engine.strict or not engine.cache.has_snapshot(snapshot_key(with_identity(found.files))):
        engine.discovered = (query.window, found)  # (the command reads them itself: the folders are not walked twice)
        return None
    found.walking.clear()
    statements, values = {}, {}
    for copies in (True, False):
        sql, bound = query.duckdb_statement(copies=copies)
        statements[copies] = (sql, tuple(sorted(bound)))
        values.update(bound)
    sent = PrerenderedQuery(query.name, query.window, query.naming, statements, columns_named(query), _no_rendering,
                            values)
    return {"logs": str(engine.logs), "accounts": engine.accounts, "regions": engine.regions,
            "cache": str(engine.cache.root), "strict": engine.strict, "workers": engine.workers,
            "max_log_size": engine.max_log_size, "duckdb_memory": engine.duckdb_memory, "query": sent,
            "found": found}  # (the executor does not walk the folders again)


def _no_rendering() -> Any:
    raise RuntimeError("the executor runs the statements it was sent")


# -- the executor's side ----------------------------------------------------------------------------------------

def _serve(requests: int, replies: int) -> None:
    """The executor: load what a warm query needs, then run each query it is sent and send back its result,
    until the command ends."""
    code = 0
    try:
        from smtrail_sql.pipes import receive, send
        from smtrail_sql.process import declare_one_query, die_with_parent, import_pyarrow

        die_with_parent()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        declare_one_query()
        import duckdb  # noqa: F401

        ahead = _DatabaseAhead()
        import_pyarrow()
        import smtrail_sql.engines.local  # noqa: F401
        import smtrail_sql.reader.pipeline  # noqa: F401

        engines: dict[tuple[Any, ...], LocalEngine] = {}
        while (request := receive(requests)) is not None:  # (until the command ends, or dismisses it)
            send(replies, _answer(request, ahead, engines))
    except BaseException:  # noqa: BLE001  (nothing is seen: the command runs the query itself)
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)


class _DatabaseAhead:
    """A DuckDB database made in a thread while the rest loads (its making, about 30 ms, is nearly all outside
    the GIL), with the memory limit and the spill folder of a query with the default settings."""

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


def _answer(request: dict[str, Any], ahead: _DatabaseAhead, engines: dict[tuple[Any, ...], LocalEngine]
            ) -> tuple[str, Any]:
    """The result of the request's query, run by the engine of its settings (kept for the next request: its
    DuckDB database is made once)."""
    from smtrail_sql.engines.local import LocalEngine
    from smtrail_sql.reader.cache import ExtractCache

    settings = tuple(request[name] for name in ("logs", "accounts", "regions", "cache", "strict", "workers",
                                                 "max_log_size", "duckdb_memory"))
    engine = engines.get(settings)
    if engine is None:
        engine = engines[settings] = LocalEngine(
            request["logs"], accounts=request["accounts"], regions=request["regions"],
            cache=ExtractCache(request["cache"]), strict=request["strict"], workers=request["workers"],
            max_log_size=request["max_log_size"], duckdb_memory=request["duckdb_memory"])
        ahead.give(engine, request["query"].naming)
    engine.discovered = (request["query"].window, request["found"])
    try:
        return ("result", engine.execute(request["query"], max_cells=MAX_CELLS))
    except Exception as error:  # noqa: BLE001  (ResultTooLarge included: the command runs the query)
        return ("error", repr(error))
