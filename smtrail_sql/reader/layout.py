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

import errno
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

from smtrail_sql.errors import LogReadError
from smtrail_sql.settings import ACCOUNT_PATTERN, ORG_ID_PATTERN
from smtrail_sql.window import TimeWindow, day_folder_date

#: Skip reasons, as counted in :class:`~smtrail_sql.result.QueryStats` ``skipped_reasons``.
SKIP_DIGEST = "digest"
SKIP_CORRUPT_GZIP = "corrupt-gzip"
SKIP_TRUNCATED_JSON = "truncated-json"
SKIP_FOREIGN_JSON = "foreign-json"
SKIP_EMPTY = "empty"
SKIP_UNREADABLE = "unreadable"
SKIP_NOT_A_FILE = "not-a-file"
SKIP_SYMLINK_LOOP = "symlink-loop"
SKIP_TOO_LARGE = "too-large"
SKIP_TOO_DEEP = "too-deep"
SKIP_UNDECODABLE = "undecodable"
SKIP_DESCRIPTIONS = {
    SKIP_DIGEST: "CloudTrail digest file",
    SKIP_CORRUPT_GZIP: "corrupt or truncated gzip",
    SKIP_TRUNCATED_JSON: "truncated or malformed JSON",
    SKIP_FOREIGN_JSON: "JSON that is not a CloudTrail log ({\"Records\": [...]})",
    SKIP_EMPTY: "empty file",
    SKIP_UNREADABLE: "unreadable file or folder",
    SKIP_NOT_A_FILE: "not a regular file (a FIFO, socket or device)",
    SKIP_SYMLINK_LOOP: "symbolic link loop",
    SKIP_TOO_LARGE: "larger than the size limit once inflated, or than the reader's memory budget once decoded "
                    "(both set by SMTRAIL_MAX_LOG_SIZE)",
    SKIP_TOO_DEEP: "JSON nested too deep",
    SKIP_UNDECODABLE: "a value the reader could not decode",
}

#: Reasons that depend on the moment or on the settings, not on the file's bytes: never cached.
MOMENTARY_SKIPS = frozenset({SKIP_UNREADABLE, SKIP_NOT_A_FILE, SKIP_SYMLINK_LOOP, SKIP_TOO_LARGE})

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
    #: (device, inode) of the folders being walked, from the top down to the current one.
    walking: set[tuple[int, int]] = field(default_factory=set, repr=False)

    @property
    def total_bytes(self) -> int:
        """Bytes on disk of the files to read."""
        return sum(f.size for f in self.files)

    def skip(self, path: str, reason: str) -> None:
        self.skipped[reason] += 1
        self.skipped_paths.append((path, reason))


def raise_if_bad(skipped: list[tuple[str, str]]) -> None:
    """Raise :class:`~smtrail_sql.errors.LogReadError` naming the first file (or folder) skipped for
    anything but being a digest (``--strict``)."""
    bad = [(path, reason) for path, reason in skipped if reason != SKIP_DIGEST]
    if bad:
        path, reason = bad[0]
        more = f" (and {len(bad) - 1} more bad files)" if len(bad) > 1 else ""
        raise LogReadError(f"{path}: {SKIP_DESCRIPTIONS.get(reason, reason)}{more}; "
                           "without --strict such files are skipped and counted")


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
    if below and ORG_ID_PATTERN.match(below[0]):
        below = below[1:]
    keys = ["account", "service", "region", "year", "month", "day"]
    context = dict(zip(keys, below, strict=False))
    if context.get("service") not in (None, "CloudTrail"):
        return "digest", context
    states = ["awslogs", "account", "region", "year", "month", "day", "files"]
    return states[min(len(below), len(states) - 1)], context


def _entries(path: str, found: Discovery) -> list[os.DirEntry[str]]:
    """A folder's entries by name; a folder that cannot be listed (gone since it was seen, not permitted, a
    loop of symbolic links) is skipped and counted like a file that cannot be read."""
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as error:
        found.skip(path, _reason(error))
        return []


def _reason(error: OSError) -> str:
    return SKIP_SYMLINK_LOOP if error.errno == errno.ELOOP else SKIP_UNREADABLE


_FILE, _DIR, _OTHER, _BAD = range(4)


def _kind(entry: os.DirEntry[str], found: Discovery) -> int:
    """What an entry is once symbolic links are followed: a regular file, a folder, something else (a FIFO,
    socket or device, a dangling link), or bad (a link in a loop: counted here). From the folder listing's
    own type for anything but a link: no system call."""
    try:
        if entry.is_dir():
            return _DIR
        if entry.is_file():
            return _FILE
    except OSError as error:
        found.skip(entry.path, _reason(error))
        return _BAD
    return _OTHER


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
    with _entering(path, found) as entries:
        _walk_entries(entries, state, ctx, filters, found)


