"""``smtrail-sql cache info`` and ``cache clear``: the local engine's extraction cache."""

from __future__ import annotations

import typer

from smtrail_sql.cli.app import app

cache_app = typer.Typer(help="The extraction cache of the local engine.\n\nExample: smtrail-sql cache info",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info() -> None:
    """Show where the cache is and how much it holds.

    \b
    Example: smtrail-sql cache info
    """
    from smtrail_sql.reader.cache import ExtractCache

    info = ExtractCache().info()
    typer.echo(f"{info.path}: {info.entries} file entries, {info.snapshots} snapshots, "
               f"{info.bytes / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear() -> None:
    """Empty the cache (the next query reads its log files again).

    \b
    Example: smtrail-sql cache clear
    """
    from smtrail_sql.reader.cache import ExtractCache

    removed = ExtractCache().clear()
    typer.echo(f"removed {removed.entries} file entries and {removed.snapshots} snapshots "
               f"({removed.bytes / 1e6:.1f} MB) from {removed.path}")
