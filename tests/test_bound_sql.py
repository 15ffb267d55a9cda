"""Built-in templates run as forms whose values DuckDB binds (smtrail_sql.bound_sql): the shipped forms are what
the templates make, every form gives the rows and types of the literal rendering, and a cold run of a built-in
query never loads sqlglot."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smtrail_sql import bound_sql, prerendered
from smtrail_sql.api import Toolkit
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.local import LocalEngine
from smtrail_sql.render import Naming, render
from smtrail_sql.templates import Template, TemplateLibrary
from smtrail_sql.window import TimeWindow
from tests.events import metric_bucket
from tests.hostile import hostile_bucket
from tests.sample_params import all_params, required_params

TEMPLATES = TemplateLibrary.load()
#: The package's own templates shipped with forms (the query behind an empty result's explanation).
INTERNAL = [bound_sql.internal_template(name) for name in bound_sql.INTERNAL_TEMPLATES]
WINDOWS = {
    "all-time": TimeWindow.all_time(),
    "start": TimeWindow(datetime(2024, 5, 1, 12, tzinfo=UTC), None),
    "end": TimeWindow(None, datetime(2024, 5, 2, tzinfo=UTC)),
    "both": TimeWindow.parse(since="2024-04-30", until="2024-05-03"),
}
#: Values an attacker, or an unlucky user, may pass: quotes, comment and statement breaks, LIKE's own signs.
HOSTILE_VALUES: dict[str, Any] = {
    "list[str]": ["x'); DROP TABLE smtrail.sagemaker_metrics; --", "loss", "métrique ✓", "a\\'b", ""],
    "glob": "*'; SELECT 1; --*%_\\",
    "int": 0,
    "float": 0.25,
    "bool": False,
}
#: The names the hostile bucket's events carry.
HOSTILE_NAMES: dict[str, Any] = {
    "metrics": ["loss"], "trial_component_glob": "tc-*", "job": "tc-copy-*",
    "trial_components": ["tc-copy-two-days", "tc-copy-values-differ", "tc-step-logged-twice"],
}


def test_the_shipped_forms_are_what_the_templates_make() -> None:
    """``python -m smtrail_sql.bound_sql`` was run after the last change to a template or to the rendering."""
    shipped = {path.stem for path in bound_sql.forms_dir().glob("*.json")}
    assert shipped == {template.name for template in [*TEMPLATES, *INTERNAL]}
    for template in [*TEMPLATES, *INTERNAL]:
        document = json.loads((bound_sql.forms_dir() / f"{template.name}.json").read_text(encoding="utf-8"))
        assert document == bound_sql.forms_document(template, template.path.read_bytes()), (
            f"{template.name}: the shipped forms are stale: run python -m smtrail_sql.bound_sql")


@pytest.mark.parametrize("template", list(TEMPLATES), ids=lambda t: t.name)
def test_a_rendered_built_in_runs_its_shipped_form(template: Template) -> None:
    for params in (required_params, all_params):
        for window in WINDOWS.values():
            query = render(template, params(template), window=window)
            absent = bound_sql.absent_params(template.params, query.params)
            forms = bound_sql.shipped_forms(template.name, template.path.read_bytes(), absent, window.bindings())
            assert forms is not None
            for copies in (True, False):
                sql, values = query.duckdb_statement(copies=copies)
                assert (sql, tuple(sorted(values))) == forms[copies]
                assert not any(isinstance(v, str) and v and v in sql for k, v in values.items()
                               if k.startswith(bound_sql.PARAM_PREFIX)), "a value written into the SQL"


@pytest.fixture(scope="module")
def connections(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    found = {}
    engines = []
    for bucket, make in (("lead", metric_bucket), ("hostile", hostile_bucket)):
        root = tmp_path_factory.mktemp(bucket)
        make(root)
        engine = LocalEngine(root, use_cache=False)
        engines.append(engine)
        found[bucket], _ = engine.connect(TimeWindow.all_time(), Naming())
    yield found
    for con in found.values():
        con.close()
    for engine in engines:
        engine.close()


def _comparable(value: Any) -> Any:
    """Floats to 12 significant digits: DuckDB's parallel sums may differ in the last bits from run to run."""
    if isinstance(value, float) and not math.isnan(value) and not math.isinf(value):
        return float(f"{value:.12g}") + 0.0
    return repr(value) if isinstance(value, float) else value


def _run(con: Any, sql: str, values: dict[str, Any] | None = None) -> tuple[list[tuple[str, str]], list[Any]]:
    cursor = con.execute(sql, values or {})
    types = [(str(d[0]), str(d[1])) for d in cursor.description or []]
    return types, sorted((tuple(_comparable(v) for v in row) for row in cursor.fetchall()), key=repr)


