"""What a read holds does not grow with the bucket: rows past a budget go to scratch files on disk, a snapshot is
sorted slice by slice, copies are found from 8 bytes a call, and DuckDB spills past its own limit.

``bench/bench_memory.py`` measures the whole on a bucket and one four times larger; these pin each piece.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from smtrail_sql import runfiles
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.errors import SettingError
from smtrail_sql.reader import pipeline, tables, workers
from smtrail_sql.reader.cache import ExtractCache
from smtrail_sql.reader.copies import each_event_once, id_hashes, no_repeats
from smtrail_sql.reader.layout import discover_log_files
from smtrail_sql.reader.pipeline import PartSpool, read_log_files
from smtrail_sql.render import Naming
from smtrail_sql.settings import DEFAULT_DUCKDB_MEMORY, validate_duckdb_memory
from smtrail_sql.window import TimeWindow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def demo(tmp_path: Path) -> Path:
    from smtrail_sql.demo import write_sample_bucket

    write_sample_bucket(tmp_path / "demo", seed=5, days=2, files_per_day=3, calls_per_file=15, duplicate=True)
    return tmp_path / "demo"


def _rows(table: pa.Table) -> list[str]:
    return sorted(repr(sorted(row.items())) for row in table.to_pylist())


def test_rows_past_the_budget_are_mapped_from_a_scratch_file_then_the_file_is_gone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "SPOOL_PARENT", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()
    points = pa.table({"a": list(range(1000))})
    calls = pa.table({"b": ["x", None]})
    with PartSpool(None) as spool:
        assert spool.keep((points, calls)) == (points, calls)  # within the budget: the very tables
        monkeypatch.setattr(pipeline, "HELD_BYTES", 0)
        kept = spool.keep((points, calls))
        assert kept[0] is not points and kept[0].equals(points) and kept[1].equals(calls)
        folders = list((tmp_path / "spool").iterdir())
        assert [f.name.startswith(f"{runfiles.SPOOL_PREFIX}{os.getpid()}-") for f in folders] == [True]
        assert not any(folders[0].iterdir())  # mapped, the file is removed at once
    assert not any((tmp_path / "spool").iterdir())  # and the folder at the end
    assert kept[0].to_pylist() == points.to_pylist()  # the mapping outlives both


def test_files_answered_by_their_entries_give_the_same_rows_built_in_small_runs_and_spooled(
        demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = discover_log_files(demo).files
    plain = read_log_files(files)
    cache = ExtractCache(tmp_path / "cache")
    read_log_files(files, cache=cache)
    for snapshot in (tmp_path / "cache" / "snapshots").iterdir():
        snapshot.unlink()
    monkeypatch.setattr(pipeline, "HELD_BYTES", 0)
    monkeypatch.setattr(pipeline, "RUN_VALUES", 1)  # a run per file, each written out and mapped back
    again = read_log_files(files, cache=cache)
    assert (again.files_read, again.files_cached, again.snapshot_hit) == (0, len(files), False)
    assert _rows(again.points) == _rows(plain.points) and _rows(again.calls) == _rows(plain.calls)
    assert again.skipped == plain.skipped and again.single_copy is plain.single_copy is False
    assert not list((tmp_path / "cache" / "tmp").glob(f"{runfiles.SPOOL_PREFIX}*"))


def test_a_snapshot_larger_than_a_slice_is_sorted_slice_by_slice(
        demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = discover_log_files(demo).files
    plain = read_log_files(files).points
    monkeypatch.setattr(tables, "SORT_ROWS", 50)
    cache = ExtractCache(tmp_path / "cache")
    read_log_files(files, cache=cache)
    stored = read_log_files(files, cache=cache)
    assert stored.snapshot_hit and plain.num_rows > 100
    assert _rows(stored.points) == _rows(plain)
    rows = stored.points.to_pylist()
    for start in range(0, len(rows), 50):  # each slice grouped by series
        series = [(r["trial_component"], r["metric_name"]) for r in rows[start:start + 50]]
        assert len([s for i, s in enumerate(series) if i == 0 or s != series[i - 1]]) == len(set(series))


def test_copies_are_found_across_chunks() -> None:
    def calls(*chunks: list[str | None]) -> pa.Table:
        return pa.table({"event_id": pa.chunked_array([pa.array(c, pa.string()) for c in chunks])})

    assert each_event_once(calls(["a", "b", None], [None, "c"], []))
    assert not each_event_once(calls(["a", "b"], ["c", "a"]))
    assert not each_event_once(calls(["", None], [""]))
    assert each_event_once(calls([]))


def test_copies_are_found_whatever_the_ids_and_their_chunks() -> None:
    """IDs of one length (hashed over the column's bytes) and of several (hashed one by one), NULLs, sliced
    chunks: a copy is always found, and IDs all different are never taken for copies."""
    import random
    import uuid

    rng = random.Random(1616)
    for _ in range(300):
        same_length = rng.random() < 0.7
        pool = [str(uuid.UUID(int=rng.getrandbits(128))) if same_length else "e" * rng.randrange(1, 12)
                for _ in range(rng.randrange(1, 60))]
        ids = [rng.choice(pool) if rng.random() < 0.9 else None for _ in range(rng.randrange(0, 80))]
        chunks = []
        while ids:
            size = rng.randrange(1, len(ids) + 1)
            array = pa.array([None, *ids[:size], None], pa.string()).slice(1, size)  # (an offset, as a slice has)
            chunks.append(array)
            ids = ids[size:]
        table = pa.table({"event_id": pa.chunked_array(chunks, pa.string())})
        present = [i for i in table.column("event_id").to_pylist() if i is not None]
        assert each_event_once(table) == (len(present) == len(set(present))), present


def test_the_hashes_of_parts_taken_apart_find_the_copies_of_the_whole() -> None:
    """The reader hashes each part's IDs as the part arrives (copies.id_hashes): an ID's hash is a function of
    its bytes alone, whatever its part holds beside it (IDs of other lengths, NULLs, an offset)."""
    import random

    rng = random.Random(16)
    for _ in range(200):
        pool = [bytes(rng.choice(b"ab\0") for _ in range(rng.randrange(0, 10))).decode() for _ in range(30)]
        parts = [pa.array([rng.choice(pool) if rng.random() < 0.9 else None for _ in range(rng.randrange(0, 12))],
                          pa.string()) for _ in range(rng.randrange(1, 5))]
        present = [i for part in parts for i in part.to_pylist() if i is not None]
        assert no_repeats([id_hashes(part) for part in parts]) == (len(present) == len(set(present))), present
    assert each_event_once(pa.table({"event_id": ["a\0", "b", "a", "\0a"]}))  # (found in review: a collision)


def test_duckdb_holds_at_most_its_limit_and_spills_beside_the_reader(tmp_path: Path) -> None:
    engine = LocalEngine(tmp_path, cache=ExtractCache(tmp_path / "cache"), duckdb_memory="64MiB")
    con, _ = engine.connect(TimeWindow.all_time(), Naming())
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("64.0 MiB",)
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        assert Path(spill).parent == tmp_path / "cache" / "tmp"
        assert Path(spill).name.startswith(f"{runfiles.SPILL_PREFIX}{os.getpid()}-")
        # a sort of 200 MB, three times the limit: it spills, and ends
        (biggest,) = con.execute("SELECT max(x) FROM (SELECT random() AS x, repeat('y', 40) AS pad "
                                 "FROM range(4000000) ORDER BY x)").fetchone()
        assert 0.99 < biggest < 1
    finally:
        con.close()
        engine.close()


def test_the_duckdb_memory_setting() -> None:
    assert validate_duckdb_memory(None) == DEFAULT_DUCKDB_MEMORY == 1 << 30
    assert validate_duckdb_memory("2GiB") == 2 << 30
    for bad in ("lots", "0", "1MB"):
        with pytest.raises(SettingError, match="SMTRAIL_DUCKDB_MEMORY"):
            validate_duckdb_memory(bad)


def test_a_bad_duckdb_memory_is_a_usage_error(demo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SMTRAIL_DUCKDB_MEMORY": "1MB", "SMTRAIL_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "smtrail_sql", "run", "metric-summary", "--logs", str(demo),
                             "--all-time"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: invalid SMTRAIL_DUCKDB_MEMORY '1MB': a size of at least 64MiB, such as 512MiB or 2GiB"]


def test_a_query_streams_its_rows_in_batches_as_execute_would_give_them_whole(demo: Path, tmp_path: Path) -> None:
    from smtrail_sql.adhoc import adhoc_template
    from smtrail_sql.api import Toolkit

    kit = Toolkit.local(demo, cache=ExtractCache(tmp_path / "cache"))
    try:
        window = TimeWindow.all_time()
        query = kit._build(adhoc_template("SELECT event_id, point_index, value, metric_time FROM sagemaker_metrics "
                                          "ORDER BY event_id, point_index"), {}, window, None)
        whole = kit.execute(query)
        engine = kit.engine
        assert isinstance(engine, LocalEngine)
        streamed = engine.execute_batches(query, batch_rows=100)
        assert streamed.schema.names == whole.columns
        batches = list(streamed.batches)
        assert len(batches) > 2 and all(b.num_rows <= 100 for b in batches)
        assert [tuple(r.values()) for b in batches for r in b.to_pylist()] == whole.rows
        assert streamed.stats.files_read + streamed.stats.files_cached == len(discover_log_files(demo).files)
        assert kit.execute(query).rows == whole.rows  # the connection went back to the engine, usable
    finally:
        kit.close()
