"""A cold local query starts reading its files before it is rendered: what the reading needs first comes from
the template's text (:mod:`smtrail_sql.template_text`), and the rendering happens while the files are read
(:func:`smtrail_sql.prerendered.deferred`). The text must never promise fewer columns than the query reads,
bad values are still refused before any file is read, and the rows are the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql import prerendered
from smtrail_sql.api import Toolkit
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.columns import columns_named
from smtrail_sql.render import render
from smtrail_sql.schema import METRIC_CALL_COLUMNS, METRIC_POINT_COLUMNS
from smtrail_sql.template_text import columns_read
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.sample_params import all_params, required_params

TEMPLATES = TemplateLibrary.load()
COLUMNS = frozenset(METRIC_POINT_COLUMNS) | frozenset(METRIC_CALL_COLUMNS)
WINDOWS = {"all-time": TimeWindow.all_time(), "bounded": TimeWindow.parse(since="2024-04-30", until="2024-05-03"),
           "since": TimeWindow.parse(since="2024-04-30")}


@pytest.mark.parametrize("template", list(TEMPLATES), ids=lambda t: t.name)
@pytest.mark.parametrize("params", [required_params, all_params], ids=["required", "all"])
@pytest.mark.parametrize("window", list(WINDOWS))
def test_the_text_names_every_column_the_query_reads(template: Template, params: Any, window: str) -> None:
    promised = columns_read(template.sql, window_bounded=WINDOWS[window].is_bounded)
    read = columns_named(render(template, params(template), window=WINDOWS[window]))
    if promised is None:
        return  # (every column is read)
    assert read is not None and read & COLUMNS <= promised


@pytest.mark.parametrize(("sql", "why"), [
    ("SELECT * FROM sagemaker_metrics", "a star"),
    ("SELECT a.* FROM sagemaker_metrics a", "a qualified star"),
    ("SELECT value * 2 FROM sagemaker_metrics", "a product (could be a star for all the text knows)"),
    ("SELECT /* caller */ 1 FROM sagemaker_metrics", "a block comment"),
    ("SELECT 1 FROM sagemaker_metrics NATURAL JOIN sagemaker_metric_calls", "a natural join"),
    ('SELECT U&"\\0063aller_arn" FROM sagemaker_metric_calls', "an escaped identifier"),
    ('SELECT "callér" FROM sagemaker_metric_calls', "outside ASCII"),
])
def test_what_the_text_cannot_tell_reads_every_column(sql: str, why: str) -> None:
    assert columns_read(sql, window_bounded=False) is None, why


def test_the_text_adds_what_the_renderer_reads() -> None:
    promised = columns_read("SELECT COUNT(*) FROM sagemaker_metrics", window_bounded=True)
    assert promised is not None and {"event_time", "day", "event_id", "point_index"} <= promised
    assert "event_time" not in (columns_read("SELECT COUNT(*) FROM sagemaker_metrics", window_bounded=False) or {})


@pytest.mark.parametrize("name", ["metric-summary", "failed-calls", "callers", "metric-history"])
@pytest.mark.parametrize("window", ["all-time", "bounded"])
@pytest.mark.parametrize("served", ["shipped", "deferred"])
def test_a_query_served_before_rendering_gives_the_rendered_rows(metric_logs: tuple[Path, list[Path]],
                                                                 tmp_path: Path, name: str, window: str,
                                                                 served: str) -> None:
    """A built-in query comes from its shipped forms; the same template in a folder of one's own (no forms
    shipped for it) is rendered while the files are read. Either way, the rows of the query rendered now."""
    template = TEMPLATES.get(name)
    queries_dirs = None
    if served == "deferred":
        (tmp_path / f"{name}.sql").write_bytes(template.path.read_bytes())
        queries_dirs = [tmp_path]
    kit = Toolkit.open(EngineSettings(engine="local", logs=metric_logs[0], use_cache=False),
                       queries_dirs=queries_dirs)
    values = dict(all_params(template))
    when: dict[str, Any] = ({"all_time": True} if window == "all-time"
                            else {"since": "2024-04-30", "until": "2024-05-03"})
    query = kit.prepare(name, values, **when)
    assert type(query) is (prerendered.ShippedQuery if served == "shipped" else prerendered.LightQuery)
    rows = kit.execute(query).rows
    fresh = kit.execute(kit.query(name, values, **when)).rows
    assert sorted(map(_exact, rows)) == sorted(map(_exact, fresh))


def _exact(row: tuple[Any, ...]) -> str:
    """A row with floats to 12 digits: DuckDB's parallel sums may differ in the last bit from run to run."""
    return repr(tuple(f"{v:.12g}" if isinstance(v, float) else v for v in row))


def test_bad_values_are_refused_before_anything_is_rendered(metric_logs: tuple[Path, list[Path]]) -> None:
    from smtrail_sql.errors import ParameterError

    kit = Toolkit.open(EngineSettings(engine="local", logs=metric_logs[0], use_cache=False))
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        kit.prepare("metric-summary", {"nope": "1"}, all_time=True)
    with pytest.raises(ParameterError, match="expects an integer"):
        kit.prepare("metric-summary", {"limit": "many"}, all_time=True)
    with pytest.raises(ParameterError, match="does not take"):
        kit.prepare("failed-calls", {}, None, ["train:loss"], all_time=True)


@pytest.mark.parametrize("executor", ["0", "1"])
def test_the_files_are_read_before_sqlglot_is_loaded(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                     executor: str) -> None:
    """In the console script, a cold query's reading starts without sqlglot (it is loaded while the files are
    read, or after them when they are read in this process), in the command's process or in its executor's."""
    said = tmp_path / "said"
    code = ("import sys\n"
            "import smtrail_sql.reader.pipeline as pipeline\n"
            "read = pipeline.read_log_files\n"
            "def spy(*args, **kwargs):\n"
            f"    print('SQLGLOT', 'sqlglot' in sys.modules, file=open({str(said)!r}, 'a'))\n"
            "    return read(*args, **kwargs)\n"
            "pipeline.read_log_files = spy\n"
            f"sys.argv = ['smtrail-sql', 'run', 'metric-summary', '--logs', {str(metric_logs[0])!r}, '--all-time',"
            " '--no-cache', '-f', 'csv']\n"
            "from smtrail_sql.entry import main\nmain()\n")
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path), "SMTRAIL_EXECUTOR": executor}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert said.read_text() == "SQLGLOT False\n"
    assert done.stdout.startswith("trial_component,metric_name,points")
