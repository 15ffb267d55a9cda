"""What a query would scan on Athena, and the limit that refuses a larger one (``max_scan``).

The library applies the limit before any query reaches an engine that bills scans, whichever command or call
runs it: the estimate lists, with S3, the objects under the partitions the query's window reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtrail_sql.errors import EngineError, SettingError
from smtrail_sql.spelling import spell

if TYPE_CHECKING:
    from smtrail_sql.aws.estimate import ScanEstimate
    from smtrail_sql.engines.base import EngineSettings
    from smtrail_sql.render import RenderedQuery


def estimate_scan(query: RenderedQuery, settings: EngineSettings, *, setting: str = "estimate") -> ScanEstimate:
    """List the log files ``query`` would read on Athena (the bucket, accounts and regions are required)."""
    if not (settings.bucket and settings.accounts and settings.regions):
        raise SettingError(setting, settings.max_scan, "give --bucket, --accounts and --regions too (the "
                           "estimate lists the query's partitions in S3)")
    from smtrail_sql.aws import estimate
    from smtrail_sql.aws.session import make_client, make_session
    from smtrail_sql.settings import LogLocation, validate_accounts, validate_regions

    location = LogLocation.create(settings.bucket, settings.prefix, settings.org_id)
    accounts, regions = validate_accounts(settings.accounts), validate_regions(settings.regions)
    s3 = make_client(make_session(settings.profile, settings.region), "s3")
    if query.naming.store:
        return estimate.estimate_store_scan(s3, store_folders(query, settings), query.window)
    return estimate.estimate_scan(s3, location, accounts, regions, query.window)


def store_folders(query: RenderedQuery, settings: EngineSettings) -> list[str]:
    """The S3 folders of the store's two tables the query reads (``store_location``, else the default below the
    trail's bucket)."""
    from smtrail_sql.settings import validate_s3_folder

    database = query.naming.database
    root = (validate_s3_folder("store location", settings.store_location) if settings.store_location
            else f"s3://{settings.bucket}/smtrail-sql/{database}/")
    return [f"{root}{query.naming.view}/", f"{root}{query.naming.calls_view}/"]


def refuse_over_max_scan(query: RenderedQuery, settings: EngineSettings) -> None:
    """With ``settings.max_scan``, estimate the query's scan and refuse it (an error) when over the limit."""
    if not settings.max_scan:
        return
    from smtrail_sql.aws.pricing import format_bytes, parse_size
    from smtrail_sql.wording import plural

    max_scan = spell("max_scan", "--max-scan")
    limit = parse_size(settings.max_scan, setting=max_scan)
    found = estimate_scan(query, settings, setting=max_scan)
    if found.bytes > limit:
        narrow = spell("since/until, accounts or regions", "--since/--until, --accounts or --regions")
        raise EngineError(
            f"refusing to run {query.name}: it would scan about {format_bytes(found.bytes)} "
            f"({plural(found.files, 'file')}), over {max_scan} {format_bytes(limit)}; narrow {narrow}, or raise "
            f"{max_scan}")
