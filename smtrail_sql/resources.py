"""Where the shipped ``sql/`` folder is: inside the wheel, or at the top of a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def sql_root() -> Path:
    """The folder holding ``ddl/`` and ``queries/``.

    A wheel carries it as ``smtrail_sql/sql`` (hatchling force-include); an editable install or a source
    tree finds the top-level ``sql/`` beside the package.
    """
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "sql", package_dir.parent / "sql"):
        if (candidate / "queries").is_dir() and (candidate / "ddl").is_dir():
            return candidate
    raise FileNotFoundError(f"smtrail-sql's sql/ folder is missing beside {package_dir}; reinstall the package")


def queries_dir() -> Path:
    """The built-in canned query templates."""
    return sql_root() / "queries"


def ddl_dir() -> Path:
    """The versioned DDL files."""
    return sql_root() / "ddl"
