"""The reader's byte searches (smtrail_sql.reader.search): the C library's ``memmem`` gives exactly what
``bytes.count`` and ``bytes.find`` give, on logs and on anything else, and the letter-escape check of the
decoder is the regular expression it replaced."""

from __future__ import annotations

import random
import re

import pytest

from smtrail_sql.reader import decode, search

NAME = b'"BatchPutMetrics"'


def _haystacks() -> list[bytes]:
    rng = random.Random(1616)
    made = [b"", b"x", NAME, NAME * 3, NAME[:-1], b'"BatchPutMetrics"BatchPutMetrics"', b"aaaa", b"\0" * 50]
    for _ in range(300):
        parts = [rng.choice([NAME, b"Batch", b'"', b"\\u0042", b"\\u00e9", b"\\\\u0041", b"{}", b"\0", b"x" * 40,
                             bytes(rng.randrange(256) for _ in range(rng.randrange(8)))])
                 for _ in range(rng.randrange(40))]
        made.append(b"".join(parts))
    made.append(NAME * 5000)  # dense: past DENSE_HITS, the rest is counted by bytes.count
    made.append((b"x" * 3000 + NAME) * 200)  # sparse hits over a long file
    return made


@pytest.mark.parametrize("needle", [NAME, b"aa", b"\\u00", b"\0"])
def test_count_and_find_are_bytes_count_and_find(needle: bytes) -> None:
    for data in _haystacks():
        assert search.count(data, needle) == data.count(needle), data[:80]
        for start in (0, 1, 17, len(data) // 2, len(data), len(data) + 5, -3):
            assert search.find(data, needle, start) == data.find(needle, max(start, 0)), (data[:80], start)


def test_the_searches_use_memmem_here_and_bytes_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert search._load() is not None  # (glibc: every machine this project is tested on)
    monkeypatch.setattr(search, "_memmem", None)
    monkeypatch.setattr(search, "_loaded", True)
    for data in _haystacks()[:50]:
        assert search.count(data, NAME) == data.count(NAME)
        assert search.find(data, NAME, 2) == data.find(NAME, 2)


def test_the_letter_escape_check_is_the_regular_expression_it_replaced() -> None:
    expression = re.compile(rb"\\u00[4-7]")
    dense = b"caf\\u00e9 " * 5000  # (escaped accents every few bytes: the rest is read by the expression)
    for data in [*_haystacks(), b"\\u00", b"\\u004", b"\\u003c", rb'{"eventName":"\u0042atchPutMetrics"}', dense,
                 dense + b"\\u0042", b"\\u0042" + dense, dense[:1000] + b"\\u0061" + dense]:
        assert decode._holds_letter_escape(data) == bool(expression.search(data)), data[:80]
