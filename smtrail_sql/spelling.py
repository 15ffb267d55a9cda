"""Who a message speaks to: a Python caller (argument names, the default) or the command line (its flags).

The library's errors name the setting at fault. A notebook passes ``since=`` and ``metric=``; a shell passes
``--since`` and ``-p metric=VALUE``. One error is raised for both, so its wording asks :func:`spell`, and the CLI
runs every command inside :func:`command_line` (a context variable: nothing leaks past the command, and threads
or tasks the library starts see the caller's wording).

>>> spell("since", "--since")
'since'
>>> with command_line():
...     spell("since", "--since"), parameter_hint("metric")
('--since', '-p metric=VALUE')
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ON_COMMAND_LINE: ContextVar[bool] = ContextVar("smtrail_sql_on_command_line", default=False)


@contextmanager
def command_line() -> Iterator[None]:
    """Word messages for the command line (flags) while the block runs."""
    token = _ON_COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _ON_COMMAND_LINE.reset(token)


def on_command_line() -> bool:
    """Whether messages are worded for the command line."""
    return _ON_COMMAND_LINE.get()


def spell(argument: str, flag: str) -> str:
    """``flag`` on the command line, else ``argument`` (the Python name of the same setting).

    >>> spell("delivery_lag", "--delivery-lag")
    'delivery_lag'
    """
    return flag if on_command_line() else argument


def parameter_hint(name: str) -> str:
    """How to give a template parameter: ``metric=VALUE`` (a keyword of ``run``) or ``-p metric=VALUE``.

    >>> parameter_hint("metric")
    'metric=VALUE'
    """
    return spell(f"{name}=VALUE", f"-p {name}=VALUE")
