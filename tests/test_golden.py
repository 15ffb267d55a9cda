"""Rendered SQL equals the golden files (regenerate with `python -m tests.golden`)."""

from __future__ import annotations

import pytest

from tests.golden import GOLDEN_DIR, expected_files

EXPECTED = expected_files()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rendered_sql_matches_golden_file(name: str) -> None:
    path = GOLDEN_DIR / name
    assert path.exists(), f"{path} is missing: run `python -m tests.golden`"
    assert path.read_text() == EXPECTED[name], f"{name} changed: review, then run `python -m tests.golden`"


def test_no_stale_golden_files() -> None:
    assert sorted(p.name for p in GOLDEN_DIR.glob("*.sql")) == sorted(EXPECTED)
