"""Built-in templates as DuckDB statements whose every value is a bound parameter, shipped with the package.

A local query's DuckDB statement used to carry its parameters' values as literals, so each run of a new value
went through sqlglot: about 0.3 s of CPU to import it with its two dialects, then the parse and two
transpilations, on a core the reader's workers want. A *form* carries none: the template's tree with

* the predicate around each unset optional parameter dropped (as :func:`~smtrail_sql.render.render` does);
* every other placeholder a DuckDB named parameter, ``$param_NAME``: a list in ``x IN (SELECT UNNEST(...))``,
  a row count as it is, any other value cast to its declared type (``CAST($param_job AS TEXT)``);
* the window's bounds parameters too (``$first_day``...: :meth:`RenderedQuery.duckdb_statement
  <smtrail_sql.render.RenderedQuery.duckdb_statement>`), with or without the deduplication of copies.

So a form depends on which optional parameters are set, which bounds the window has and whether copies are
deduplicated, never on a value: DuckDB binds the values (:func:`bound_values`), nothing is written into the text.
The local engine runs a built-in template's form whatever way the query came (:func:`compile_form`).

Every form of every built-in template, for the default names, is generated into ``sql/duckdb/NAME.json`` by
``python -m smtrail_sql.bound_sql``, with the SHA-256 of the template file it was made from: a cold run takes its
statement from there without sqlglot (:func:`shipped_forms`), and only for that very file. Tests check that the
files are what this code makes of the templates, and that each form gives the rows of the literal rendering.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import RenderError

if TYPE_CHECKING:
    from sqlglot import exp

    from smtrail_sql.naming import Naming
    from smtrail_sql.params import ParamSpec
    from smtrail_sql.templates import Template
    from smtrail_sql.window import TimeWindow

#: Bump when the forms' content changes.
FORMAT = 1
#: A template parameter's DuckDB name is this and its own (the window's bounds are named otherwise).
PARAM_PREFIX = "param_"
#: The window shapes forms are made for, by the bounds each has (see TimeWindow.bindings): none (all time),
#: a start, an end, both.
BOUND_SHAPES: tuple[tuple[str, ...], ...] = ((), ("first_day", "window_start"), ("last_day", "window_end"),
                                             ("first_day", "last_day", "window_start", "window_end"))
#: What a scalar value is cast to in a form, by declared type (a row count, in LIMIT or OFFSET, is not cast).
_CASTS = {"str": "VARCHAR", "glob": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN"}
_FOLDER = "duckdb"

Form = tuple[str, tuple[str, ...]]


class Unbindable(RenderError):
    """A template this module cannot make forms of (a list beside other values in one IN, a date...)."""


def form_key(absent: Iterable[str], bounds: Iterable[str], copies: bool) -> str:
    """The key of one form: the optional parameters left unset, the window's bounds, the deduplication.

    >>> form_key(["metrics"], ["window_start", "first_day"], True)
    'metrics|first_day,window_start|1'
    """
    return f"{','.join(sorted(absent))}|{','.join(sorted(bounds))}|{int(copies)}"


def absent_params(specs: Mapping[str, ParamSpec], bound: Mapping[str, Any]) -> list[str]:
    """The parameters without a value (optional ones left unset): their predicates are dropped."""
    return [name for name in specs if bound.get(name) is None]


def bound_values(specs: Mapping[str, ParamSpec], bound: Mapping[str, Any]) -> dict[str, Any]:
    """What DuckDB binds to a form's template parameters: lists as lists, a glob as its LIKE pattern.

    >>> from smtrail_sql.params import ParamSpec
    >>> bound_values({"job": ParamSpec("job", "glob", True), "metrics": ParamSpec("metrics", "list[str]", False)},
    ...              {"job": "res*", "metrics": None})
    {'param_job': 'res%'}
    """
    from smtrail_sql.params import glob_to_like

    values: dict[str, Any] = {}
    for spec in specs.values():
        value = bound.get(spec.name)
        if value is None:
            continue
        if spec.type == "glob":
            value = glob_to_like(value)
        elif spec.is_list:
            value = list(value)
        values[PARAM_PREFIX + spec.name] = value
    return values


def applies(template: Template, naming: Naming) -> bool:
    """Whether the local engine runs ``template``'s forms: a built-in one, over the trail's views."""
    return template.source == "built-in" and not naming.store


# -- making forms (through sqlglot) ---------------------------------------------------------------------------

def compile_form(template: Template, bound: Mapping[str, Any], window: TimeWindow, naming: Naming,
                 copies: bool) -> Form:
    """The form of ``template`` for the parameters set in ``bound`` and ``window``'s bounds: its DuckDB SQL and
    the names of its parameters (:class:`Unbindable` if the template cannot have one)."""
    from sqlglot import exp

    from smtrail_sql.query_tree import PACKAGE_SOURCES, apply_window, generate
    from smtrail_sql.templates import nesting_checked

    with nesting_checked(template.path):
        tree = apply_window(_parameterized(template, bound), window, naming, deduplicate=copies, parameters=True)
        names = tuple(sorted({placeholder.name for placeholder in tree.find_all(exp.Placeholder)}))
    return generate(tree, "duckdb", template.name, template.path,
                    compensated_avg=template.source in PACKAGE_SOURCES), names


def _parameterized(template: Template, bound: Mapping[str, Any]) -> exp.Expr:
    """The template's tree: unset optional predicates dropped, every other placeholder a named parameter."""
    from sqlglot import exp

    from smtrail_sql.query_tree import drop_predicate

    tree = template.statement.copy()
    placeholders = list(tree.find_all(exp.Placeholder))  # (held: their ids stay theirs)
    to_do = {id(placeholder) for placeholder in placeholders}
    while True:  # (a dropped predicate may take other placeholders with it: the tree is searched anew)
        placeholder = next((p for p in tree.find_all(exp.Placeholder) if id(p) in to_do), None)
        if placeholder is None:
            return tree
        spec = template.params[placeholder.name]
        if bound.get(spec.name) is None:
            tree = drop_predicate(tree, placeholder, template)
            continue
        parameter = exp.Placeholder(this=PARAM_PREFIX + spec.name)
        parent = placeholder.parent
        if spec.is_list:
            if not isinstance(parent, exp.In) or len(parent.expressions) != 1 or spec.scalar_type not in _CASTS:
                raise Unbindable(f"{template.name}: :{spec.name} is not alone in an IN (...) list")
            listed = exp.select(exp.Unnest(expressions=[parameter])).subquery()
            parent.replace(exp.In(this=parent.this, query=listed))
        elif isinstance(parent, exp.Limit | exp.Offset):
            placeholder.replace(parameter)
        elif spec.type in _CASTS:
            placeholder.replace(exp.cast(parameter, exp.DataType.build(_CASTS[spec.type])))
        else:
            raise Unbindable(f"{template.name}: a {spec.type} parameter is written as a literal")


