"""How counts read in messages: ``1 file``, ``2 files`` (sizes are :func:`smtrail_sql.aws.pricing.format_bytes`'s)."""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``count`` and the noun, singular for exactly one.

    >>> plural(1, "snapshot"), plural(0, "snapshot"), plural(2, "file entry", "file entries")
    ('1 snapshot', '0 snapshots', '2 file entries')
    """
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
