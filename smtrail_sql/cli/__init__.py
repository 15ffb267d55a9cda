"""The ``smtrail-sql`` command line, a thin layer over the library (:class:`smtrail_sql.api.Toolkit`).

One floor: each command module registers its commands on :data:`app` and imports only :mod:`.app`,
:mod:`.options` and :mod:`.console`, never another command module; heavy libraries are imported inside the
commands.
"""

# registration order is the order of --help: queries, running and plotting, then Athena and AWS
from smtrail_sql.cli import queries as queries  # isort: skip
from smtrail_sql.cli import run as run  # isort: skip
from smtrail_sql.cli import adhoc as adhoc  # isort: skip
from smtrail_sql.cli import cache as cache  # isort: skip
from smtrail_sql.cli import plot as plot  # isort: skip
from smtrail_sql.cli import aws as aws  # isort: skip
from smtrail_sql.cli import trail as trail  # isort: skip
from smtrail_sql.cli import store as store  # isort: skip
from smtrail_sql.cli import config as config  # isort: skip
from smtrail_sql.cli.app import app, main  # isort: skip


__all__ = ["app", "main"]
