"""Rendered SQL kept beside the local engine's cache: a warm run of an identical query does not render again.

Rendering goes through sqlglot (about a third of a second to import, then the template's parse and the
DuckDB transpilation). What a run of the local engine needs from the rendered query is small: its DuckDB
statements (with and without the deduplication of copies, the window's bounds left as named parameters: see
:meth:`RenderedQuery.duckdb_statement <smtrail_sql.render.RenderedQuery.duckdb_statement>`), the columns it
names, its window and its names. They are kept in ``<cache folder>/rendered/KEY.rendered``, keyed exactly by
everything the rendering depends on:

* the query's name, its parameter values, ``-t``/``-m``, the source asked for, which bounds the window has
  (not their values, which DuckDB binds: a relative ``--since 7d`` hits at every instant) and the relations'
  names;
* every template file the library would load (paths and contents, built-in and ``--queries-dir``);
* the code that renders: the package's own source files and sqlglot's version.

An entry is framed with a CRC-32 over its bytes and its key (:func:`smtrail_sql.reader.entries.frame`): a
damaged one is removed and the query rendered again, never served. A render that warned (an old parameter name)
is not kept, so the warning is shown every time. Only the newest :data:`MAX_ENTRIES` are kept.

Anything else asked of a query served from here (its Athena SQL, its template, for an empty result's
explanation) renders it in full, through the function it was given.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from smtrail_sql.render import Naming, RenderedQuery
    from smtrail_sql.template_text import TemplateHeader
    from smtrail_sql.window import TimeWindow

#: Bump when the entries' content changes.
FORMAT = 3  # 2: the window's bounds are parameters; 3: a built-in's values too, kept with the statements
#: Entries kept; older ones are removed when a new one is written.
MAX_ENTRIES = 64
_FOLDER = "rendered"
_TEMP_PREFIX = ".tmp-"


class LightQuery:
    """A query known without sqlglot by what the local engine needs before it runs it (its name, window,
    names and the columns it may read); whatever else is asked of it comes from the full rendering, done on
    first use by ``full``. This one renders when its SQL is asked for (see :func:`deferred`)."""

    def __init__(self, name: str, window: TimeWindow, naming: Naming, columns: frozenset[str] | None,
                 full: Callable[[], RenderedQuery], params: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.window = window
        self.naming = naming
        self.columns = columns
        self._make_full = full
        self._full: RenderedQuery | None = None
        self._params = dict(params) if params is not None else None

    @property
    def params(self) -> dict[str, Any]:
        """The query's parameter values, as the rendering binds them (known from the template's text when this
        query was made from it, else from the full rendering)."""
        return self._params if self._params is not None else self.full.params

    @property
    def full(self) -> RenderedQuery:
        """The query rendered in full (through sqlglot), on first use."""
        if self._full is None:
            self._full = self._make_full()
        return self._full

    def duckdb_statement(self, *, copies: bool = True) -> tuple[str, dict[str, Any]]:
        """As :meth:`RenderedQuery.duckdb_statement <smtrail_sql.render.RenderedQuery.duckdb_statement>`."""
        return self.full.duckdb_statement(copies=copies)

    def to_sql(self, dialect: str = "athena", *, pretty: bool = True, copies: bool = True) -> str:
        """The full rendering's SQL (with the window's values written in)."""
        return self.full.to_sql(dialect, pretty=pretty, copies=copies)

    @property
    def sql(self) -> str:
        """Pretty Athena SQL (from the full rendering)."""
        return self.full.sql

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self.full, attribute)


class PrerenderedQuery(LightQuery):
    """A query served from the rendered-SQL cache, or a built-in one from its shipped forms (see
    :mod:`smtrail_sql.bound_sql`): what the local engine runs, without sqlglot."""

    def __init__(self, name: str, window: TimeWindow, naming: Naming,
                 statements: dict[bool, tuple[str, tuple[str, ...]]], columns: frozenset[str] | None,
                 full: Callable[[], RenderedQuery], values: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, window, naming, columns, full, params)
        self._statements = statements
        self._values = dict(values or {})

    def duckdb_statement(self, *, copies: bool = True) -> tuple[str, dict[str, Any]]:
        """The kept statement, and the values of this window and of the query's parameters for its parameters."""
        sql, names = self._statements[copies]
        values = {**self.window.bindings(), **self._values}
        return sql, {name: values[name] for name in names}


