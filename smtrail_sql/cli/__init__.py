"""The ``smtrail-sql`` command line, a thin layer over the library (:class:`smtrail_sql.api.Toolkit`).

One floor: each command module registers its commands on :data:`app` and imports only :mod:`.app`,
:mod:`.options` and :mod:`.console`, never another command module; heavy libraries are imported inside the
commands.

A run loads only the module of the command it runs (:func:`main`; building every command's options costs
typer a tenth of a second); help, completion and a misspelt name load them all, as ``app`` does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any

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


def main() -> None:
    """Console-script entry point: the command's module, then the app (see :func:`smtrail_sql.cli.app.main`)."""
    load_commands(sys.argv[1:])
    from smtrail_sql.cli.app import main as run_app

    run_app()


def __getattr__(name: str) -> Any:
    """``app``: the typer application with every command registered."""
    if name == "app":
        load_commands()
        from smtrail_sql.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
