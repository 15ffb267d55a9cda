"""A reader worker starts light: no pandas (pyarrow imports it on a process's first Arrow call, only to tell
whether a list is a pandas object, 0.4 s and 43 MB in each worker), whatever the order of its set-up."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import smtrail_sql.reader.workers as w
from smtrail_sql.reader.forked import WorkerPool
from smtrail_sql.reader.memory import reader_budget
from smtrail_sql.settings import DEFAULT_MAX_LOG_SIZE

def probe(_):
    return "pandas" in sys.modules

w.preload()
assert "pandas" not in sys.modules
with WorkerPool(1, probe, w._start_worker, (True, reader_budget(DEFAULT_MAX_LOG_SIZE))) as pool:
    print(list(pool.imap_unordered([0])))
"""


def test_a_worker_with_a_memory_budget_never_imports_pandas() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["[False]"]
