"""A warm run starts light: only its command is registered, and an identical query is not rendered again.

The rendered SQL is kept beside the local engine's cache (:mod:`smtrail_sql.prerendered`), keyed exactly and
checked like every cache entry: a damaged entry is rebuilt, never served.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from smtrail_sql import prerendered
from smtrail_sql.api import Toolkit
from smtrail_sql.cli import COMMANDS, _module_of, app
from smtrail_sql.engines import EngineSettings
from smtrail_sql.reader import native
from smtrail_sql.render import render
from smtrail_sql.templates import TemplateLibrary

#: What a warm local run has no use for (the floor, ``import duckdb, pyarrow``, is allowed what it loads).
HEAVY = ("sqlglot", "rich", "numpy", "pandas", "matplotlib", "boto3", "pyathena", "msgspec",
         "smtrail_sql.render", "smtrail_sql.templates", "smtrail_sql.engines.athena", "smtrail_sql.cli.aws",
         "smtrail_sql.cli.plot", "smtrail_sql.cli.queries")


def test_every_command_is_mapped_to_its_module() -> None:
    names = {}
    for command in app.registered_commands:
        assert command.callback is not None
        names[command.name] = command.callback.__module__
    for group in app.registered_groups:
        name = group.name or group.typer_instance.info.name
        names[name] = next(f"smtrail_sql.cli.{module}" for module in set(COMMANDS.values())
                           if getattr(import_module(f"smtrail_sql.cli.{module}"), f"{name}_app", None)
                           is group.typer_instance)
    assert {name: f"smtrail_sql.cli.{module}" for name, module in COMMANDS.items()} == names


@pytest.mark.parametrize(("args", "module"), [
    (["run", "runs"], "run"), (["--config-profile", "p", "plot"], "plot"), (["--config-profile=p", "show"], "queries"),
    (["--help"], None), (["--version"], None), (["rn"], None), ([], None), (["--config-profile"], None),
])
def test_the_command_line_names_the_module(args: list[str], module: str | None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_SMTRAIL_SQL_COMPLETE", raising=False)
    assert _module_of(args) == module


def _warm_run(logs: Path, cache: Path, *args: str) -> tuple[str, list[str]]:
    """Run the console script's main in a new process: its stdout, and the heavy modules it loaded beyond
    what ``import duckdb, pyarrow`` loads."""
    code = ("import sys, atexit\n"
            "import duckdb, pyarrow\n"
            f"floor = {{m for m in {HEAVY!r} if m in sys.modules}}\n"
            f"atexit.register(lambda: print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules and m not in "
            "floor), file=sys.stderr))\n"
            f"sys.argv = ['smtrail-sql', 'run', 'metric-summary', '--logs', {str(logs)!r}, *{list(args)!r}]\n"
            "from smtrail_sql.entry import main\nmain()\n")
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("LOADED"))
    return done.stdout, eval(line.removeprefix("LOADED "))  # noqa: S307  (our own printout)


def test_a_warm_identical_run_loads_no_heavy_module(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    logs = metric_logs[0]
    first, loaded_first = _warm_run(logs, tmp_path, "--all-time", "-f", "csv")
    # (the first run reads the files: msgspec only for a file the C scanner declines, and it takes all of these;
    # a built-in query needs no rendering)
    assert loaded_first == ([] if native.scanner() is not None else ["msgspec"])
    second, loaded = _warm_run(logs, tmp_path, "--all-time", "-f", "csv")
    assert loaded == []
    assert second.splitlines()[0] == first.splitlines()[0] and len(second.splitlines()) == len(first.splitlines())


def _toolkit(logs: Path, cache: Path) -> Toolkit:
    """A toolkit as ``run`` opens it (the cache folder: ``SMTRAIL_CACHE_DIR``, which each test sets), with a
    copy of ``metric-summary`` of one's own: a built-in query comes from its shipped forms (see
    test_bound_sql), the rendered-SQL cache serves the others."""
    assert os.environ["SMTRAIL_CACHE_DIR"] == str(cache)
    return Toolkit.open(EngineSettings(engine="local", logs=logs), queries_dirs=[_own_copy(cache)])


def _own_copy(cache: Path) -> Path:
    folder = cache.parent / f"{cache.name}-queries"
    folder.mkdir(exist_ok=True)
    (folder / "metric-summary.sql").write_bytes(TemplateLibrary.load().get("metric-summary").path.read_bytes())
    return folder


def _same(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows with floats to 12 digits: DuckDB's parallel sums may differ in the last bit from run to run."""
    return [tuple(f"{v:.12g}" if isinstance(v, float) else v for v in row) for row in rows]