def _value_sets(template: Template, bucket: str) -> dict[str, dict[str, Any]]:
    names = HOSTILE_NAMES if bucket == "hostile" else {}
    hostile = {name: HOSTILE_VALUES[spec.type] for name, spec in template.params.items()}
    return {
        "required": {k: names.get(k, v) for k, v in required_params(template).items()},
        "all": {k: names.get(k, v) for k, v in all_params(template).items()},
        "hostile": hostile,
    }


@pytest.mark.parametrize("bucket", ["lead", "hostile"])
@pytest.mark.parametrize("template", [*TEMPLATES, *INTERNAL], ids=lambda t: t.name)
def test_every_form_gives_the_rows_of_the_literal_rendering(connections: dict[str, Any], bucket: str,
                                                            template: Template) -> None:
    """The form with its values bound, against the same query with its values written as literals by sqlglot:
    the same column types and rows, for every window shape, with and without deduplication, for sample,
    absent and hostile values."""
    con = connections[bucket]
    answered = 0
    for values in _value_sets(template, bucket).values():
        for window in WINDOWS.values():
            query = render(template, values, window=window)
            for copies in (True, False):
                bound = _run(con, *query.duckdb_statement(copies=copies))
                literal = _run(con, query.to_sql("duckdb", copies=copies))
                assert bound == literal, (template.name, values, window, copies)
                answered += bool(bound[1])
    assert answered, f"{template.name} answers nothing on the {bucket} bucket: the comparison would be of empties"


def test_only_the_very_built_in_file_is_served_from_its_forms(metric_logs: tuple[Path, list[Path]],
                                                               tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    settings = EngineSettings(engine="local", logs=metric_logs[0], use_cache=False)
    shipped = Toolkit.open(settings).prepare("metric-summary", {"metrics": "train:loss"}, all_time=True)
    assert isinstance(shipped, prerendered.ShippedQuery)
    # a template of one's own under the same name: rendered (while the files are read)
    own = tmp_path / "queries"
    own.mkdir()
    (own / "metric-summary.sql").write_bytes(TEMPLATES.get("metric-summary").path.read_bytes())
    mine = Toolkit.open(settings, queries_dirs=[own]).prepare("metric-summary", {"metrics": "train:loss"},
                                                              all_time=True)
    assert type(mine) is prerendered.LightQuery
    # other names for the views: rendered
    other = Toolkit.open(settings, view="points").prepare("metric-summary", {}, all_time=True)
    assert not isinstance(other, prerendered.ShippedQuery)
    # forms made from another text of the template: never served
    forms = tmp_path / "forms"
    forms.mkdir()
    document = json.loads((bound_sql.forms_dir() / "metric-summary.json").read_text(encoding="utf-8"))
    document["template_sha256"] = "0" * 64
    (forms / "metric-summary.json").write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(bound_sql, "forms_dir", lambda: forms)
    bound_sql._document.cache_clear()
    try:
        stale = Toolkit.open(settings).prepare("metric-summary", {}, all_time=True)
        assert not isinstance(stale, prerendered.ShippedQuery)
        rows = Toolkit.open(settings).execute(stale).rows
    finally:
        bound_sql._document.cache_clear()
    fresh = Toolkit.open(settings).execute(Toolkit().query("metric-summary", {}, all_time=True)).rows
    assert [tuple(map(_comparable, row)) for row in rows] == [tuple(map(_comparable, row)) for row in fresh]


@pytest.mark.parametrize("args", [["--no-cache"], []], ids=["no-cache", "cache"])
def test_a_cold_built_in_query_never_loads_sqlglot(metric_logs: tuple[Path, list[Path]], tmp_path: Path,
                                                   args: list[str]) -> None:
    code = ("import sys, atexit\n"
            "atexit.register(lambda: print('SQLGLOT', 'sqlglot' in sys.modules, file=sys.stderr))\n"
            f"sys.argv = ['smtrail-sql', 'run', 'metric-summary', '--logs', {str(metric_logs[0])!r}, '--all-time',"
            f" '-m', 'train:loss,x'' OR 1=1 --', '-f', 'csv', *{args!r}]\n"
            "from smtrail_sql.entry import main\nmain()\n")
    env = {**os.environ, "SMTRAIL_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SQLGLOT False" in done.stderr
    header, *rows = csv.reader(io.StringIO(done.stdout))
    assert header[:3] == ["trial_component", "metric_name", "points"] and rows
    assert {row[1] for row in rows} == {"train:loss"}  # (the other value is a name, matching none)
