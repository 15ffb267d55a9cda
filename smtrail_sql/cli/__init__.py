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
#: The root options that take a value (before the command's name).
_VALUED_OPTIONS = ("--config-profile",)


def load_commands(args: Sequence[str] | None = None) -> None:
    """Register the commands: only the module of the command ``args`` (the command line) names, when it names
    one plainly; every module otherwise (no ``args``, help, shell completion, a name that is no command)."""
    module = _module_of(args) if args is not None else None
    for name in (module,) if module else COMMAND_MODULES:
        import_module(f"smtrail_sql.cli.{name}")


def _module_of(args: Sequence[str]) -> str | None:
    if any(name.endswith("_COMPLETE") for name in os.environ):  # (click's completion: _SMTRAIL_SQL_COMPLETE)
        return None
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _VALUED_OPTIONS and rest:
            rest.pop(0)
        elif not option.startswith(tuple(f"{o}=" for o in _VALUED_OPTIONS)):
            return None  # --help, --version, completion: every command
    return COMMANDS.get(rest[0]) if rest else None


# the console script (smtrail_sql.entry) leaves its command line here: only its command is registered then
load_commands(getattr(sys.modules.get("smtrail_sql.entry"), "COMMAND_LINE", None))
from smtrail_sql.cli.app import app, main  # noqa: E402  (after the commands: app is the Typer, not the module)

__all__ = ["app", "main"]
