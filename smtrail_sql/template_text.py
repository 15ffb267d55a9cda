"""A template file read as text, without sqlglot: its header, where it lives, and the names its SQL may read.

:func:`smtrail_sql.templates.parse_template` reads every header here, then parses the statement with sqlglot
(a third of a second to import, then each template's parse). A cold local query needs less to start reading
its log files: the template's parameters, to check the values given before anything is read, and which
columns it may read, which tells the reader whether it may leave the descriptive ones out (see
``lists.OPTIONAL_COLUMNS``). :func:`columns_read` answers that from the text, erring on the side of reading
more; the query is then rendered while the files are read (see :mod:`smtrail_sql.prerendered`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from smtrail_sql.errors import ParameterError, TemplateError
from smtrail_sql.params import PARAM_TYPES, ParamSpec
from smtrail_sql.resources import queries_dir

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PARAM = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>\S+)\s*"
    r"(?:(?P<required>required)|(?P<optional>optional)|=\s*(?P<default>\S+))?\s*(?P<help>.*)$"
)
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
_COUNT_STAR = re.compile(r"count\s*\(\s*\*\s*\)")
#: Names the renderer itself reads in front of every view (the copies' order, the window's partition column).
_RENDERER_READS = frozenset({"day", "account_id", "region", "event_id", "point_index"})


class TemplateHeader(NamedTuple):
    """What a template's ``--`` header says, and where its statement starts."""

    name: str
    description: str
    params: dict[str, ParamSpec]
    #: The statement's text (after the header, without a final ``;``) and its first line's index.
    body: str
    body_start: int


def parse_header(text: str, path: Path) -> TemplateHeader:
    """Read a template's header; errors name the file and line (as :func:`parse_template` reports them)."""
    name: str | None = None
    description: list[str] = []
    params: dict[str, ParamSpec] = {}
    body_start = 0
    lines = text.splitlines()
    in_description = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            in_description = False
            continue
        if not stripped.startswith("--"):
            body_start = number - 1
            break
        content = stripped[2:].strip()
        key, sep, rest = content.partition(":")
        key = key.strip().lower()
        if sep and key == "name":
            name = rest.strip()
            in_description = False
        elif sep and key == "description":
            description.append(rest.strip())
            in_description = True
        elif sep and key == "param":
            spec = _parse_param(rest.strip(), path, number)
            if spec.name in params:
                raise TemplateError(f"parameter {spec.name!r} is declared twice", str(path), number)
            params[spec.name] = spec
            in_description = False
        elif in_description:
            description.append(content)
    else:
        raise TemplateError("no SQL statement after the header", str(path))

    if name is None:
        raise TemplateError("missing '-- name:' header line", str(path), 1)
    if not _NAME.match(name):
        raise TemplateError(f"name {name!r} must be lowercase words joined by '-'", str(path), 1)
    if name != path.stem:
        raise TemplateError(f"name {name!r} differs from the file name {path.stem!r}", str(path), 1)
    if not description:
        raise TemplateError("missing '-- description:' header line", str(path), 1)
    body = "\n".join(lines[body_start:]).strip().rstrip(";").strip()
    return TemplateHeader(name, "\n".join(description).strip(), params, body, body_start)


def _parse_param(text: str, path: Path, line: int) -> ParamSpec:
    match = _PARAM.match(text)
    if not match:
        raise TemplateError("expected '-- param: NAME TYPE required|optional|= DEFAULT  help'", str(path), line)
    type_ = match.group("type")
    if type_ not in PARAM_TYPES:
        raise TemplateError(f"unknown type {type_!r}; valid types: {', '.join(PARAM_TYPES)}", str(path), line)
    spec = ParamSpec(
        name=match.group("name"),
        type=type_,
        required=bool(match.group("required")),
        help=match.group("help").strip(),
    )
    if match.group("default") is not None:
        try:
            default = spec.coerce(match.group("default"))
        except ParameterError as error:
            raise TemplateError(f"bad default: {error}", str(path), line) from None
        spec = ParamSpec(spec.name, spec.type, False, default, spec.help)
    return spec


def template_file(name: str, extra_dirs: Iterable[Path] = ()) -> Path | None:
    """The file the template library takes ``name`` from: the last of ``extra_dirs`` that has ``NAME.sql``,
    else the built-in one; None when there is none (or ``name`` could not be a file's name)."""
    if not _NAME.match(name):
        return None
    for directory in [*reversed(list(extra_dirs)), queries_dir()]:
        path = Path(directory) / f"{name}.sql"
        if path.is_file():
            return path
    return None


def columns_read(sql: str, *, window_bounded: bool) -> frozenset[str] | None:
    """Every name a query rendered from ``sql`` could read a column by (a superset: every word of the text,
    comments and strings included, and what the renderer adds), or None when that cannot be told from the text:
    a ``*`` other than ``COUNT(*)`` (a comment's or a product's included), a ``NATURAL`` join, or an identifier
    that could be spelt with escapes (``U&"..."``) or outside ASCII.

    >>> sorted(columns_read("SELECT metric_name, COUNT(*) FROM sagemaker_metrics", window_bounded=False))[:3]
    ['account_id', 'count', 'day']
    >>> columns_read("SELECT * FROM sagemaker_metrics", window_bounded=False) is None
    True
    """
    text = sql.lower()
    if not text.isascii() or "u&" in text or "*" in _COUNT_STAR.sub("", text):
        return None
    words = frozenset(_WORD.findall(text))
    if "natural" in words:
        return None
    return words | _RENDERER_READS | ({"event_time"} if window_bounded else frozenset())
