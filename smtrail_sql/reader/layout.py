"""Find CloudTrail log files under a folder, pruning by window, account and region before opening any.

Two layouts are understood:

* a bucket copy, ``[prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz``: the account,
  region and delivery-day folders are compared with the filters while walking, so folders outside them are
  never listed (the same delivery-lag rule as Athena's partition predicate, :meth:`TimeWindow.may_contain_day`);
  ``CloudTrail-Digest/`` folders are counted as digests and not read;
* a plain folder of ``.json.gz``/``.json`` files: a CloudTrail file name
  (``ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_XXXX.json.gz``) gives the same three values, so such files are
  pruned too; other names are read and take them from their events.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

from smtrail_sql.errors import LogReadError
from smtrail_sql.window import TimeWindow

#: Skip reasons, as counted in :class:`~smtrail_sql.result.QueryStats` ``skipped_reasons``.
SKIP_DIGEST = "digest"
SKIP_CORRUPT_GZIP = "corrupt-gzip"
SKIP_TRUNCATED_JSON = "truncated-json"
SKIP_FOREIGN_JSON = "foreign-json"
SKIP_EMPTY = "empty"
SKIP_UNREADABLE = "unreadable"
SKIP_DESCRIPTIONS = {
    SKIP_DIGEST: "CloudTrail digest file",
    SKIP_CORRUPT_GZIP: "corrupt or truncated gzip",
    SKIP_TRUNCATED_JSON: "truncated or malformed JSON",
    SKIP_FOREIGN_JSON: "JSON that is not a CloudTrail log ({\"Records\": [...]})",
    SKIP_EMPTY: "empty file",
    SKIP_UNREADABLE: "unreadable file",
}

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_YEAR, _MONTH_OR_DAY = re.compile(r"^\d{4}$"), re.compile(r"^\d{2}$")
_LOG_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<date>\d{8})T(?P<time>\d{4,6})Z_[A-Za-z0-9]+\.json(\.gz)?$"
)
_DIGEST_NAME = re.compile(r"^\d{12}_CloudTrail-Digest_")
_SUFFIXES = (".json.gz", ".json")


class LogFile(NamedTuple):
    """A log file to read, with the partition values its location gives (``None`` when it gives none).

    ``day`` is the delivery day as the partition spells it, ``yyyy/MM/dd``. ``inode`` and ``ctime_ns`` complete
    the file's identity for the cache (0 when not known: the cache then stats the file itself). (A named tuple: a
    warm query makes one per file before anything else, at a third of a frozen dataclass's cost.)
    """

    path: str
    size: int
    mtime_ns: int
    account_id: str | None = None
    region: str | None = None
    day: str | None = None
    inode: int = 0
    ctime_ns: int = 0


@dataclass
class Discovery:
    """What :func:`discover_log_files` found: the files to read and the files skipped without opening."""

    files: list[LogFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_paths: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        """Bytes on disk of the files to read."""
        return sum(f.size for f in self.files)

    def skip(self, path: str, reason: str) -> None:
        self.skipped[reason] += 1
        self.skipped_paths.append((path, reason))


@dataclass(frozen=True)
class _Filters:
    window: TimeWindow
    accounts: frozenset[str] | None
    regions: frozenset[str] | None

    def account(self, account: str) -> bool:
        return self.accounts is None or account in self.accounts

    def region(self, region: str) -> bool:
        return self.regions is None or region in self.regions


def discover_log_files(
    root: str | Path,
    window: TimeWindow | None = None,
    accounts: tuple[str, ...] | None = None,
    regions: tuple[str, ...] | None = None,
) -> Discovery:
    """Walk ``root`` and list the log files the window, accounts and regions may need, in a stable order.

    >>> import tempfile
    >>> discover_log_files(tempfile.mkdtemp()).files
    []
    """
    base = Path(root)
    if not base.is_dir():
        raise LogReadError(f"log folder {str(root)!r} does not exist or is not a folder: give --logs DIR, "
                           "a bucket copy (AWSLogs/...) or a folder of .json.gz CloudTrail files")
    filters = _Filters(window or TimeWindow.all_time(),
                       frozenset(accounts) if accounts else None, frozenset(regions) if regions else None)
    found = Discovery()
    start_state, context = _state_of(base)
    _walk(str(base), start_state, context, filters, found)
    found.files.sort()  # by path: no two files share one
    return found


def _state_of(base: Path) -> tuple[str, dict[str, str]]:
    """Where ``base`` sits in the bucket layout, for a user who points below ``AWSLogs/``."""
    parts = base.resolve().parts
    if "AWSLogs" not in parts:
        return "plain", {}
    below = list(parts[len(parts) - parts[::-1].index("AWSLogs"):])
    if below and _ORG.match(below[0]):
        below = below[1:]
    keys = ["account", "service", "region", "year", "month", "day"]
    context = dict(zip(keys, below, strict=False))
    if context.get("service") not in (None, "CloudTrail"):
        return "digest", context
    states = ["awslogs", "account", "region", "year", "month", "day", "files"]
    return states[min(len(below), len(states) - 1)], context


def _entries(path: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            yield from sorted(it, key=lambda e: e.name)
    except OSError:
        return


def _walk(path: str, state: str, ctx: dict[str, str], filters: _Filters, found: Discovery) -> None:
    """Descend one level of the layout, pruning a folder as soon as its name rules it out."""
    if state == "digest":
        _count_digests(path, found)
        return
    if ("account" in ctx and not filters.account(ctx["account"])) or (
        "region" in ctx and not filters.region(ctx["region"])
    ):
        return
    if state == "month":
        _walk_year(path, ctx, filters, found)
        return
    if state == "day":
        _walk_year(str(Path(path).parent), ctx, filters, found, only_month=ctx["month"])
        return
    if state == "files":
        day = f"{ctx['year']}/{ctx['month']}/{ctx['day']}"
        for entry in _entries(path):
            if entry.is_file() and entry.name.endswith(_SUFFIXES):
                _add(found, entry, ctx["account"], ctx["region"], day)
            elif entry.is_dir():
                _walk(entry.path, "plain", {}, filters, found)
        return
    for entry in _entries(path):
        name = entry.name
        if not entry.is_dir():
            if state == "plain" and name.endswith(_SUFFIXES):
                _add_plain(found, entry, filters)
            continue
        if state == "plain":
            _walk(entry.path, "awslogs" if name == "AWSLogs" else "plain", {}, filters, found)
        elif state == "awslogs":
            if _ORG.match(name):
                _walk(entry.path, "awslogs", ctx, filters, found)
            elif _ACCOUNT.match(name) and filters.account(name):
                _walk(entry.path, "account", {**ctx, "account": name}, filters, found)
        elif state == "account":
            if name == "CloudTrail":
                _walk(entry.path, "region", ctx, filters, found)
            elif name == "CloudTrail-Digest":
                _walk_digest_regions(entry.path, ctx, filters, found)
        elif state == "region":
            if filters.region(name):
                _walk(entry.path, "year", {**ctx, "region": name}, filters, found)
        elif state == "year" and _YEAR.match(name):
            _walk_year(entry.path, {**ctx, "year": name}, filters, found)


def _walk_year(path: str, ctx: dict[str, str], filters: _Filters, found: Discovery,
               only_month: str | None = None) -> None:
    first, last = filters.window.delivery_day_range()
    year = int(ctx["year"])
    if (first and year < first.year) or (last and year > last.year):
        return
    for month in _entries(path):
        if not (month.is_dir() and _MONTH_OR_DAY.match(month.name)):
            continue
        if only_month is not None and month.name != only_month:
            continue
        for day in _entries(month.path):
            if not (day.is_dir() and _MONTH_OR_DAY.match(day.name)):
                continue
            try:
                folder_day = date(year, int(month.name), int(day.name))
            except ValueError:
                continue
            if filters.window.may_contain_day(folder_day):
                _walk(day.path, "files", {**ctx, "month": month.name, "day": day.name}, filters, found)


def _walk_digest_regions(path: str, ctx: dict[str, str], filters: _Filters, found: Discovery) -> None:
    """Digests are not events: count those of the selected regions and days, never open them."""
    for region in _entries(path):
        if region.is_dir() and filters.region(region.name):
            for year in _entries(region.path):
                for month in _entries(year.path) if year.is_dir() else ():
                    for day in _entries(month.path) if month.is_dir() else ():
                        try:
                            folder_day = date(int(year.name), int(month.name), int(day.name))
                        except ValueError:
                            continue
                        if filters.window.may_contain_day(folder_day):
                            _count_digests(day.path, found)


def _count_digests(path: str, found: Discovery) -> None:
    for entry in _entries(path):
        if entry.is_dir():
            _count_digests(entry.path, found)
        elif entry.name.endswith(_SUFFIXES):
            found.skip(entry.path, SKIP_DIGEST)


def _add(found: Discovery, entry: os.DirEntry[str], account: str | None, region: str | None,
         day: str | None) -> None:
    if "Digest" in entry.name and _DIGEST_NAME.match(entry.name):
        found.skip(entry.path, SKIP_DIGEST)
        return
    try:
        st = entry.stat()
    except OSError:
        found.skip(entry.path, SKIP_UNREADABLE)
        return
    found.files.append(LogFile(entry.path, st.st_size, st.st_mtime_ns, account, region, day, st.st_ino,
                               st.st_ctime_ns))


def _add_plain(found: Discovery, entry: os.DirEntry[str], filters: _Filters) -> None:
    """A file outside the bucket layout: its CloudTrail name, if it has one, says where it belongs."""
    match = _LOG_NAME.match(entry.name)
    if not match:
        _add(found, entry, None, None, None)
        return
    stamp = match.group("date")
    try:
        delivered = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    except ValueError:
        _add(found, entry, None, None, None)
        return
    account, region = match.group("account"), match.group("region")
    if filters.account(account) and filters.region(region) and filters.window.may_contain_day(delivered):
        _add(found, entry, account, region, f"{delivered:%Y/%m/%d}")
