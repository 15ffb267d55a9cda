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
(rows, Athena, a cold read of a command that keeps a cache, any other command) dismisses the executor, which
exits at once.
Nothing the executor does is seen: its output goes to ``/dev/null``; an error there, or an executor gone, makes
the command run the query itself, as it always did, so that errors keep their messages and exit codes.

**Cold.** A command with ``--no-cache`` reads every file again: its executor loads the reader instead (pyarrow
and numpy, the scanner; not DuckDB, whose threads must not exist when the reader forks its workers), while the
command line is parsed, and reads the files there, forking the workers as soon as the command has found them:
about 0.03 s sooner, and the command never loads pyarrow or DuckDB, whose loading took a core from the workers
(the metric-heavy cold run of ``bench/bench_cli.py``: 0.86 s, 0.82 s so). The read's progress comes back as it
goes; the reader's own errors (a bad file under ``--strict``, DuckDB's error) come back as they are, with their
messages and exit codes; a result too large to send back comes back as its rows (one file, memory-mapped), for
the command to query itself.

It dies with the command: a Ctrl-C to the terminal's process group stops a warm one as it stops the command; a
cold one ignores it, and the command stops it (SIGTERM: its reader stops its workers and removes its files); the
command gone any other way closes its pipe (and on Linux the kernel stops it too). ``SMTRAIL_EXECUTOR=0``
turns it off.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from smtrail_sql.engines.base import Engine, RunProgress
    from smtrail_sql.engines.local import HandedRead, LocalEngine
    from smtrail_sql.reader.layout import Discovery, LogFile
    from smtrail_sql.result import QueryResult
    from smtrail_sql.window import TimeWindow

#: ``0`` turns the executor off.
EXECUTOR_VARIABLE = "SMTRAIL_EXECUTOR"
#: The commands that may run a query through it.
COMMANDS = ("run", "sql", "plot")
#: The option that makes every query read its files again: such a command's executor reads them (cold).
NO_CACHE_OPTION = "--no-cache"
#: Seconds a cold executor has to stop its reader once told to, before it is killed.
STOP_SECONDS = 5.0
#: (its process id, the pipe to it, the pipe from it, whether it is cold), while it waits for a query.
_EXECUTOR: tuple[int, int, int, bool] | None = None
#: Whether a cold executor is reading for the command (told to stop then, not killed: see :func:`dismiss`).
_READING = False
#: The folders of the scratch files (spools, DuckDB's spills) of executors that were sent a query: cleared of a
#: stopped executor's once it is reaped (one killed leaves them; a run of another process would remove them).
_SCRATCH: set[str] = set()
#: Executors stopped but not yet reaped: (process id, whether it was told to stop rather than killed).
_STOPPED: list[tuple[int, bool]] = []


def start(arguments: list[str]) -> None:
    """Fork the executor if ``arguments`` (the command line) run a command that may use it: a cold one if
    they hold ``--no-cache``."""
    global _EXECUTOR
    if (not hasattr(os, "fork") or not hasattr(signal, "pthread_sigmask") or _EXECUTOR is not None
            or os.environ.get(EXECUTOR_VARIABLE, "1") == "0" or not arguments or arguments[0] not in COMMANDS
            or (os.cpu_count() or 1) < 2):
        return
    cold = NO_CACHE_OPTION in arguments
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
        from smtrail_sql.executor_side import serve_requests, stop

        if cold:  # (Ctrl-C is the command's to handle; its SIGTERM stops the reader, which cleans up)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, stop)
        else:
            for signum in stops:
                signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        os.close(to_child)
        os.close(from_child)
        serve_requests(from_parent, to_parent, cold)
    _EXECUTOR = (pid, to_child, from_child, cold)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    os.close(from_parent)
    os.close(to_parent)


def dismiss(*, wait: bool = True, force: bool = False) -> None:
    """Stop the executor (nothing to do if there is none), and reap what was stopped: each stopped executor is
    waited for unless ``wait=False`` (then reaped if it is gone already, else by the next call).

    One that is not reading for the command holds nothing that could be left half-done: before a query it has
    only loaded modules, and once it has answered it has only to exit. It is killed (its end, the kernel freeing
    a process that loaded DuckDB and mapped the rows, takes about 7 ms, on its own core: a command that writes
    rows after it dismisses it without waiting, and reaps it at its end, so that its time and memory are counted
    in the command's).
    A cold one that may be reading for the command is told to stop (SIGTERM: its reader stops its workers and
    removes its files), and killed if it has not stopped within :data:`STOP_SECONDS`, or at once if ``force``.
    """
    global _EXECUTOR, _READING
    if _EXECUTOR is not None:
        pid, to_child, from_child, _ = _EXECUTOR
        reading, _EXECUTOR, _READING = _READING, None, False
        for fd in (to_child, from_child):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        told = reading and not force
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM if told else signal.SIGKILL)
            _STOPPED.append((pid, told))
    deadline = time.monotonic() + (0.0 if force else STOP_SECONDS)
    for stopped in list(_STOPPED):
        if _reaped(*stopped, wait=wait, deadline=deadline):
            _STOPPED.remove(stopped)
    if not _STOPPED and _EXECUTOR is None and _SCRATCH:
        from smtrail_sql.runfiles import remove_dead_scratch

        for folder in _SCRATCH:
            with contextlib.suppress(OSError):
                remove_dead_scratch(folder)
        _SCRATCH.clear()


