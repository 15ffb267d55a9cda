"""Benchmark of the metric store against the trail: bytes Trino reads for ``metric-summary`` over 7 days.

Generates (once) a bucket copy under ``bench/.data/store/`` with the demo generator: 9 delivery days, 2 accounts
x 2 regions, 99 events of other services per ``BatchPutMetrics`` call (metric events are 1% of the trail, as the
issue states; the share is counted in the files and printed). Then, in this run, on the test suite's Trino 476
(``tests/trino_server.py``: hive + iceberg catalogs over one file metastore, in a temporary folder):

* loads the bucket into the Athena-shaped trail table (``tests/trino_shape.py``) with its files **gzipped**, as
  CloudTrail delivers them: Trino's ``physicalInputBytes`` then counts the compressed bytes, the ones Athena reads
  and bills (the table's files hold the JSON SerDe's rows, one file per account, region and delivery day: gzip
  level 6, about the size of the bucket's own files); checks that Trino reads every event back;
* refreshes the metric store once (every delivery day, one chunk, the refresh's own SQL) and reports its wall
  time, what it read, and the store's size on disk (Parquet data and Iceberg metadata);
* runs ``metric-summary`` over 7 days (2026-11-13 to 2026-11-20: with the default 1-day delivery lag the trail
  reads delivery days 11-13..11-21, all generated) from the trail and from the store, ``--repeat`` rounds each
  after one unmeasured run of each, checks both give the same rows, and prints the bytes each read (Trino's
  ``physicalInputBytes``, the same every round), their ratio (target: the store reads at least 100 times
  fewer), and the wall time of each (client to last row) as the median with its spread (lowest to highest).

The server is the tests' configuration (2 GB heap, C1 JIT only, 2 task threads): its times show the relative
cost on one small node, not Athena's. Usage: ``python bench/bench_store.py [--repeat 3]`` (Trino installed with
``eval "$(bash .ci/install-trino)"``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "store"
BUCKET = DATA / "bucket"
#: What the generated copy holds; a change regenerates it. 9 delivery days ending 2026-11-21 23:00 UTC.
SPEC = {"seed": 1414, "now": "2026-11-21T23:00:00+00:00", "days": 9, "files_per_day": 6, "calls_per_file": 18,
        "trial_components": 40, "noise_per_call": 99.0, "duplicate": False}
#: The query's window: 7 days, inside the generated delivery days with the default 1-day lag.
SINCE, UNTIL = "2026-11-13", "2026-11-20"
SCHEMA = "bench_store"
TARGET_RATIO = 100.0
GLOB = "AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"


def ensure_data() -> dict[str, Any]:
    """Generate the bucket copy unless one with the same spec exists; returns its summary, with the share of
    ``BatchPutMetrics`` events counted in the written files."""
    marker = DATA / "spec.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("spec") == SPEC:
            return dict(saved["summary"])
    shutil.rmtree(BUCKET, ignore_errors=True)
    BUCKET.parent.mkdir(parents=True, exist_ok=True)
    from smtrail_sql.demo import write_sample_bucket

    print(f"generating {BUCKET} ...", flush=True)
    started = time.perf_counter()
    summary = write_sample_bucket(
        BUCKET, seed=int(SPEC["seed"]), now=datetime.fromisoformat(str(SPEC["now"])).astimezone(UTC),
        days=int(SPEC["days"]), files_per_day=int(SPEC["files_per_day"]),
        calls_per_file=int(SPEC["calls_per_file"]), trial_components=int(SPEC["trial_components"]),
        noise_per_call=float(SPEC["noise_per_call"]), duplicate=bool(SPEC["duplicate"]))
    generated = time.perf_counter() - started
    events = metric_events = 0
    compressed_by_day: dict[str, int] = defaultdict(int)
    for path in sorted(BUCKET.glob(GLOB)):  # what the files hold, counted apart from the generator's summary
        records = json.loads(gzip.decompress(path.read_bytes()))["Records"]
        events += len(records)
        metric_events += sum(1 for r in records if r.get("eventSource") == "metrics-sagemaker.amazonaws.com"
                             and r.get("eventName") == "BatchPutMetrics")
        compressed_by_day["/".join(path.parent.parts[-3:])] += path.stat().st_size
    if events != summary.events or metric_events != summary.metric_calls:
        raise SystemExit(f"the files hold {events} events and {metric_events} BatchPutMetrics events; the "
                         f"generator says {summary.events} and {summary.metric_calls}")
    facts = {"log_files": summary.log_files, "uncompressed_bytes": summary.uncompressed_bytes,
             "events": events, "metric_events": metric_events, "failed_calls": summary.failed_calls,
             "points": summary.points, "compressed_bytes": sum(compressed_by_day.values()),
             "compressed_by_day": dict(sorted(compressed_by_day.items())), "generate_seconds": generated}
    marker.write_text(json.dumps({"spec": SPEC, "summary": facts}))
    print(f"generated in {generated:.1f} s", flush=True)
    return facts


def load(server: Any, facts: dict[str, Any]) -> tuple[Any, float]:
    """The trail table (gzipped files) with its views and the store's empty tables; (shape, seconds)."""
    from tests.trino_shape import add_log_files, athena_shaped_trino

    started = time.perf_counter()
    shape = athena_shaped_trino(server, [], schema=SCHEMA, compress=True)
    by_day: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(BUCKET.glob(GLOB)):
        by_day["/".join(path.parent.parts[-3:])].append(path)
    for files in by_day.values():  # a day at a time: the rows of one day are held in memory
        add_log_files(shape, files)
    seconds = time.perf_counter() - started
    written = sorted(shape.location.rglob("part-*"))
    if not written or any(p.suffixes != [".json", ".gz"] for p in written):
        raise SystemExit(f"the trail table's files are not all gzipped: {[p.name for p in written][:5]}")
    table = shape.settings.table
    events, metric_events = shape.execute(
        f"SELECT count(*), count_if(eventsource = 'metrics-sagemaker.amazonaws.com' "
        f"AND eventname = 'BatchPutMetrics') FROM {table}")[0]
    if (events, metric_events) != (facts["events"], facts["metric_events"]):
        raise SystemExit(f"Trino reads {events} events ({metric_events} BatchPutMetrics) from the gzipped table; "
                         f"the bucket holds {facts['events']} ({facts['metric_events']})")
    return shape, seconds


