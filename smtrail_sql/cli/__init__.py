"""The ``smtrail-sql`` command line, a thin layer over the library (:class:`smtrail_sql.api.Toolkit`).

One floor: each command module registers its commands on :data:`app` and imports only :mod:`.app`,
:mod:`.options` and :mod:`.console`, never another command module; heavy libraries are imported inside the
commands.

The console script registers only the module of the command it runs (building every command's options costs
typer a tenth of a second); help, completion and a misspelt name load them all, as importing this package
from anywhere else does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module

#: The command modules, in the order of --help: queries, running and plotting, then Athena and AWS.
COMMAND_MODULES = ("queries", "run", "adhoc", "cache", "plot", "aws", "trail", "store", "config")
#: Each command (or group) name -> the module that registers it.
COMMANDS = {
    "queries": "queries", "show": "queries", "render": "queries", "run": "run", "demo": "run", "sql": "adhoc",
    "columns": "adhoc", "export": "adhoc", "cache": "cache", "plot": "plot", "create-table": "aws",
    "status": "aws", "migrate": "aws", "estimate": "aws", "sync": "aws", "check-trail": "trail",
    "refresh": "store", "config": "config",
}
#: The commands that run one query, print its rows and end: the console script's process is then a one-query
#: process (see :mod:`smtrail_sql.process`).
ONE_QUERY_COMMANDS = frozenset({"run", "sql"})
#: The root options that take a value (before the command's name).
_VALUED_OPTIONS = ("--config-profile",)


def load_commands(args: Sequence[str] | None = None) -> None:
    """Register the commands: only the module of the command ``args`` (the command line) names, when it names
    one plainly; every module otherwise (no ``args``, help, shell completion, a name that is no command)."""
    module = _module_of(args) if args is not None else None
    for name in (module,) if module else COMMAND_MODULES:
        import_module(f"smtrail_sql.cli.{name}")


def _command_of(args: Sequence[str]) -> str | None:
    """The command a command line names plainly (None: help, completion, no command)."""
    if any(name.endswith("_COMPLETE") for name in os.environ):  # (click's completion: _SMTRAIL_SQL_COMPLETE)
        return None
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _VALUED_OPTIONS and rest:
            rest.pop(0)
        elif not option.startswith(tuple(f"{o}=" for o in _VALUED_OPTIONS)):
            return None  # --help, --version, completion: every command
    return rest[0] if rest else None


def _module_of(args: Sequence[str]) -> str | None:
    command = _command_of(args)
    return COMMANDS.get(command) if command else None


def _console_command_line() -> list[str] | None:
    """The console script's command line (None in any other process), its process declared a one-query
    process when the command is one of :data:`ONE_QUERY_COMMANDS`."""
    args: list[str] | None = getattr(sys.modules.get("smtrail_sql.entry"), "COMMAND_LINE", None)
    if args is not None and _command_of(args) in ONE_QUERY_COMMANDS:
        from smtrail_sql.process import declare_one_query

        declare_one_query()
    return args


# the console script (smtrail_sql.entry) leaves its command line here: only its command is registered then
load_commands(_console_command_line())
from smtrail_sql.cli.app import app, main  # noqa: E402  (after the commands: app is the Typer, not the module)

__all__ = ["app", "main"]
