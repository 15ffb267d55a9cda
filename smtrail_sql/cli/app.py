"""The typer application and the entry point that turns library errors into one clean line."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="smtrail-sql",
    help=(
        "Query the SageMaker Experiments metrics that CloudTrail recorded (BatchPutMetrics), "
        "on Athena or locally with DuckDB.\n\nExample: smtrail-sql demo"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _print_version(value: bool) -> None:
    if value:
        from smtrail_sql.version import package_version

        typer.echo(f"smtrail-sql {package_version()}")
        raise typer.Exit()


def complete_config_profile(incomplete: str) -> list[str]:
    """The profiles of the config file that start with what is typed."""
    from smtrail_sql.config import ConfigFile
    from smtrail_sql.errors import SmtrailError

    try:
        return [name for name in ConfigFile.load().profiles if name.startswith(incomplete)]
    except (SmtrailError, OSError):
        return []


#: Where the root callback leaves the config profile chosen (``ctx.meta`` is shared by every context).
CONFIG_PROFILE_KEY = "smtrail.config_profile"


@app.callback()
def _options(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
    config_profile: str | None = typer.Option(
        None, "--config-profile", metavar="NAME", envvar="SMTRAIL_CONFIG_PROFILE",
        autocompletion=complete_config_profile,
        help="The profile of the config file to take settings from (default: [default]; see smtrail-sql config)."),
) -> None:
    """Options of the command itself (before any command name)."""
    from smtrail_sql.config import ConfigFile, default_map
    from smtrail_sql.spelling import command_line

    # the library's errors name flags (--since, -p metric=VALUE) while a command runs, and arguments after it
    ctx.with_resource(command_line())

    ctx.meta[CONFIG_PROFILE_KEY] = config_profile
    values = ConfigFile.load().profile(config_profile)
    if values:
        # the profile's values become the options' defaults: click takes a flag, then the option's envvar,
        # then the default map, then the default, which is the precedence smtrail_sql.config.resolve states
        ctx.default_map = _for_every_command(ctx.command, default_map(values))


def _for_every_command(group: object, values: dict[str, str]) -> dict[str, object]:
    """A default map that gives ``values`` to every command of ``group`` (and of its sub-groups)."""
    commands: dict[str, object] = getattr(group, "commands", {})
    return {name: _for_every_command(command, values) if hasattr(command, "commands") else dict(values)
            for name, command in commands.items()}


#: Exit codes, as sqlfluff does: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C: 128 + SIGINT);
#: a run stopped by SIGTERM exits 143 (128 + SIGTERM), as a shell reports a process that signal ends.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


class StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM both stop the command the way Ctrl-C does, and are remembered.

    Each raises ``KeyboardInterrupt``, so that whatever cleans up after Ctrl-C (the reader's worker pool is
    terminated, an Athena query is stopped) also runs for SIGTERM; what was received then decides the one
    line and the exit code, even when a library turned the interrupt into an error of its own (DuckDB raises
    ``RuntimeError('Query interrupted')``).
    """

    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> None:
        """Raise ``KeyboardInterrupt`` on either signal from now on."""
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)

    def quiet(self) -> None:
        """Ignore further signals: the command is over, and its exit line and code are settled.

        Ignored, not noted by a handler: Python resets a handler of its own to the default action as it shuts
        down, and a second Ctrl-C then would end the process by the signal, whatever exit code it had chosen.
        """
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)

    def _stop(self, signum: int, frame: object) -> None:
        """The first signal raises; a second one, while the command stops, is only noted.

        Raised again, it would land wherever Python stands in the clean-up (a ``finally``, a weakref callback,
        the pool's shutdown) and print an "Exception ignored" traceback or leave a worker behind. A third one
        means the clean-up itself is stuck: the line is printed and the process ends at once.
        """
        self.received.append(signum)
        if len(self.received) == 1:
            raise KeyboardInterrupt
        if len(self.received) >= 3:
            import os

            forked = sys.modules.get("smtrail_sql.reader.forked")
            if forked is not None:  # the reader's workers ignore Ctrl-C: end them first
                forked.stop_all()
            from smtrail_sql import executor

            executor.dismiss(force=True)
            line, code = self.outcome()
            sys.stderr.write(f"{line}\n")
            sys.stderr.flush()
            os._exit(code)

    def outcome(self) -> tuple[str, int]:
        """The line and the exit code of a stopped command: ``interrupted`` 130, or ``terminated`` 143."""
        import signal

        if signal.SIGTERM in self.received:
            return "terminated", EXIT_TERMINATED
        return "interrupted", EXIT_INTERRUPTED


def main() -> None:
    """Console-script entry point: run the app, map library errors to one line and an exit code."""
    signals = StopSignals()
    signals.install()
    try:
        line, code = _run()
    except KeyboardInterrupt:  # a second signal while the first error was being put into words
        line, code = None, EXIT_INTERRUPTED
    signals.quiet()
    if signals.received or (code == EXIT_INTERRUPTED and line is None):
        line, code = signals.outcome()
    if line:
        typer.echo(line, err=True)
    sys.exit(code)


def _warnings_as_lines() -> None:
    """Show a warning (an old parameter name, say) as one ``warning: ...`` line on stderr, as errors are."""
    import warnings

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: object = None,
             line: str | None = None) -> None:
        typer.echo(f"warning: {' '.join(str(message).split())}", err=True)

    warnings.showwarning = show


def _run() -> tuple[str | None, int]:
    """Run the app: the line to print on stderr (None: nothing) and the exit code."""
    import logging

    from smtrail_sql.errors import SmtrailError

    # pyathena logs a traceback before raising; the error itself reaches the user as one line below
    logging.getLogger("pyathena").addHandler(logging.NullHandler())
    _warnings_as_lines()
    try:
        code = app(standalone_mode=False, prog_name="smtrail-sql")
    except SmtrailError as error:
        # one line, even when an engine's message spans several (DuckDB points at the SQL on later lines)
        return f"error: {' '.join(str(error).split())}", error.exit_code
    except OSError as error:  # a file that cannot be read or written
        where = f"{error.filename}: " if error.filename else ""
        return f"error: {where}{error.strerror or error}", EXIT_FAILURE
    except KeyboardInterrupt:
        return None, EXIT_INTERRUPTED
    except typer.Exit as done:
        return None, done.exit_code
    except typer.Abort as abort:
        if isinstance(abort.__context__, KeyboardInterrupt):
            return None, EXIT_INTERRUPTED
        return "aborted", EXIT_INTERRUPTED
    except Exception as error:  # click usage errors and anything unexpected: one line, no traceback
        # typer may vendor its own click, so recognise click's exceptions by behaviour, not by class
        message, exit_code = getattr(error, "format_message", None), getattr(error, "exit_code", None)
        if callable(message) and isinstance(exit_code, int):
            context = getattr(error, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            return f"error: {message()}{hint}", exit_code
        return f"error: unexpected {type(error).__name__}: {' '.join(str(error).split())}", EXIT_FAILURE
    # click returns the exit code instead of raising when standalone_mode is off (typer turns Ctrl-C into 130)
    return None, code if isinstance(code, int) else EXIT_OK