def folder_bytes(folder: Path, suffix: str = "") -> int:
    return sum(p.stat().st_size for p in folder.rglob(f"*{suffix}") if p.is_file())


def store_on_disk(warehouse: Path) -> dict[str, tuple[int, int, int]]:
    """Per store table: (Parquet bytes, Parquet files, metadata bytes) under the server's warehouse."""
    found = {}
    for table in ("sagemaker_metrics_store", "sagemaker_metric_calls_store", "sagemaker_metrics_refreshes"):
        folders = [p for p in warehouse.rglob(f"{table}*") if p.is_dir() and (p / "metadata").is_dir()]
        if len(folders) != 1:
            raise SystemExit(f"expected one folder of {table} under {warehouse}, found {folders}")
        parquet = [p for p in folders[0].rglob("*.parquet") if p.is_file()]
        found[table] = (sum(p.stat().st_size for p in parquet), len(parquet),
                        folder_bytes(folders[0] / "metadata"))
    return found


def _median(values: list[float], unit: str, digits: int) -> str:
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f} to {max(values):.{digits}f})")


def _mb(count: float) -> str:
    return f"{count / 1e6:.2f} MB" if count >= 1e5 else f"{count / 1e3:.1f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median and the spread are printed")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from smtrail_sql.render import Naming, render
    from smtrail_sql.templates import TemplateLibrary
    from smtrail_sql.window import TimeWindow
    from tests.sample_params import required_params
    from tests.trino_server import start
    from tests.trino_store import TrinoStatements, refresh_store

    facts = ensure_data()
    print(f"data: {facts['log_files']} files over {len(facts['compressed_by_day'])} delivery days, "
          f"{facts['uncompressed_bytes'] / 1e6:.0f} MB uncompressed ({facts['compressed_bytes'] / 1e6:.1f} MB "
          f"gzipped), {facts['events']:,} events of which {facts['metric_events']:,} BatchPutMetrics "
          f"({100 * facts['metric_events'] / facts['events']:.2f}%, counted in the files), {facts['points']:,} "
          f"points; {os.cpu_count()} cores", flush=True)

    template = TemplateLibrary.load().get("metric-summary")
    window = TimeWindow.parse(since=SINCE, until=UNTIL)
    trail_query = render(template, required_params(template), window=window, naming=Naming(database=SCHEMA))
    store_query = render(template, required_params(template), window=window,
                         naming=Naming(database=SCHEMA).reading_store())

    with tempfile.TemporaryDirectory(prefix="smtrail-bench-store-") as base:
        started = time.perf_counter()
        server = start(Path(base))
        try:
            print(f"Trino {server.port}: started in {time.perf_counter() - started:.1f} s", flush=True)
            shape, load_seconds = load(server, facts)
            trail_files = folder_bytes(shape.location, ".json.gz")
            print(f"loaded in {load_seconds:.1f} s: {trail_files / 1e6:.1f} MB of gzipped JSON rows in "
                  f"{len(shape.partitions)} partitions; Trino reads all {facts['events']:,} events back",
                  flush=True)

            started = time.perf_counter()
            refreshed = refresh_store(shape)
            refresh_seconds = time.perf_counter() - started
            stored = store_on_disk(server.warehouse)
            points = shape.execute("SELECT count(*) FROM sagemaker_metrics_store")[0][0]
            print(f"refresh: {refresh_seconds:.1f} s, {len(refreshed.chunks)} chunk: {refreshed.describe()}; "
                  f"{points:,} points stored", flush=True)
            for table, (data, files, metadata) in stored.items():
                print(f"  {table}: {_mb(data)} of Parquet in {files} files, {_mb(metadata)} of metadata")

            runner = TrinoStatements(shape)
            for query in (trail_query, store_query):  # one unmeasured run of each
                runner.run_sql(query.sql)
            runs: dict[str, list[Any]] = {"trail": [], "store": []}
            for round_number in range(args.repeat):
                for name, query in (("trail", trail_query), ("store", store_query)):
                    runs[name].append(runner.run_sql(query.sql))
                if Counter(runs["trail"][-1].rows) != Counter(runs["store"][-1].rows):
                    raise SystemExit(f"round {round_number + 1}: the store's rows differ from the trail's")
                print(f"round {round_number + 1}: " + ", ".join(
                    f"{name} {r[-1].stats.elapsed_seconds:.2f} s {_mb(r[-1].stats.bytes_scanned)}"
                    for name, r in runs.items()), flush=True)
        finally:
            server.stop()

    result_rows = runs["store"][-1].rows
    trail_bytes = [r.stats.bytes_scanned for r in runs["trail"]]
    store_bytes = [r.stats.bytes_scanned for r in runs["store"]]
    trail_seconds = [r.stats.elapsed_seconds for r in runs["trail"]]
    store_seconds = [r.stats.elapsed_seconds for r in runs["store"]]
    ratio = statistics.median(trail_bytes) / statistics.median(store_bytes)
    days_read = [d for d in facts["compressed_by_day"] if SINCE.replace("-", "/") <= d[-10:] <= "2026/11/21"]
    bucket_read = sum(facts["compressed_by_day"][d] for d in days_read)
    print()
    print(f"metric-summary, {SINCE} to {UNTIL} (7 days, delivery days read: 2026/11/13..2026/11/21): "
          f"{len(result_rows)} rows, {sum(r[2] for r in result_rows):,} points, the same from both; "
          f"median of {args.repeat} rounds (lowest to highest)")
    figures = [
        ("bytes read from the trail (physicalInputBytes)", _mb(statistics.median(trail_bytes)),
         f"the bucket's own files of those days: {_mb(bucket_read)} (gzip level 1)"),
        ("bytes read from the store", _mb(statistics.median(store_bytes)),
         _ratio(ratio, TARGET_RATIO, "x fewer")),
        ("wall time from the trail", _median(trail_seconds, "s", 2), ""),
        ("wall time from the store", _median(store_seconds, "s", 2),
         f"{statistics.median(trail_seconds) / statistics.median(store_seconds):.1f}x faster"),
        ("refresh of all 9 delivery days (once)", f"{refresh_seconds:.1f} s",
         f"read {_mb(refreshed.bytes_scanned or 0)} (the trail, once per table)"),
    ]
    for label, figure, verdict in figures:
        print(f"{label:<48} {figure:>26}   {verdict}")


def _ratio(value: float, target: float, unit: str) -> str:
    return f"{value:5.1f}{unit} (target >= {target:g}: {'met' if value >= target else 'MISSED'})"


if __name__ == "__main__":
    main()
