"""What the commands show while a query runs and after it: shared by every command that runs one.

The rows go to stdout (through a pager on a terminal); everything else is a line on stderr: progress (live, on
a terminal only), notes (what was scanned, skipped, left out) that ``--quiet`` silences, and errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from smtrail_sql.engines import QueryStatus
    from smtrail_sql.result import QueryResult, QueryStats

#: The pager when neither SMTRAIL_PAGER nor PAGER is set, as the AWS CLI's (``-R``: colours pass through).
DEFAULT_PAGER = "less -R"


class ConsoleProgress:
    """The engine's progress on a terminal's stderr: a bar over the log files the local engine reads (files,
    MB, rate), or Athena's live ``STATE elapsed scanned (query id)`` line. Built only for a terminal."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self._console = console if console is not None else Console(stderr=True)
        self._bar: Any = None
        self._task: Any = None
        self._status: Any = None
        self._done = 0

    def start(self, files: int, total_bytes: int) -> None:
        self.finish()  # (a read begun again, after one that failed: one bar, never two nested)
        if files == 0:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        # the bar advances by bytes (gzipped, as on disk); files are counted beside it
        self._bar = Progress(
            TextColumn("reading logs"), BarColumn(), TextColumn("{task.fields[done]}/{task.fields[files]} files"),
            DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=self._console, transient=True,
        )
        self._bar.start()
        self._done = 0
        self._task = self._bar.add_task("read", total=total_bytes, done=0, files=files)

    def advance(self, files: int, nbytes: int) -> None:
        if self._task is not None:
            self._done += files
            self._bar.update(self._task, advance=nbytes, done=self._done)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = self._task = None

    def status(self, status: QueryStatus) -> None:
        if self._status is None:
            from rich.status import Status

            self._status = Status(status.describe(), console=self._console)
            self._status.start()
        else:
            self._status.update(status.describe())

    def close(self) -> None:
        """Take every live line off the screen."""
        self.finish()
        if self._status is not None:
            self._status.stop()
            self._status = None


def progress_for_terminal() -> ConsoleProgress | None:
    """Progress when stderr is a terminal; None (silence) for a pipe or a file."""
    return ConsoleProgress() if sys.stderr.isatty() else None


@contextmanager
def live_progress() -> Iterator[ConsoleProgress | None]:
    """:func:`progress_for_terminal` for the length of a run, its live lines taken off the screen after."""
    progress = progress_for_terminal()
    try:
        yield progress
    finally:
        if progress is not None:
            progress.close()


def note(line: str, *, quiet: bool = False) -> None:
    """An informational line on stderr, unless ``quiet``."""
    if not quiet:
        typer.echo(line, err=True)


def report(stats: QueryStats | None, *, quiet: bool = False, verbose: bool = False) -> None:
    """After a run: what it scanned and cost, the files skipped and why (each on one stderr line); the routine
    (digest files skipped) only if ``verbose``, nothing if ``quiet``."""
    for line in stats.describe(verbose=verbose) if stats is not None else ():
        note(line, quiet=quiet)


def write_rows(result: QueryResult, fmt: str | None = None, output: Path | None = None, *, wide: bool = False,
               max_rows: int | None = None, no_pager: bool = False, quiet: bool = False) -> None:
    """Write the rows as ``--format``/``--output`` say; a table bound for a terminal goes through the pager
    (:func:`pager_command`) unless ``no_pager``. A note says which columns a narrow terminal left out."""
    from smtrail_sql.output import TableLayout, resolve_format, terminal_width, write_result

    pager = None
    if not no_pager and output is None and resolve_format(fmt, output) == "table" and sys.stdout.isatty():
        pager = pager_command()
    if pager is None:
        notes = write_result(result, fmt, output, wide=wide, max_rows=max_rows)
    else:
        import io

        text = io.StringIO()
        layout = TableLayout.terminal(terminal_width(sys.stdout), wide=wide, max_rows=max_rows)
        notes = write_result(result, fmt, stream=text, layout=layout)
        page(text.getvalue(), pager, wide=wide)
    for line in notes:
        note(line, quiet=quiet)


def pager_command() -> str | None:
    """The pager a table on a terminal goes through, as the AWS CLI chooses it: ``SMTRAIL_PAGER``, else
    ``PAGER``, else ``less -R`` when it is installed; None (no pager) when the variable is set but empty."""
    import shlex
    import shutil

    from smtrail_sql.errors import SettingError

    for name in ("SMTRAIL_PAGER", "PAGER"):
        if name in os.environ:
            command = os.environ[name].strip()
            try:
                program = shlex.split(command)[0] if command else None
            except ValueError:
                program = "?"
            if program is not None and shutil.which(program) is None:
                raise SettingError(name, command, "a command on PATH, or empty for no pager (or --no-pager)")
            return command or None
    return DEFAULT_PAGER if shutil.which("less") else None


def page(text: str, command: str, *, wide: bool = False) -> None:
    """Show ``text`` through the pager ``command`` (a shell command line) and wait for the user to leave it.

    ``LESS`` is set, when it is not, to ``FRX`` as the AWS CLI and git set it: less quits at once when the text
    fits one screen and leaves it there; ``S`` too for a ``--wide`` table, so lines are cut, not wrapped. Ctrl-C
    belongs to the pager meanwhile (less uses it to stop a search): this process ignores it until the pager ends.
    """
    import signal
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRXS" if wide else "FRX")
    with subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env, encoding="utf-8") as pager:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            assert pager.stdin is not None
            try:
                pager.stdin.write(text)
                pager.stdin.close()
            except BrokenPipeError:  # the user left the pager before reading it all
                pass
            pager.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