class ShippedQuery(PrerenderedQuery):
    """A built-in query whose statements are its shipped forms (see :mod:`smtrail_sql.bound_sql`)."""


def request_key(parts: Sequence[object], template_dirs: Sequence[Path]) -> str | None:
    """The key of one rendering: ``parts`` (the request, each with an exact ``repr``), the templates and the
    code. None when a template folder cannot be read (the rendering then tells what is wrong)."""
    import hashlib  # (here: a cold executor unpickles a query of this module, and needs no key)

    digest = hashlib.sha256(f"rendered {FORMAT}\n{_code_digest()}\n{parts!r}\n".encode())
    try:
        for directory in template_dirs:
            digest.update(f"{directory.resolve()}\n".encode())
            for path in sorted(directory.glob("*.sql")):
                data = path.read_bytes()
                digest.update(f"{path.name}\0{len(data)}\0".encode())
                digest.update(data)
    except OSError:
        return None
    return digest.hexdigest()


@cache
def _code_digest() -> str:
    """A digest of the package's source and sqlglot's version: any change to how a query renders changes it."""
    import hashlib
    import importlib.util

    package = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for folder, subfolders, names in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(n for n in names if n.endswith(".py")):
            with open(os.path.join(folder, name), "rb") as handle:
                digest.update(f"{folder[len(package):]}/{name}\0".encode())
                digest.update(handle.read())
    spec = importlib.util.find_spec("sqlglot")
    if spec is not None and spec.origin:
        version = os.path.join(os.path.dirname(spec.origin), "_version.py")
        with contextlib.suppress(OSError), open(version, "rb") as handle:
            digest.update(handle.read())
        digest.update(spec.origin.encode())
    return digest.hexdigest()


def _path(root: Path, key: str) -> Path:
    return root / _FOLDER / f"{key}.rendered"


