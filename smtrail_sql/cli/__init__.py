"""The ``smtrail-sql`` command line, a thin layer over the library.

Each submodule registers its commands on :data:`app`; heavy libraries are imported inside the commands.
"""

from smtrail_sql.cli import athena as athena
from smtrail_sql.cli import local as local
from smtrail_sql.cli import plot as plot
from smtrail_sql.cli import queries as queries
from smtrail_sql.cli.app import app, main

__all__ = ["app", "main"]
