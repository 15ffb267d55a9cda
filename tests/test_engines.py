"""The engine registry and the one Protocol callers use engines through."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql.api import Toolkit
from smtrail_sql.engines import ENGINES, Engine, EngineSettings, choose_engine, open_engine
from smtrail_sql.errors import EngineError, MissingSettingError, SettingError
from smtrail_sql.result import QueryResult, QueryStats


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_registered_engine_follows_the_protocol(name: str) -> None:
    engine = ENGINES[name]
    assert engine.name == name and engine.dialect in ("athena", "duckdb") and isinstance(engine.bills_scans, bool)
    for member in ("from_settings", "execute", "close"):
        assert callable(getattr(engine, member)), member
    assert "progress" in inspect.signature(engine.execute).parameters
    assert ENGINES["athena"].bills_scans and not ENGINES["local"].bills_scans


def test_the_engine_is_chosen_in_one_place(tmp_path: Path) -> None:
    assert choose_engine(EngineSettings(), {}) == "local"
    assert choose_engine(EngineSettings(workgroup="primary"), {}) == "athena"
    assert choose_engine(EngineSettings(logs=tmp_path, workgroup="primary"), {}) == "local"  # --logs wins
    with pytest.raises(SettingError, match="invalid engine 'spark': one of local, athena"):
        choose_engine(EngineSettings(engine="spark"))
    assert open_engine(EngineSettings(engine="local", logs=tmp_path, use_cache=False)).name == "local"


def test_a_missing_logs_folder_is_one_error() -> None:
    with pytest.raises(MissingSettingError, match=r"^--logs is required with --engine local"):
        open_engine(EngineSettings(engine="local"))
    with pytest.raises(MissingSettingError) as missing:
        Toolkit.open(EngineSettings(engine="local")).run("runs", all_time=True)
    assert missing.value.exit_code == 2


def test_settings_are_one_frozen_object() -> None:
    settings = EngineSettings(engine="athena", max_scan="1GB")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.engine = "local"  # type: ignore[misc]


class Recorded:
    """An engine that records what it was asked to run."""

    name = "recorded"
    dialect = "athena"

    def __init__(self, bills_scans: bool) -> None:
        self.bills_scans = bills_scans
        self.ran: list[Any] = []

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> Recorded:
        return cls(False)

    def execute(self, query: Any, *, progress: Any = None) -> QueryResult:
        self.ran.append((query.name, progress))
        return QueryResult([], [], [], stats=QueryStats(self.name, 0.0))

    def close(self) -> None: ...


def test_the_scan_limit_applies_where_scans_are_billed(monkeypatch: pytest.MonkeyPatch) -> None:
    import smtrail_sql.scan
    from smtrail_sql.aws.estimate import ScanEstimate

    estimated: list[str] = []

    def estimate(query: Any, settings: EngineSettings, **_: Any) -> ScanEstimate:
        estimated.append(query.name)
        return ScanEstimate(files=3, bytes=2**31, partitions=1, partitions_with_data=1)

    monkeypatch.setattr(smtrail_sql.scan, "estimate_scan", estimate)
    settings = EngineSettings(max_scan="1GB", bucket="trail", accounts="123456789012", regions="us-east-1")
    free: Engine = Recorded(bills_scans=False)
    Toolkit(free, settings=settings).run("runs", all_time=True)
    assert estimated == [] and [name for name, _ in free.ran] == ["runs"]  # type: ignore[attr-defined]
    billed: Engine = Recorded(bills_scans=True)
    with pytest.raises(EngineError, match=r"refusing to run runs: it would scan about 2\.0 GiB \(3 files\)"):
        Toolkit(billed, settings=settings).run("runs", all_time=True)
    assert estimated == ["runs"] and billed.ran == []  # type: ignore[attr-defined]
    progress = object()
    Toolkit(billed, settings=dataclasses.replace(settings, max_scan="4GB")).execute(
        Toolkit().query("runs", all_time=True), progress=progress)  # type: ignore[arg-type]
    assert billed.ran == [("runs", progress)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("limit", ["lots", "-1GB", "nan"])
def test_a_bad_scan_limit_is_refused_when_the_settings_are_made(limit: str) -> None:
    from smtrail_sql.engines import EngineSettings
    from smtrail_sql.errors import SettingError

    with pytest.raises(SettingError, match=r"^invalid max_scan"):  # (the API's name for it; the CLI's: --max-scan)
        EngineSettings(engine="athena", max_scan=limit)
    assert EngineSettings(engine="athena", max_scan="10GiB").max_scan == "10GiB"
