"""What Athena charges for a scan: $5 per TB, rounded up to the megabyte, 10 MB minimum per query (and what
CloudTrail charges for the data events it logs).

Sizes are binary, as AWS bills data volumes, and are shown with binary suffixes everywhere: 1 KiB = 2**10 bytes,
1 MiB = 2**20, 1 GiB = 2**30, 1 TiB = 2**40 (:func:`format_bytes`). A size given in AWS's own spelling (``500MB``,
``2GB``) is read with the same binary units (:func:`parse_size`).
"""

from __future__ import annotations

import math

#: US dollars per terabyte scanned (the price in most regions).
PRICE_PER_TB_USD = 5.0
MEGABYTE = 1 << 20
TERABYTE = 1 << 40
#: What CloudTrail charges for data events, in every trail that logs them (BatchPutMetrics calls are data events).
DATA_EVENT_PRICE = "$0.10 per 100,000"
#: Athena bills at least this much for every query, even one that scans nothing.
MINIMUM_BILLED_BYTES = 10 * MEGABYTE


def billed_bytes(scanned: int) -> int:
    """The bytes Athena bills for a scan: rounded up to the megabyte, at least 10 MB.

    >>> billed_bytes(0) == 10 * 2**20
    True
    >>> billed_bytes(11 * 2**20 + 1) == 12 * 2**20
    True
    """
    rounded = math.ceil(max(scanned, 0) / MEGABYTE) * MEGABYTE
    return max(rounded, MINIMUM_BILLED_BYTES)


def scan_cost_usd(scanned: int, price_per_tb: float = PRICE_PER_TB_USD) -> float:
    """The cost in US dollars of a query that scans ``scanned`` bytes.

    >>> round(scan_cost_usd(2**40), 6)
    5.0
    >>> round(scan_cost_usd(0), 8)  # the 10 MB minimum
    4.768e-05
    """
    return billed_bytes(scanned) / TERABYTE * price_per_tb


def format_bytes(size: int) -> str:
    """A human size with binary units.

    >>> format_bytes(1536)
    '1.5 KiB'
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def parse_size(text: str, *, setting: str = "size") -> int:
    """Parse a size such as ``500MiB``, ``2 GiB``, ``1TiB`` or ``1048576`` into bytes; ``500MB``, ``2GB`` and ``1TB``
    are read as the same binary sizes (as AWS writes them).

    A size that is negative, not a number, NaN or infinite is a :class:`SettingError` naming ``setting``.

    >>> parse_size("2GB") == parse_size("2GiB") == 2 * 2**30
    True
    """
    import math

    from smtrail_sql.errors import SettingError

    units = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
    cleaned = text.strip().upper().replace(" ", "").removesuffix("IB").removesuffix("B")
    number = cleaned.rstrip("KMGTP")
    unit = cleaned[len(number) :]
    try:
        value = float(number)
    except ValueError:
        raise SettingError(setting, text, "a size such as 500MiB, 2GiB or 1TiB") from None
    if not math.isfinite(value) or value < 0 or unit not in units:
        raise SettingError(setting, text, "a size such as 500MiB, 2GiB or 1TiB") from None
    return int(value * units[unit])
