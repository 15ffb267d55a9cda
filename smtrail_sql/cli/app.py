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

#: Exit codes, as sqlfluff does: 0 success, 1 failure, 2 usage error, 130 interrupted.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def main() -> None:
    """Console-script entry point: run the app, map library errors to one line and an exit code."""
    import logging

    from smtrail_sql.errors import SmtrailError

    # pyathena logs a traceback before raising; the error itself reaches the user as one line below
    logging.getLogger("pyathena").addHandler(logging.NullHandler())
    try:
        code = app(standalone_mode=False, prog_name="smtrail-sql")
    except SmtrailError as error:
        # one line, even when an engine's message spans several (DuckDB points at the SQL on later lines)
        typer.echo(f"error: {' '.join(str(error).split())}", err=True)
        sys.exit(error.exit_code)
    except OSError as error:  # a file that cannot be read or written
        where = f"{error.filename}: " if error.filename else ""
        typer.echo(f"error: {where}{error.strerror or error}", err=True)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # click usage errors and anything unexpected: one line, no traceback
        # typer may vendor its own click, so recognise click's exceptions by behaviour, not by class
        message, exit_code = getattr(error, "format_message", None), getattr(error, "exit_code", None)
        if callable(message) and isinstance(exit_code, int):
            context = getattr(error, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            typer.echo(f"error: {message()}{hint}", err=True)
            sys.exit(exit_code)
        typer.echo(f"error: unexpected {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_FAILURE)
    # click returns the exit code instead of raising when standalone_mode is off
    sys.exit(code if isinstance(code, int) else EXIT_OK)