def _stand_in(spec: ParamSpec) -> Any:
    """A value of ``spec``'s type, for making a form (the form never holds it)."""
    scalar = {"str": "x", "glob": "x", "int": 1, "float": 1.0, "bool": True}.get(spec.scalar_type, "x")
    return [scalar] if spec.is_list else scalar


def _window_of(bounds: tuple[str, ...]) -> TimeWindow:
    from datetime import UTC, datetime

    from smtrail_sql.window import TimeWindow

    window = TimeWindow(datetime(2024, 5, 1, tzinfo=UTC) if "window_start" in bounds else None,
                        datetime(2024, 5, 8, tzinfo=UTC) if "window_end" in bounds else None)
    assert tuple(sorted(window.bindings())) == tuple(sorted(bounds)), (bounds, window.bindings())
    return window


def every_form(template: Template, naming: Naming) -> dict[str, Form]:
    """Every form of ``template``, by :func:`form_key`: each set of its optional parameters left unset, each
    window shape of :data:`BOUND_SHAPES`, with and without deduplication."""
    optional = [spec.name for spec in template.params.values() if not spec.required and spec.default is None]
    forms: dict[str, Form] = {}
    for count in range(len(optional) + 1):
        for absent in combinations(optional, count):
            bound = {name: None if name in absent else (spec.default if spec.default is not None
                                                        else _stand_in(spec))
                     for name, spec in template.params.items()}
            for bounds in BOUND_SHAPES:
                window = _window_of(bounds)
                for copies in (True, False):
                    forms[form_key(absent, bounds, copies)] = compile_form(template, bound, window, naming, copies)
    return forms


def forms_document(template: Template, text: bytes) -> dict[str, Any]:
    """What ``sql/duckdb/NAME.json`` holds for a built-in template read from ``text``."""
    from smtrail_sql.naming import Naming

    forms = every_form(template, Naming())
    return {"format": FORMAT, "template": template.name, "template_sha256": hashlib.sha256(text).hexdigest(),
            "forms": {key: {"sql": sql, "params": list(names)} for key, (sql, names) in sorted(forms.items())}}


def forms_dir() -> Path:
    """Where the built-in templates' forms are shipped."""
    from smtrail_sql.resources import sql_root

    return sql_root() / _FOLDER


#: Templates of the package's own, not queries a user runs, shipped with their forms as the built-ins are:
#: the query behind an empty result's explanation (:mod:`smtrail_sql.explain`), in ``sql/explain/``.
INTERNAL_TEMPLATES = ("names-present",)


def internal_template_file(name: str) -> Path:
    """The file of the internal template ``name`` (one of :data:`INTERNAL_TEMPLATES`)."""
    from smtrail_sql.resources import sql_root

    return sql_root() / "explain" / f"{name}.sql"


def internal_template(name: str) -> Template:
    """The internal template ``name``, parsed (through sqlglot)."""
    from smtrail_sql.templates import parse_template

    path = internal_template_file(name)
    return parse_template(path.read_text(encoding="utf-8"), path, source="explain")


def write_forms(folder: Path | None = None) -> list[Path]:
    """(Re)write the forms of every built-in template and of every internal one; the files written."""
    from smtrail_sql.templates import TemplateLibrary

    folder = folder or forms_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for template in [*TemplateLibrary.load(), *map(internal_template, INTERNAL_TEMPLATES)]:
        document = forms_document(template, template.path.read_bytes())
        path = folder / f"{template.name}.json"
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


# -- serving forms (no sqlglot) -------------------------------------------------------------------------------

@cache
def _document(name: str) -> dict[str, Any] | None:
    try:
        document = json.loads((forms_dir() / f"{name}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("format") == FORMAT else None


def shipped_forms(name: str, text: bytes, absent: Iterable[str], bounds: Iterable[str]) -> dict[bool, Form] | None:
    """The shipped forms (with and without deduplication) of the built-in template ``name`` read from ``text``,
    for these unset parameters and window bounds; None unless they were made from this very text."""
    document = _document(name)
    if document is None or document.get("template_sha256") != hashlib.sha256(text).hexdigest():
        return None
    forms: dict[bool, Form] = {}
    absent, bounds = list(absent), list(bounds)
    for copies in (True, False):
        form = document["forms"].get(form_key(absent, bounds, copies))
        if not isinstance(form, dict):
            return None
        forms[copies] = (str(form["sql"]), tuple(map(str, form["params"])))
    return forms


def main() -> None:
    """``python -m smtrail_sql.bound_sql``: regenerate the shipped forms after a template changed."""
    for path in write_forms():
        print(path)


if __name__ == "__main__":
    main()
