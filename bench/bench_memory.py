"""Memory against the bucket's size: what the CLI holds on the bench's heavy bucket and on one four times larger.

Two buckets generated once under ``bench/.data/`` with the demo generator: ``1x``, :mod:`bench_local`'s heavy
copy (about 1,000 files, 830,000 points), and ``4x``, the same spec over four times as many days (about 4,000
files, 3.3 million points). On each, every round runs ``smtrail-sql run metric-summary --all-time`` end to end
(:func:`bench_cli.run_cli`) in the four states a user meets, each in a new process, in this order:

* ``cold, no cache``: ``--no-cache``, every file read;
* ``cold, filling a cache``: a new cache folder, every file read, each file's entry and the snapshot written;
* ``from file entries``: the snapshot removed (as when a new file arrives), every file answered by its entry;
* ``warm``: the snapshot answers.

It prints, for each state and size, the peak of what the process tree *held* (anonymous and shared memory,
which only the processes can give back) and of all it had resident (with the file pages mapped from disk: the
snapshot and the spooled rows, which are the system's file cache, taken back under pressure), each the median
of ``--repeat`` rounds with its spread. The target (issue 16): what is held does not grow with the bucket, the
4x figure within 1.25x of the 1x one (the ratio is printed), and stays under 1 GB.
Usage: ``python bench/bench_memory.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_cli  # noqa: E402
import bench_local  # noqa: E402

SIZES = {"1x": (bench_local.DATA, bench_local.SPEC),
         "4x": (bench_local.DATA / "heavy4x", {**bench_local.SPEC, "days": 4 * int(bench_local.SPEC["days"])})}
STATES = ("cold, no cache", "cold, filling a cache", "from file entries", "warm")
TARGETS = {"growth": 1.25, "held_gb": 1.0}


def one_round(bucket: Path) -> dict[str, dict[str, Any]]:
    """The four states, in order, with a cache folder of their own."""
    cache = tempfile.mkdtemp(prefix="smtrail-bench-memory-")
    env = {"SMTRAIL_CACHE_DIR": cache}
    try:
        runs = {"cold, no cache": bench_cli.run_cli(bucket, "--no-cache", env=env),
                "cold, filling a cache": bench_cli.run_cli(bucket, "--quiet", env=env)}
        shutil.rmtree(Path(cache) / "snapshots")
        runs["from file entries"] = bench_cli.run_cli(bucket, "--quiet", env=env)
        runs["warm"] = bench_cli.run_cli(bucket, "--quiet", env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return runs


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):5.0f} MB ({min(values):.0f}-{max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median and the spread are printed")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "smtrail_sql")], check=True)
    rounds: dict[str, list[dict[str, dict[str, Any]]]] = {}
    for size, (data, spec) in SIZES.items():
        bucket, facts = bench_local.ensure_bucket(data, spec)
        print(f"{size}: {facts['log_files']} files, {facts['compressed_bytes'] / 1e6:.0f} MB gzipped, "
              f"{facts['points']} points", flush=True)
        for path in bucket.glob(bench_local.GLOB):  # the files in the page cache, as in bench_cli
            path.read_bytes()
        rounds[size] = []
        for number in range(args.repeat):
            rounds[size].append(one_round(bucket))
            print(f"  round {number + 1}: " + ", ".join(
                f"{state} {run['held_mb']:.0f} MB held" for state, run in rounds[size][-1].items()), flush=True)
    print(f"\n{os.cpu_count()} cores; median of {args.repeat} rounds (lowest-highest)")
    print(f"{'state':<24}{'held 1x':>22}{'held 4x':>22}{'in all 1x':>22}{'in all 4x':>22}   4x/1x held")
    for state in STATES:
        held = {size: [r[state]["held_mb"] for r in runs] for size, runs in rounds.items()}
        total = {size: [r[state]["peak_mb"] for r in runs] for size, runs in rounds.items()}
        growth = statistics.median(held["4x"]) / statistics.median(held["1x"])
        largest = max(held["4x"]) / 1024
        met = growth <= TARGETS["growth"] and largest < TARGETS["held_gb"]
        print(f"{state:<24}{_spread(held['1x']):>22}{_spread(held['4x']):>22}{_spread(total['1x']):>22}"
              f"{_spread(total['4x']):>22}   {growth:4.2f}x (target <= {TARGETS['growth']:g}x and "
              f"< {TARGETS['held_gb']:g} GB: {'met' if met else 'NOT MET'})")


if __name__ == "__main__":
    main()
