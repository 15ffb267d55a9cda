"""Shared fixtures: a small bucket copy of metric events, and DuckDB shaped like the Athena table."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.events import metric_bucket


def pytest_configure(config: pytest.Config) -> None:
    # tests (and the CLI processes they start) never touch the user's extraction cache
    os.environ["SMTRAIL_CACHE_DIR"] = tempfile.mkdtemp(prefix="smtrail-test-cache-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-aws", action="store_true", default=False,
                     help="also run the tests marked aws, against a real AWS account")


@pytest.fixture(scope="session")
def metric_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(root, files) of a bucket copy holding every case the views must handle."""
    root = tmp_path_factory.mktemp("bucket")
    return root, metric_bucket(root)


@pytest.fixture()
def athena_duckdb(metric_logs: tuple[Path, list[Path]]) -> Iterator[Any]:
    """DuckDB with smtrail.cloudtrail_events loaded from the bucket copy and both views created."""
    from tests.athena_shape import athena_shaped_duckdb

    con = athena_shaped_duckdb(metric_logs[1])
    yield con
    con.close()
