"""What kind of process runs this code, and what a warm query may therefore leave out of its start-up.

A warm query's rows come from a verified snapshot (:mod:`smtrail_sql.reader.entries`): Arrow tables that
DuckDB scans, with no numpy anywhere between. pyarrow still imports numpy when it can (numpy is optional to
it), and that is about 0.09 s of the 0.3 s that ``import duckdb, pyarrow`` costs. In a process that runs one
query and exits, :func:`import_pyarrow` loads pyarrow without its numpy bridge once the snapshot has been
verified (so that nothing will be read from log files, the only work that hands numpy arrays to Arrow).

Likewise pyarrow imports pandas (0.4 s) on its first ``pyarrow.array`` call of a process, only to check whether
the list it is given is a pandas object: :func:`arrow_without_pandas` settles that check as "no pandas" where
no pandas object can come, in the reader's worker processes always and, in a one-query process, before the
reader builds its tables itself (a small selection is read without workers).

Only the console script says its process is such a one, for the commands that print a query's rows
(``run``, ``sql``): a notebook or any longer-lived host of the library keeps pyarrow whole, because it may
ask for a DataFrame later. Once pyarrow is loaded, nothing here changes how it was loaded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

#: True in the console script while it runs a command that prints one query's rows (see the module docstring).
_ONE_QUERY = False


def declare_one_query() -> None:
    """Say that this process runs one query, prints its rows and exits (the console script's ``run``, ``sql``)."""
    global _ONE_QUERY
    _ONE_QUERY = True


def one_query() -> bool:
    """Whether this process was declared to run one query (see :func:`declare_one_query`)."""
    return _ONE_QUERY


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


def arrow_without_pandas() -> None:
    """Make pyarrow's first ``pyarrow.array`` call with pandas hidden, which settles its pandas check for good
    in this process (0.40 s and 43 MB less): only where no pandas object can ever reach pyarrow (see the module
    docstring). Nothing is done when pandas is loaded already or the check was made."""
    import pyarrow as pa

    if "pandas" in sys.modules:
        return

    class NoPandas:  # an import hook that says pandas is not installed
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
            if name == "pandas" or name.startswith("pandas."):
                raise ModuleNotFoundError(f"{name} is not used by this process", name=name)

    hook = NoPandas()
    sys.meta_path.insert(0, hook)
    try:
        pa.array([None])
    finally:
        sys.meta_path.remove(hook)


def die_with_parent() -> None:
    """On Linux, have the kernel kill this process (a reader's worker, the executor) when the process that forked
    it ends, however it ends: a worker of a command killed by SIGKILL would otherwise die of a broken pipe, its
    traceback printed on the terminal."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        parent = os.getppid()
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if parent == 1 or os.getppid() != parent:  # (it ended before the call above, or before the fork returned)
            os._exit(0)