def test_a_kept_query_runs_as_the_rendered_one(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path))
    kit = _toolkit(metric_logs[0], tmp_path)
    rendered = kit.prepare("metric-summary", {"limit": "5"}, all_time=True)
    assert not isinstance(rendered, prerendered.PrerenderedQuery)
    rows = kit.execute(rendered).rows
    assert len(list((tmp_path / "rendered").glob("*.rendered"))) == 1
    kit = _toolkit(metric_logs[0], tmp_path)
    kept = kit.prepare("metric-summary", {"limit": "5"}, all_time=True)
    assert isinstance(kept, prerendered.PrerenderedQuery)
    assert kept.duckdb_statement() == rendered.duckdb_statement()
    assert kept.duckdb_statement(copies=False) == rendered.duckdb_statement(copies=False)
    assert _same(kit.execute(kept).rows) == _same(rows)
    assert kept.sql == rendered.sql  # (anything else: the full rendering)
    # another value, another window: other keys
    assert not isinstance(kit.prepare("metric-summary", {"limit": "6"}, all_time=True),
                          prerendered.PrerenderedQuery)
    assert not isinstance(kit.prepare("metric-summary", {"limit": "5"}, since="2024-05-01"),
                          prerendered.PrerenderedQuery)


def test_one_rendering_serves_every_window_of_its_shape(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept SQL leaves the window's bounds as parameters: another window of the same shape (a relative
    window a second later, or other dates) is served from it, bound to its own values, never the first's."""
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path))
    early = {"since": "2024-05-01 12:00", "until": "2024-05-01 12:02:30"}
    late = {"since": "2024-05-01 12:02:30", "until": "2024-05-03"}
    kit = _toolkit(metric_logs[0], tmp_path)
    first = kit.prepare("metric-summary", {}, **early)
    early_rows = kit.execute(first).rows
    (entry,) = (tmp_path / "rendered").glob("*.rendered")
    assert b"2024" not in entry.read_bytes() and b"$window_start" in entry.read_bytes()
    kit = _toolkit(metric_logs[0], tmp_path)
    kept = kit.prepare("metric-summary", {}, **late)
    assert isinstance(kept, prerendered.PrerenderedQuery)
    fresh = render(TemplateLibrary.load([_own_copy(tmp_path)]).get("metric-summary"), {}, window=kept.window)
    assert kept.duckdb_statement() == fresh.duckdb_statement()
    assert kept.duckdb_statement()[1]["window_start"] == "2024-05-01 12:02:30.000"
    late_rows = kit.execute(kept).rows
    assert late_rows and early_rows and _same(late_rows) != _same(early_rows)
    assert _same(late_rows) == _same(Toolkit.open(EngineSettings(engine="local", logs=metric_logs[0],
                                                                 use_cache=False)).execute(fresh).rows)
    # a relative window ("since a date, until now") moves with the clock and still hits
    kit.execute(kit.prepare("metric-summary", {}, since="2024-05-01"))
    assert isinstance(_toolkit(metric_logs[0], tmp_path).prepare("metric-summary", {}, since="2024-05-01"),
                      prerendered.PrerenderedQuery)
    # another shape (no end) is another rendering
    assert not isinstance(kit.prepare("metric-summary", {}, all_time=True), prerendered.PrerenderedQuery)