def _reaped(pid: int, told: bool, *, wait: bool, deadline: float) -> bool:
    """Whether the stopped executor ``pid`` is gone, and reaped: waited for if ``wait`` (one ``told`` to stop
    until ``deadline``, then killed)."""
    try:
        if not wait:
            return os.waitpid(pid, os.WNOHANG)[0] != 0
        if not told:
            os.waitpid(pid, 0)
            return True
        while os.waitpid(pid, os.WNOHANG)[0] == 0:
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.002)
    except ChildProcessError:  # (reaped already)
        pass
    return True


def serve(engine: Engine, query: Any, progress: RunProgress | None = None) -> QueryResult | None:
    """``query``'s result from the executor when ``engine`` is the local one and the query's rows come from a
    snapshot of its cache, or from the files read there by a cold executor (``progress`` is told about them as
    they are read; the reader's errors are raised here); None otherwise (the executor dismissed: the caller runs
    the query itself, over the rows the executor read if it has them: see :attr:`LocalEngine.handed`)."""
    global _READING
    if _EXECUTOR is None:
        return None
    started = time.perf_counter()
    local = cast("LocalEngine", engine)
    try:
        request = _request(local, query, _EXECUTOR[3]) if engine.name == "local" else None
    except Exception:  # noqa: BLE001  (the query itself will tell what is wrong)
        request = None
    if request is None:
        dismiss(wait=False)  # (the command reads its files now: the executor is reaped at its end)
        return None
    from smtrail_sql.pipes import receive, send

    pid, to_child, from_child, cold = _EXECUTOR
    _READING = cold
    _SCRATCH.add(_scratch_folder(local))
    shown = False  # (a read's progress begun and not finished: finished here if the executor fails)
    try:
        send(to_child, request)
        while (reply := receive(from_child)) is not None and reply[0] == "progress":
            _, method, arguments = reply
            if method in ("start", "finish"):
                shown = method == "start"
                _READING = shown  # (the read is over: the executor is in DuckDB, where only a kill stops it)
            if progress is not None:
                getattr(progress, method)(*arguments)
    except (KeyboardInterrupt, SystemExit):
        raise  # (the command stopped: it dismisses the executor, which stops reading)
    except Exception:  # noqa: BLE001  (the executor gone, or a reply that is not whole: run it here)
        reply = None
    _READING = False
    if shown and progress is not None and not (isinstance(reply, tuple) and reply[0] in ("result", "raise")):
        progress.finish()  # (before the command reads the files itself and starts its own)
    if isinstance(reply, tuple) and reply[0] in ("raise", "rows"):
        if reply[0] == "rows":  # (mapped while its writer lives: a file of a dead run's is anyone's to remove)
            with contextlib.suppress(OSError, ValueError):  # (a file gone or damaged: the command reads again)
                local.handed = _handed(*reply[1:])
        dismiss()  # (it has stopped reading: it has only to exit)
        if reply[0] == "raise":
            raise reply[1]
        return None
    if not isinstance(reply, tuple) or reply[0] != "result":
        dismiss(wait=False)  # (the command reads its files now: the executor is reaped at its end)
        return None
    from dataclasses import replace

    result: QueryResult = reply[1]
    if result.rows:  # (an empty one stays for the command's next query, the explanation's, until it ends; the
        dismiss(wait=False)  # rows of any other may be paged for minutes, with DuckDB's memory held for nothing)
    if result.stats is None:
        return result
    return replace(result, stats=replace(result.stats, elapsed_seconds=time.perf_counter() - started))


def _request(engine: LocalEngine, query: Any, cold: bool) -> dict[str, Any] | None:
    """What the executor needs to run ``query`` as ``engine`` would: None unless its rows come from a snapshot,
    or the executor is a cold one and the engine keeps no cache."""
    from smtrail_sql.engines.columns import columns_named
    from smtrail_sql.prerendered import PrerenderedQuery
    from smtrail_sql.reader.layout import discover_log_files

    if (engine.cache is None) != cold:
        return None
    found = discover_log_files(engine.logs, query.window, engine.accounts, engine.regions)
    if found.skipped_paths and engine.strict or not cold and not _has_snapshot(engine, found):
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
            "cache": str(engine.cache.root) if engine.cache is not None else None, "strict": engine.strict,
            "workers": engine.workers, "max_log_size": engine.max_log_size, "duckdb_memory": engine.duckdb_memory,
            "query": sent,
            "found": found}  # (the executor does not walk the folders again)


def _scratch_folder(engine: LocalEngine) -> str:
    from smtrail_sql.reader.workers import spool_parent

    return spool_parent(engine.cache, make=False)


def _has_snapshot(engine: LocalEngine, found: Discovery) -> bool:
    from smtrail_sql.reader.cache import snapshot_key, with_identity

    return engine.cache is not None and engine.cache.has_snapshot(snapshot_key(with_identity(found.files)))


def _no_rendering() -> Any:
    raise RuntimeError("the executor runs the statements it was sent")


def _handed(path: str, window: TimeWindow, read: dict[str, Any], files: tuple[LogFile, ...]) -> HandedRead:
    """The rows a cold executor read, from the file it wrote them to (mapped, then removed)."""
    from smtrail_sql.engines.local import HandedRead
    from smtrail_sql.reader.entries import read_entry
    from smtrail_sql.reader.pipeline import ReadResult

    try:
        entry = read_entry(path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return HandedRead(window, ReadResult(entry.points, entry.calls, **read), files)
