"""What a user feels of a warm query: ``smtrail-sql run metric-summary`` end to end over unchanged logs.

On :mod:`bench_cli`'s two data shapes (``heavy``: about 1,000 files and 830,000 points, half the events metric
calls; ``sparse``: as many files, metric events 1% of them), with a cache filled by a first run, every round runs,
each in a new process and interleaved (the machine's load weighs on all alike):

* ``relative``: ``--since <a date>`` with no ``--until``: a window that ends *now*, so it moves with the clock,
  as the default ``--since 7d`` does (the data is generated at a fixed date, so the default would find none);
* ``all-time``: ``--all-time``;
* ``floor``: ``python -c "import duckdb, pyarrow"``, the start-up of the two libraries a warm query needs;
* ``python``: ``python -c pass``, the interpreter alone.

The CLI runs are the console script, bytecode compiled first as pip does at install, rows written as CSV to
``/dev/null``. Each figure is the median of ``--repeat`` runs with the lowest and highest; the target (issue 16):
a warm query under 0.4 s end to end. Usage: ``python bench/bench_warm.py [--repeat 15] [--shape heavy|sparse]``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_cli  # noqa: E402
import bench_local  # noqa: E402

TARGET_SECONDS = 0.4


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _figure(values: list[float]) -> str:
    return f"{statistics.median(values):5.3f} s  ({min(values):.3f}-{max(values):.3f})"


def bench_shape(shape: str, repeat: int) -> None:
    bucket, facts = bench_cli.ensure_shape(shape)
    cli = str(Path(sys.executable).with_name("smtrail-sql"))
    since = (datetime.fromisoformat(str(bench_local.SPEC["now"])) - timedelta(days=7)).date().isoformat()
    query = [cli, "run", "metric-summary", "--logs", str(bucket), "--format", "csv", "--output", "/dev/null"]
    commands = {
        "relative": [*query, "--since", since],
        "all-time": [*query, "--all-time"],
        "floor": [sys.executable, "-c", "import duckdb, pyarrow"],
        "python": [sys.executable, "-c", "pass"],
    }
    print(f"\n== {shape}: {facts['log_files']} files, {facts['points']} points; {os.cpu_count()} cores; "
          f"{repeat} runs of each, interleaved", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SMTRAIL_CACHE_DIR": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for name in ("relative", "all-time"):
            _timed(commands[name], env)  # fills the cache: the rows' snapshot and the rendered SQL
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, command in commands.items():
                runs[name].append(_timed(command, env))
    floor = statistics.median(runs["floor"])
    labels = {"relative": f"warm CLI, --since {since} (ends now)", "all-time": "warm CLI, --all-time",
              "floor": "floor: import duckdb, pyarrow", "python": "python -c pass"}
    for name, values in runs.items():
        median = statistics.median(values)
        verdict = ""
        if name in ("relative", "all-time"):
            met = "met" if median < TARGET_SECONDS else "NOT MET"
            verdict = f"floor {median - floor:+.3f} s (target < {TARGET_SECONDS:g} s: {met})"
        print(f"{labels[name]:<44} {_figure(values):>26}   {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each; the median and spread are printed")
    parser.add_argument("--shape", choices=sorted(bench_cli.SHAPES), action="append",
                        help="one shape (default: both)")
    args = parser.parse_args()
    compileall.compile_dir(str(HERE.parent / "smtrail_sql"), quiet=1)
    for shape in args.shape or sorted(bench_cli.SHAPES):
        bench_shape(shape, args.repeat)


if __name__ == "__main__":
    main()
