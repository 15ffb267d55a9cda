"""Shared fixtures: a small bucket copy of metric events, DuckDB shaped like the Athena table, a Trino server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.events import metric_bucket

if TYPE_CHECKING:
    from tests.trino_server import TrinoServer

#: Trino's start-up and the trino-marked tests' time, printed once at the end of the run
_TRINO_FIGURES: dict[str, float] = {}


def pytest_configure(config: pytest.Config) -> None:
    # tests (and the CLI processes they start) never touch the user's extraction cache
    os.environ["SMTRAIL_CACHE_DIR"] = tempfile.mkdtemp(prefix="smtrail-test-cache-")
    # nor the user's config file (remembered settings would change what every command does)
    os.environ["SMTRAIL_CONFIG_FILE"] = os.path.join(tempfile.mkdtemp(prefix="smtrail-test-config-"), "none.toml")


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



@pytest.fixture(scope="session")
def trino(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrinoServer]:
    """A Trino server for the session (tests/trino_server.py): host, port, connect(), execute(sql), warehouse.

    Without Trino or Java 24+ the tests that need it are skipped, or fail when SMTRAIL_REQUIRE_TRINO=1 (CI).
    """
    from tests import trino_server

    try:
        trino_server.find_installation()
        trino_server.find_java()
    except trino_server.TrinoUnavailable as missing:
        message = f"{missing}. {trino_server.HOW_TO_GET}"
        if os.environ.get("SMTRAIL_REQUIRE_TRINO") == "1":
            pytest.fail(f"SMTRAIL_REQUIRE_TRINO=1: {message}", pytrace=False)
        pytest.skip(message)
    server = trino_server.start(tmp_path_factory.mktemp("trino"))
    _TRINO_FIGURES["startup"] = server.startup_seconds
    try:
        yield server
    finally:
        server.stop()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "trino" in report.keywords:
        _TRINO_FIGURES["tier"] = _TRINO_FIGURES.get("tier", 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "startup" in _TRINO_FIGURES:
        terminalreporter.write_sep("-", "trino tier")
        terminalreporter.write_line(
            f"Trino started in {_TRINO_FIGURES['startup']:.1f} s; the tests marked trino took "
            f"{_TRINO_FIGURES.get('tier', 0.0):.1f} s, start-up included")


@pytest.fixture
def python_paths_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader without its C scanner (``smtrail_sql.reader.native``), in this process, the workers it forks
    and the commands it starts: for the tests of the Python paths themselves."""
    from smtrail_sql.reader import native

    monkeypatch.setattr(native, "_loaded", True)
    monkeypatch.setattr(native, "_scan", None)
    monkeypatch.setenv(native.NATIVE_ENV, "0")