@contextmanager
def _entering(path: str, found: Discovery) -> Iterator[list[os.DirEntry[str]]]:
    """The entries of a folder being walked, none if it is already being walked further up: a link to a
    folder above it would otherwise list the same files again and again (counted as a loop)."""
    try:
        st = os.stat(path)
    except OSError as error:
        found.skip(path, _reason(error))
        yield []
        return
    key = (st.st_dev, st.st_ino)
    if key in found.walking:
        found.skip(path, SKIP_SYMLINK_LOOP)
        yield []
        return
    found.walking.add(key)
    try:
        yield _entries(path, found)
    finally:
        found.walking.discard(key)


def _walk_entries(entries: list[os.DirEntry[str]], state: str, ctx: dict[str, str], filters: _Filters,
                  found: Discovery) -> None:
    if state == "files":
        day = f"{ctx['year']}/{ctx['month']}/{ctx['day']}"
        for entry in entries:
            kind = _kind(entry, found)
            if kind == _DIR:
                _walk(entry.path, "plain", {}, filters, found)
            elif kind != _BAD and entry.name.endswith(_SUFFIXES):
                _add(found, entry, ctx["account"], ctx["region"], day)
        return
    for entry in entries:
        name = entry.name
        kind = _kind(entry, found)
        if kind != _DIR:
            if kind != _BAD and state == "plain" and name.endswith(_SUFFIXES):
                _add_plain(found, entry, filters)
            continue
        if state == "plain":
            _walk(entry.path, "awslogs" if name == "AWSLogs" else "plain", {}, filters, found)
        elif state == "awslogs":
            if ORG_ID_PATTERN.match(name):
                _walk(entry.path, "awslogs", ctx, filters, found)
            elif ACCOUNT_PATTERN.match(name) and filters.account(name):
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
    for month in _entries(path, found):
        if not (_MONTH_OR_DAY.match(month.name) and _kind(month, found) == _DIR):
            continue
        if only_month is not None and month.name != only_month:
            continue
        # (a month outside the delivery days is not listed, as a year outside them is not)
        if (first and (year, int(month.name)) < (first.year, first.month)) or (
                last and (year, int(month.name)) > (last.year, last.month)):
            continue
        for day in _entries(month.path, found):
            if not (_MONTH_OR_DAY.match(day.name) and _kind(day, found) == _DIR):
                continue
            if filters.window.may_contain_day_folder(ctx["year"], month.name, day.name):
                _walk(day.path, "files", {**ctx, "month": month.name, "day": day.name}, filters, found)


def _walk_digest_regions(path: str, ctx: dict[str, str], filters: _Filters, found: Discovery) -> None:
    """Digests are not events: count those of the selected regions and days, never open them."""
    for region in _entries(path, found):
        if filters.region(region.name) and _kind(region, found) == _DIR:
            for year in _entries(region.path, found):
                for month in _entries(year.path, found) if _kind(year, found) == _DIR else ():
                    for day in _entries(month.path, found) if _kind(month, found) == _DIR else ():
                        if filters.window.may_contain_day_folder(year.name, month.name, day.name):
                            _count_digests(day.path, found)


def _count_digests(path: str, found: Discovery) -> None:
    with _entering(path, found) as entries:
        for entry in entries:
            kind = _kind(entry, found)
            if kind == _DIR:
                _count_digests(entry.path, found)
            elif kind != _BAD and entry.name.endswith(_SUFFIXES):
                found.skip(entry.path, SKIP_DIGEST)


def _add(found: Discovery, entry: os.DirEntry[str], account: str | None, region: str | None,
         day: str | None) -> None:
    if "Digest" in entry.name and _DIGEST_NAME.match(entry.name):
        found.skip(entry.path, SKIP_DIGEST)
        return
    try:
        st = entry.stat()
    except OSError as error:  # a dangling link, a file gone since the listing
        found.skip(entry.path, _reason(error))
        return
    if not S_ISREG(st.st_mode):  # a FIFO would never end, a device might not either: never opened
        found.skip(entry.path, SKIP_NOT_A_FILE)
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
    delivered = day_folder_date(stamp[:4], stamp[4:6], stamp[6:])
    if delivered is None:
        _add(found, entry, None, None, None)
        return
    account, region = match.group("account"), match.group("region")
    if filters.account(account) and filters.region(region) and filters.window.may_contain_day(delivered):
        _add(found, entry, account, region, f"{delivered:%Y/%m/%d}")