def test_a_warm_relative_window_loads_no_heavy_module(metric_logs: tuple[Path, list[Path]],
                                                      tmp_path: Path) -> None:
    first, _ = _warm_run(metric_logs[0], tmp_path, "--since", "2024-05-01", "-f", "csv")
    second, loaded = _warm_run(metric_logs[0], tmp_path, "--since", "2024-05-01", "-f", "csv")
    assert loaded == []
    assert second.splitlines()[0] == first.splitlines()[0] and len(second.splitlines()) == len(first.splitlines())


def test_a_damaged_entry_is_rebuilt_never_served(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path))
    kit = _toolkit(metric_logs[0], tmp_path)
    rows = kit.execute(kit.prepare("metric-summary", {}, all_time=True)).rows
    (entry,) = (tmp_path / "rendered").glob("*.rendered")
    data = bytearray(entry.read_bytes())
    data[-20] ^= 0x01  # one bit of the SQL
    entry.write_bytes(bytes(data))
    kit = _toolkit(metric_logs[0], tmp_path)
    query = kit.prepare("metric-summary", {}, all_time=True)
    assert not isinstance(query, prerendered.PrerenderedQuery)
    assert not entry.exists() or entry.read_bytes() != bytes(data)
    assert _same(kit.execute(query).rows) == _same(rows)
    assert isinstance(_toolkit(metric_logs[0], tmp_path).prepare("metric-summary", {}, all_time=True),
                      prerendered.PrerenderedQuery)


def test_no_cache_keeps_nothing(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path))
    kit = Toolkit.open(EngineSettings(engine="local", logs=metric_logs[0], use_cache=False))
    kit.execute(kit.prepare("metric-summary", {}, all_time=True))
    assert not (tmp_path / "rendered").exists()


def test_a_changed_template_is_another_key(tmp_path: Path) -> None:
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "mine.sql").write_text("-- description: one\nSELECT 1\n")
    before = prerendered.request_key(("mine",), [folder])
    (folder / "mine.sql").write_text("-- description: one\nSELECT 2\n")
    assert prerendered.request_key(("mine",), [folder]) != before
    assert prerendered.request_key(("mine",), [tmp_path / "missing"]) is not None  # (no files: still a key)


def test_cache_clear_removes_the_kept_queries(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from smtrail_sql.reader.cache import ExtractCache

    monkeypatch.setenv("SMTRAIL_CACHE_DIR", str(tmp_path))
    kit = _toolkit(metric_logs[0], tmp_path)
    kit.execute(kit.prepare("metric-summary", {}, all_time=True))
    assert list((tmp_path / "rendered").glob("*.rendered"))
    ExtractCache(tmp_path).clear()
    assert not (tmp_path / "rendered").exists()


def test_the_walk_lists_no_month_outside_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import smtrail_sql.reader.layout as layout
    from smtrail_sql.window import TimeWindow

    for month, day in (("01", "15"), ("05", "01"), ("05", "02"), ("09", "30")):
        folder = tmp_path / "AWSLogs/111122223333/CloudTrail/us-east-1/2024" / month / day
        folder.mkdir(parents=True)
        (folder / f"111122223333_CloudTrail_us-east-1_2024{month}{day}T0000Z_x.json.gz").write_bytes(b"")
    listed: list[str] = []
    entries = layout._entries

    def spy(path: str, found: layout.Discovery) -> list[os.DirEntry[str]]:
        listed.append(path)
        return entries(path, found)

    monkeypatch.setattr(layout, "_entries", spy)
    found = layout.discover_log_files(tmp_path, TimeWindow.parse("2024-05-01", "2024-05-02"))
    assert sorted(Path(f.path).parent.name for f in found.files) == ["01", "02"]
    assert not [path for path in listed if path.endswith(("/2024/01", "/2024/09"))]
