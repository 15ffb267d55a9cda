"""What the commands show on stderr while a query runs and after it: shared by every command that runs one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from smtrail_sql.engines import QueryStatus
    from smtrail_sql.result import QueryStats


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


def report(stats: QueryStats | None) -> None:
    """After a run: what it scanned and cost, the files skipped and why (each on one stderr line)."""
    for line in stats.describe() if stats is not None else ():
        typer.echo(line, err=True)