def load(root: Path, key: str, window: TimeWindow, naming: Naming,
         full: Callable[[], RenderedQuery]) -> PrerenderedQuery | None:
    """The query kept under ``key``, or None (a miss, or a damaged entry, which is removed)."""
    from smtrail_sql.reader.entries import unframe

    path = _path(root, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = unframe(data, key)
    try:
        if payload is None:
            raise ValueError("damaged")
        entry = json.loads(payload)
        statements = {bool(copies): (str(sql), tuple(map(str, names))) for copies, sql, names in entry["sql"]}
        values = entry["values"]
        if set(statements) != {True, False} or not isinstance(values, dict) or any(
                set(names) - set(window.bindings()) - set(values) for _, names in statements.values()):
            raise ValueError("not the statements of this window")
        columns = entry["columns"]
        kept = PrerenderedQuery(str(entry["name"]), window, naming, statements,
                                None if columns is None else frozenset(map(str, columns)), full, values)
    except (ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # the entries used last survive pruning
    return kept


def store(root: Path, key: str, query: RenderedQuery, columns: Iterable[str] | None) -> None:
    """Keep ``query``'s DuckDB SQL and ``columns`` under ``key`` (best effort: a folder that cannot be written
    only costs speed), then drop the oldest entries beyond :data:`MAX_ENTRIES`."""
    from smtrail_sql.reader.entries import frame
    from smtrail_sql.runfiles import hold, owned_prefix

    if getattr(query, "unwindowed", None) is None:  # (its SQL would hold this window's values: not kept)
        return
    statements = {copies: query.duckdb_statement(copies=copies) for copies in (True, False)}
    bindings = query.window.bindings()
    entry = {"name": query.name,
             "sql": [[copies, sql, sorted(values)] for copies, (sql, values) in statements.items()],
             "values": {name: value for _, values in statements.values() for name, value in values.items()
                        if name not in bindings},  # (the query's own parameters: see bound_sql)
             "columns": None if columns is None else sorted(columns)}
    path = _path(root, key)
    with contextlib.suppress(OSError):
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(parents=True, exist_ok=True)  # (where the extraction cache's leftovers are found)
        fd, temp = tempfile.mkstemp(dir=root / "tmp", prefix=owned_prefix(_TEMP_PREFIX), suffix=".part")
        hold(fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(frame(json.dumps(entry).encode(), key))
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        entries = sorted(path.parent.glob("*.rendered"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            with contextlib.suppress(OSError):
                old.unlink()


def prepared(name: str, params: Mapping[str, Any], trial_components: Sequence[str] | None,
             metrics: Sequence[str] | None, window: TimeWindow, naming: Naming, queries_dirs: Sequence[Path],
             kept_at: Callable[[], tuple[Path, str] | None], full: Callable[[], RenderedQuery]
             ) -> tuple[Any, bool]:
    """A query for the local engine, and whether to keep its rendering once it ran: a built-in one from its
    shipped forms, else the one kept at ``kept_at()`` (the cache folder and the key, or None), else one
    :func:`deferred`, else ``full()`` rendered now."""
    request = _bound_request(name, params, trial_components, metrics, queries_dirs)
    if request is not None:
        shipped = _shipped(request, window, naming, full)
        if shipped is not None:
            return shipped, False
    where = kept_at()
    if where is not None:
        kept = load(where[0], where[1], window, naming, full)
        if kept is not None:
            return kept, False
    if request is not None:
        return _deferred(request, window, naming, full), True
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        query = full()
    for warning in caught:  # shown as they would have been; a render that warns is not kept
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return query, not caught


class _Request(NamedTuple):
    """A query asked for, known from its template's text: the file, its text, its header, its bound values."""

    path: Path
    text: bytes
    header: TemplateHeader
    bound: dict[str, Any]


def _bound_request(name: str, params: Mapping[str, Any], trial_components: Sequence[str] | None,
                   metrics: Sequence[str] | None, queries_dirs: Sequence[Path]) -> _Request | None:
    """The request with its values checked against the template's header, read as text without sqlglot (a bad
    value is refused here, before any file is read); None when the query must be rendered now: a name with no
    template file, a value given under an old name (whose warning is shown once, by the rendering) or a negative
    number (which the rendering refuses where a row count is expected)."""
    import warnings
    from types import SimpleNamespace

    from smtrail_sql.params import bind, with_name_options
    from smtrail_sql.template_text import parse_header, template_file

    path = template_file(name, queries_dirs)
    if path is None:
        return None
    try:
        text = path.read_bytes()
        header = parse_header(text.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"), path)
    except (OSError, UnicodeDecodeError):
        return None
    described = SimpleNamespace(name=header.name, params=list(header.params.values()))
    values = with_name_options(described, dict(params), trial_components, metrics)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bound = bind(header.params, values, query=header.name)
    if caught or any(type(value) is int and value < 0 for value in bound.values()):
        return None
    return _Request(path, text, header, bound)


def _shipped(request: _Request, window: TimeWindow, naming: Naming,
             full: Callable[[], RenderedQuery]) -> ShippedQuery | None:
    """The built-in query from its shipped forms, when they were made from its very file and for these names."""
    from smtrail_sql import bound_sql
    from smtrail_sql.naming import Naming
    from smtrail_sql.resources import queries_dir
    from smtrail_sql.template_text import columns_read

    header = request.header
    if naming != Naming() or request.path != queries_dir() / f"{header.name}.sql":
        return None
    absent = bound_sql.absent_params(header.params, request.bound)
    forms = bound_sql.shipped_forms(header.name, request.text, absent, window.bindings())
    if forms is None:
        return None
    return ShippedQuery(header.name, window, naming, forms,
                        columns_read(header.body, window_bounded=window.is_bounded), full,
                        bound_sql.bound_values(header.params, request.bound), request.bound)


def _deferred(request: _Request, window: TimeWindow, naming: Naming, full: Callable[[], RenderedQuery]
              ) -> LightQuery:
    """The query, to be rendered while the local engine reads its rows.

    A cold query's rendering (importing sqlglot, parsing the templates, about 0.3 s) would otherwise hold back
    the reading of its files. What the reading needs first comes from the template's text
    (:mod:`smtrail_sql.template_text`): its parameters, checked already (:func:`_bound_request`), and the
    columns it may read.
    """
    from smtrail_sql.template_text import columns_read

    return LightQuery(request.header.name, window, naming,
                      columns_read(request.header.body, window_bounded=window.is_bounded), full, request.bound)
