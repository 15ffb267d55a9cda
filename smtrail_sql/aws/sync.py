"""Download the log files of a window into the bucket's layout on disk, for the local engine.

Parallel (a thread pool), resumable (a file already on disk with the listed size is not fetched again) and
atomic per file: each object is written to a hidden temporary name beside its target and renamed with
:func:`os.replace` only once complete, so an interrupted sync never leaves a partial log file that the local
reader could mistake for a truncated one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from smtrail_sql.aws.estimate import LogObject, iter_log_objects, partitions
from smtrail_sql.errors import EngineError
from smtrail_sql.settings import LogLocation
from smtrail_sql.window import TimeWindow

#: Downloads in flight at once; log files are small, so latency, not bandwidth, is the limit.
DOWNLOAD_WORKERS = 16
_CHUNK = 1 << 20
#: Temporary files end with this; a later sync removes any left by a killed process.
PARTIAL_SUFFIX = ".smtrail-partial"


class SyncProgress(Protocol):
    """What a sync reports while it runs (the CLI draws a progress bar from it; the library never prints)."""

    def planned(self, files: int, total_bytes: int) -> None:
        """Called once, after listing: how many files and bytes the window holds."""

    def advanced(self, nbytes: int) -> None:
        """Called from worker threads as bytes arrive (or are found already on disk)."""

    def file_done(self, obj: LogObject, skipped: bool) -> None:
        """Called in the calling thread when a file is on disk (``skipped``: it was already there)."""


@dataclass(frozen=True)
class SyncResult:
    """What a sync did.

    >>> SyncResult(files=3, downloaded=1, skipped=2, bytes_downloaded=10, total_bytes=30).describe()
    '3 files (30 B): 1 downloaded (10 B), 2 already present'
    """

    files: int
    downloaded: int
    skipped: int
    bytes_downloaded: int
    total_bytes: int

    def describe(self) -> str:
        """One line for a person."""
        from smtrail_sql.aws.pricing import format_bytes
        from smtrail_sql.wording import plural

        return (
            f"{plural(self.files, 'file')} ({format_bytes(self.total_bytes)}): {self.downloaded} downloaded "
            f"({format_bytes(self.bytes_downloaded)}), {self.skipped} already present"
        )


def local_path(directory: Path, key: str) -> Path:
    """Where an object lands: ``DIR/<key>``, so ``DIR`` mirrors ``s3://BUCKET/``.

    >>> local_path(Path("/data"), "AWSLogs/1/CloudTrail/x.json.gz").as_posix()
    '/data/AWSLogs/1/CloudTrail/x.json.gz'
    """
    target = (directory / key).resolve()
    if directory.resolve() not in target.parents:
        raise EngineError(f"refusing to write object key {key!r} outside {directory}")
    return target


def sync_logs(
    s3: Any,
    location: LogLocation,
    accounts: Sequence[str],
    regions: Sequence[str],
    window: TimeWindow,
    directory: Path,
    *,
    progress: SyncProgress | None = None,
    workers: int = DOWNLOAD_WORKERS,
) -> SyncResult:
    """Download every log file of the window's partitions into ``directory`` (``DIR/<key>``).

    >>> # sync_logs(make_client(make_session(), "s3"), LogLocation.create("trail-bucket"),
    >>> #           ["123456789012"], ["us-east-1"], TimeWindow.parse(since="3d"), Path("logs"))
    """
    directory.mkdir(parents=True, exist_ok=True)
    objects = [
        obj
        for _, listed in iter_log_objects(s3, location, partitions(accounts, regions, window), window)
        for obj in listed
    ]
    total = sum(o.size for o in objects)
    if progress:
        progress.planned(len(objects), total)
    todo: list[tuple[LogObject, Path]] = []
    skipped = 0
    for obj in objects:
        target = local_path(directory, obj.key)
        _remove_stale_partials(target)
        if target.is_file() and target.stat().st_size == obj.size:
            skipped += 1
            if progress:
                progress.advanced(obj.size)
                progress.file_done(obj, skipped=True)
        else:
            todo.append((obj, target))

    downloaded = 0
    if todo:
        # A bounded number of downloads in flight, so that Ctrl-C or an error stops the sync promptly.
        queue = iter(todo)
        in_flight: dict[Future[None], LogObject] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
            try:
                while True:
                    for obj, target in queue:
                        in_flight[pool.submit(_download, s3, location.bucket, obj, target, progress)] = obj
                        if len(in_flight) >= 2 * workers:
                            break
                    if not in_flight:
                        break
                    done, _ = wait(in_flight, return_when=FIRST_EXCEPTION)
                    for future in done:
                        obj = in_flight.pop(future)
                        future.result()  # re-raises a worker's error here, in the caller's thread
                        downloaded += 1
                        if progress:
                            progress.file_done(obj, skipped=False)
            finally:
                # On an error or Ctrl-C: start nothing new; running downloads finish or clean up after
                # themselves when the pool shuts down.
                for future in in_flight:
                    future.cancel()
    return SyncResult(
        files=len(objects),
        downloaded=downloaded,
        skipped=skipped,
        bytes_downloaded=sum(o.size for o, _ in todo),
        total_bytes=total,
    )


def _remove_stale_partials(target: Path) -> None:
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f".{target.name}.*{PARTIAL_SUFFIX}"):
        stale.unlink(missing_ok=True)


def _download(s3: Any, bucket: str, obj: LogObject, target: Path, progress: SyncProgress | None) -> None:
    from smtrail_sql.aws.session import aws_call

    target.parent.mkdir(parents=True, exist_ok=True)
    # Hidden, and not ending in .json.gz: a reader walking DIR never picks up a file being written.
    temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"
    try:
        with aws_call(f"download s3://{bucket}/{obj.key}"):
            body = s3.get_object(Bucket=bucket, Key=obj.key)["Body"]
            written = 0
            with open(temporary, "wb") as out:
                for chunk in body.iter_chunks(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    if progress:
                        progress.advanced(len(chunk))
        if written != obj.size:
            raise EngineError(
                f"s3://{bucket}/{obj.key}: got {written} bytes, listed {obj.size} (changed during the sync?)"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
