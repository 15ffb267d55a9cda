"""Throughput of `sync` and `estimate` against a local moto S3 server (no AWS account needed).

Prints files/s and MiB/s for a sequential and a parallel sync, the time of a resumed sync (every file already
on disk), and the time to list a month of partitions sequentially and in parallel, with the ratios.

moto answers in well under a millisecond from this very process, where real S3 takes tens of milliseconds per
request; the benchmark therefore adds a simulated round trip (default 30 ms, a botocore ``before-send`` hook that
sleeps) to every request of the client under test. ``0`` measures raw moto, which is GIL-bound and shows little.

Run: .venv/bin/python bench/aws_sync_estimate.py [files] [kib-per-file] [latency-ms]
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    kib = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    latency = (int(sys.argv[3]) if len(sys.argv) > 3 else 30) / 1000
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"})
    from smtrail_sql.aws import estimate
    from smtrail_sql.aws.session import make_client, make_session
    from smtrail_sql.aws.sync import sync_logs
    from smtrail_sql.settings import LogLocation
    from smtrail_sql.window import TimeWindow

    s3 = make_client(make_session(), "s3", max_pool_connections=32)
    s3.create_bucket(Bucket="bench-trail")
    account, region, first = "111111111111", "us-east-1", date(2024, 5, 1)
    body = os.urandom(kib * 1024)
    for i in range(files):
        day = first + timedelta(days=i % 30)
        key = (f"AWSLogs/{account}/CloudTrail/{region}/{day:%Y/%m/%d}/"
               f"{account}_CloudTrail_{region}_{day:%Y%m%d}T0000Z_{i:06d}.json.gz")
        s3.put_object(Bucket="bench-trail", Key=key, Body=body)
    if latency:
        def round_trip(**_: object) -> None:
            time.sleep(latency)

        s3.meta.events.register("before-send.s3", round_trip)
    location = LogLocation.create("bench-trail")
    window = TimeWindow.parse(since="2024-05-01", until="2024-05-30")
    total_mib = files * kib / 1024
    print(f"{files} files of {kib} KiB ({total_mib:.1f} MiB) in 30 delivery days; "
          f"simulated round trip {latency * 1000:.0f} ms")

    timings: dict[int, float] = {}
    for workers in (1, 16):
        with tempfile.TemporaryDirectory() as target:
            started = time.perf_counter()
            result = sync_logs(s3, location, [account], [region], window, Path(target), workers=workers)
            timings[workers] = time.perf_counter() - started
            assert result.downloaded == files
            print(f"sync, {workers:2d} workers: {timings[workers]:6.2f}s  {files / timings[workers]:7.1f} files/s  "
                  f"{total_mib / timings[workers]:6.1f} MiB/s")
            if workers == 16:
                started = time.perf_counter()
                again = sync_logs(s3, location, [account], [region], window, Path(target), workers=workers)
                resumed = time.perf_counter() - started
                assert again.skipped == files
                print(f"sync, resumed (all present): {resumed:6.2f}s  ({timings[16] / resumed:.1f}x faster than "
                      "downloading)")
    print(f"parallel sync speed-up: {timings[1] / timings[16]:.2f}x")

    regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]
    listing: dict[int, float] = {}
    for workers in (1, 16):
        started = time.perf_counter()
        found = estimate.estimate_scan(s3, location, [account, "222222222222"], regions, window, workers=workers)
        listing[workers] = time.perf_counter() - started
        print(f"estimate, {workers:2d} listing workers: {listing[workers]:6.2f}s for {found.partitions} partitions "
              f"({found.files} files)")
    print(f"parallel listing speed-up: {listing[1] / listing[16]:.2f}x")
    server.stop()


if __name__ == "__main__":
    main()
