"""Loading templates: headers, declared parameters checked both ways, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtrail_sql.errors import TemplateError, UnknownQueryError
from smtrail_sql.resources import queries_dir
from smtrail_sql.templates import TemplateLibrary

REQUIRED = {"metric-history", "metric-summary", "latest-metrics", "runs", "compare-runs", "ingest-volume",
            "callers", "failed-calls", "duplicate-points", "late-points"}
GOOD = ("-- name: {name}\n-- description: d\n-- param: m str required  metric\n"
        "SELECT * FROM sagemaker_metrics WHERE metric_name = :m\n")
HEAD = "-- name: q\n-- description: d\n"


def test_builtin_catalog_has_every_canned_query_documented() -> None:
    catalog = TemplateLibrary.load()
    assert REQUIRED <= set(catalog.names())
    assert len(catalog.names()) == len(list(queries_dir().glob("*.sql")))
    for template in catalog:
        assert template.description and all(spec.help for spec in template.params.values()), template.name


def test_user_folder_adds_and_replaces_templates(tmp_path: Path) -> None:
    (tmp_path / "my-query.sql").write_text(GOOD.format(name="my-query"))
    (tmp_path / "runs.sql").write_text(GOOD.format(name="runs"))
    catalog = TemplateLibrary.load([tmp_path])
    assert catalog.get("my-query").source == str(tmp_path)
    assert catalog.get("runs").source == str(tmp_path)


def test_unknown_query_suggests_the_closest() -> None:
    with pytest.raises(UnknownQueryError, match="did you mean 'metric-summary'"):
        TemplateLibrary.load().get("metric-sumary")


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("SELECT 1\n", "missing '-- name:'", 1),
        ("-- name: other\n-- description: d\nSELECT 1\n", "differs from the file name", 1),
        ("-- name: q\nSELECT 1\n", "missing '-- description:'", 1),
        (HEAD + "SELECT * FROM t WHERE a = :undeclared\n", "undeclared parameter :undeclared", 3),
        (HEAD + "-- param: p int required  x\nSELECT 1\n", "unused declared parameter 'p'", None),
        ("-- name: q\n-- description: d\n-- param: p blob required  x\nSELECT :p\n", "unknown type 'blob'", 3),
        ("-- name: q\n-- description: d\n-- param: p int = abc  x\nSELECT :p\n", "bad default", 3),
        ("-- name: q\n-- description: d\n-- param: p list[str] required  x\nSELECT * FROM t WHERE a = :p\n",
         "must be used as IN", 4),
        ("-- name: q\n-- description: d\nSELECT 1; SELECT 2\n", "exactly one statement", None),
        (HEAD + "-- param: n float = 1  x\nSELECT 1 FROM t LIMIT :n\n", "in LIMIT/OFFSET must be declared int", 4),
        ("-- name: q\n-- description: d\nSELEC 1 FROM\n", "does not parse", None),
        ("-- name: q\n-- description: d\n", "no SQL statement", None),
    ],
)
def test_bad_template_errors_name_file_and_line(tmp_path: Path, text: str, message: str, line: int | None) -> None:
    (tmp_path / "q.sql").write_text(text)
    library = TemplateLibrary.load([tmp_path])  # (a template is read when it is asked for, or listed)
    with pytest.raises(TemplateError, match=message) as error:
        library.get("q")
    assert str(tmp_path / "q.sql") in str(error.value)
    if line is not None:
        assert error.value.line == line


def test_missing_user_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not a folder"):
        TemplateLibrary.load([tmp_path / "nope"])


def test_a_broken_template_fails_only_where_it_is_used(tmp_path: Path) -> None:
    """Running one query parses its template alone: another one that is broken does not stop it, and is
    reported where the templates are listed."""
    (tmp_path / "broken.sql").write_text("-- name: broken\n-- description: d\nSELEC 1\n")
    library = TemplateLibrary.load([tmp_path])
    assert library.get("runs").name == "runs" and "broken" in library.names()
    with pytest.raises(TemplateError, match="does not parse"):
        list(library)
