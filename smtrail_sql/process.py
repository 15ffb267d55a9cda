"""What kind of process runs this code, and what a warm query may therefore leave out of its start-up.

A warm query's rows come from a verified snapshot (:mod:`smtrail_sql.reader.entries`): Arrow tables that
DuckDB scans, with no numpy anywhere between. pyarrow still imports numpy when it can (numpy is optional to
it), and that is about 0.09 s of the 0.3 s that ``import duckdb, pyarrow`` costs. In a process that runs one
query and exits, :func:`import_pyarrow` loads pyarrow without its numpy bridge once the snapshot has been
verified (so that nothing will be read from log files, the only work that hands numpy arrays to Arrow).

Only the console script says its process is such a one, for the commands that print a query's rows
(``run``, ``sql``): a notebook or any longer-lived host of the library keeps pyarrow whole, because it may
ask for a DataFrame later. Once pyarrow is loaded, nothing here changes how it was loaded.
"""

from __future__ import annotations

import sys
from typing import Any

#: True in the console script while it runs a command that prints one query's rows (see the module docstring).
_ONE_QUERY = False


def declare_one_query() -> None:
    """Say that this process runs one query, prints its rows and exits (the console script's ``run``, ``sql``)."""
    global _ONE_QUERY
    _ONE_QUERY = True


def import_pyarrow() -> Any:
    """pyarrow, for rows read from a verified snapshot: loaded without numpy in a one-query process that has
    not loaded numpy or pyarrow yet, else as usual.

    numpy stays importable afterwards (the stand-in that hides it is only there while pyarrow loads); pyarrow,
    loaded so, refuses what needs numpy (``to_numpy``, ``to_pandas``) with its own error.
    """
    if not _ONE_QUERY or "pyarrow" in sys.modules or "numpy" in sys.modules:
        import pyarrow

        return pyarrow
    sys.modules["numpy"] = None  # type: ignore[assignment]  # (what `import numpy` reads as "not installed")
    try:
        import pyarrow
    finally:
        del sys.modules["numpy"]
    return pyarrow
