"""The ``smtrail-sql`` command line, a thin layer over the library.

Each submodule registers its commands on :data:`app`; heavy libraries are imported inside the commands.
"""

# registration order is the order of --help: queries, running and plotting, then Athena and AWS
from smtrail_sql.cli import queries as queries  # isort: skip
from smtrail_sql.cli import local as local  # isort: skip
from smtrail_sql.cli import plot as plot  # isort: skip
from smtrail_sql.cli import athena as athena  # isort: skip
from smtrail_sql.cli.app import app, main  # isort: skip


__all__ = ["app", "main"]
