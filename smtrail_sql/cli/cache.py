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
    from smtrail_sql.aws.pricing import format_bytes
    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.wording import plural

    info = ExtractCache().info()
    typer.echo(f"{info.path}: {plural(info.entries, 'file entry', 'file entries')}, "
               f"{plural(info.snapshots, 'snapshot')}, {format_bytes(info.bytes)}")


@cache_app.command("clear")
def cache_clear() -> None:
    """Empty the cache (the next query reads its log files again).

    \b
    Example: smtrail-sql cache clear
    """
    from smtrail_sql.aws.pricing import format_bytes
    from smtrail_sql.reader.cache import ExtractCache
    from smtrail_sql.wording import plural

    removed = ExtractCache().clear()
    typer.echo(f"removed {plural(removed.entries, 'file entry', 'file entries')} and "
               f"{plural(removed.snapshots, 'snapshot')} ({format_bytes(removed.bytes)}) from {removed.path}")
