"""Benchmark of the local engine over a bucket with a hostile file in it, against the same bucket without it.

The bucket is bench_local's (``bench/.data``, generated on its first run: about 1,000 files, 730 MB of JSON).
Beside it, written at run time (never committed), one of:

* the **bomb**: ``{"Records":[`` + 10 GiB of spaces + ``]}``, 10 MB gzipped. It is skipped as ``too-large`` once
  its first ``SMTRAIL_MAX_LOG_SIZE`` bytes are inflated (1 GiB by default; ``--limit`` sets another);
* the **dense** file: ``{"Records":[{},{},...]}``, 90% of the limit once inflated (about 1 MB gzipped), whose
  decoding takes twenty times its size: the reader's memory budget (``smtrail_sql.reader.memory``: four times
  the limit and 256 MB) stops it, and it is skipped as ``too-large`` too.

Each round runs the CLI end to end, ``run metric-summary --all-time --no-cache``, over each folder in a new
process, and measures its time and its peak memory: the resident set of the largest of its processes (the CLI
or one of its reader workers), as ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a parent that only waits for it.
Prints the median of ``--repeat`` rounds with the spread (lowest to highest), and the budget they stay under.
Usage: ``python bench/bench_hostile.py [--repeat 3] [--limit 1GiB] [--bomb-gib 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
#: Runs the command in argv; prints its wall time and the peak resident set (KB) of its largest process.
_WRAPPER = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
            "print(json.dumps([r.returncode, time.perf_counter() - t, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.stderr.strip()]))")


def ensure_bucket() -> Path:
    """bench_local's bucket copy, generated if missing."""
    sys.path.insert(0, str(HERE))
    from bench_local import BUCKET, ensure_data

    facts = ensure_data()
    print(f"bucket: {facts['log_files']} files, {facts['uncompressed_bytes'] / 1e6:.0f} MB of JSON; "
          f"{os.cpu_count()} cores", flush=True)
    return Path(BUCKET)


def folders(bucket: Path, work: Path, bomb_gib: float, limit: int) -> dict[str, Path]:
    """Three folders over the same files (links to the bucket's AWSLogs/): as they are, with the bomb, with
    the dense file."""
    sys.path.insert(0, str(ROOT))
    from tests.hostile_files import DENSE, write_gzip_bomb

    found = {name: work / name for name in ("without", "bomb", "dense")}
    for folder in found.values():
        folder.mkdir()
        (folder / "AWSLogs").symlink_to(bucket / "AWSLogs")
    bomb = write_gzip_bomb(found["bomb"] / "bomb.json.gz", int(bomb_gib * (1 << 30)))
    print(f"bomb: {bomb.stat().st_size / 1e6:.1f} MB gzipped, {bomb_gib:g} GiB inflated", flush=True)
    head, filler, tail = DENSE["records"]
    dense_size = int(limit * 0.9)
    dense = write_gzip_bomb(found["dense"] / "dense.json.gz", dense_size, filler=filler, head=head, tail=tail)
    print(f"dense: {dense.stat().st_size / 1e6:.1f} MB gzipped, {dense_size / 2**20:.0f} MiB inflated, "
          f"{dense_size // 3:,} empty records", flush=True)
    return found


def run_once(folder: Path, limit: str | None, cache: Path) -> tuple[float, float, str]:
    """(seconds, peak MB of the largest process, the last line on stderr) of one CLI run."""
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(cache)}
    env.pop("SMTRAIL_MAX_LOG_SIZE", None)
    if limit:
        env["SMTRAIL_MAX_LOG_SIZE"] = limit
    cli = [sys.executable, "-m", "smtrail_sql", "run", "metric-summary", "--logs", str(folder), "--all-time",
           "--no-cache", "--format", "csv"]
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cli], capture_output=True, text=True, env=env,
                         check=True, cwd=ROOT)
    code, seconds, peak_kb, stderr = json.loads(out.stdout)
    if code != 0:
        raise SystemExit(f"the CLI failed over {folder}: {stderr}")
    return float(seconds), int(peak_kb) / 1024, stderr.splitlines()[-1] if stderr else ""


def _median(values: list[float], unit: str, digits: int) -> str:
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f} to {max(values):.{digits}f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median and the spread are printed")
    parser.add_argument("--limit", help="SMTRAIL_MAX_LOG_SIZE for the runs (default: the reader's, 1 GiB)")
    parser.add_argument("--bomb-gib", type=float, default=10.0, help="inflated size of the bomb, in GiB")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from smtrail_sql.reader.memory import reader_budget
    from smtrail_sql.settings import validate_max_log_size

    limit = validate_max_log_size(args.limit)
    bucket = ensure_bucket()
    with tempfile.TemporaryDirectory(prefix="smtrail-hostile-") as work_dir:
        work = Path(work_dir)
        cases = folders(bucket, work, args.bomb_gib, limit)
        for path in bucket.rglob("*.json.gz"):  # every run starts with the files in the page cache
            path.read_bytes()
        runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name in cases}
        for round_number in range(args.repeat):
            for name, folder in cases.items():
                runs[name].append(run_once(folder, args.limit, work / "cache"))
            print(f"round {round_number + 1}: " + ", ".join(
                f"{name} {runs[name][-1][0]:.2f} s {runs[name][-1][1]:.0f} MB" for name in runs), flush=True)
    print()
    print(f"SMTRAIL_MAX_LOG_SIZE={args.limit or '1GiB (default)'}; a reader's budget "
          f"{reader_budget(limit) / 2**20:,.0f} MiB; median of {args.repeat} rounds (lowest to highest)")
    for name in runs:
        seconds = [r[0] for r in runs[name]]
        peaks = [r[1] for r in runs[name]]
        print(f"{name:<8} time {_median(seconds, 's', 2):<28} peak {_median(peaks, 'MB', 0):<26} "
              f"{runs[name][-1][2]}")


if __name__ == "__main__":
    main()
