"""The ``smtrail-sql`` console script: a Ctrl-C during start-up ends it as cleanly as one during a command.

Importing the CLI (typer, click, rich) takes a few tenths of a second, before :func:`smtrail_sql.cli.main`
installs its handlers; a signal then would end in a ``KeyboardInterrupt`` traceback. Here the handlers come
first: nothing has started yet, so a signal before the CLI's own handlers just prints its line and exits.
"""

from __future__ import annotations

import os
import signal
import sys


def _exit_at_once(signum: int, frame: object) -> None:
    interrupted = signum == signal.SIGINT
    sys.stderr.write("interrupted\n" if interrupted else "terminated\n")
    sys.stderr.flush()
    os._exit(130 if interrupted else 143)  # (128 + the signal's number, as the CLI exits on them)


#: The command line, for :mod:`smtrail_sql.cli` to register only the command it runs (None: every command).
COMMAND_LINE: list[str] | None = None


def main() -> None:
    """Install the start-up handlers, then run the CLI (which replaces them with its own)."""
    global COMMAND_LINE
    signal.signal(signal.SIGINT, _exit_at_once)
    signal.signal(signal.SIGTERM, _exit_at_once)
    COMMAND_LINE = sys.argv[1:]
    from smtrail_sql.cli import main as run_cli

    run_cli()
