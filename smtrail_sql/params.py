"""Typed template parameters: declaration, coercion of user input, and conversion to SQL literals.

A value never becomes SQL text by string formatting: :func:`to_literal` builds a sqlglot literal node, and
the generator quotes and escapes it for the target dialect.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import ParameterError, RenamedWarning
from smtrail_sql.settings import split_commas
from smtrail_sql.spelling import parameter_hint
from smtrail_sql.window import naive_utc, parse_time

if TYPE_CHECKING:
    from sqlglot import exp

#: Scalar types a parameter may declare; ``list[T]`` of any of them (but bool and glob) is a list parameter.
SCALAR_TYPES = ("str", "int", "float", "bool", "timestamp", "date", "glob")
PARAM_TYPES = SCALAR_TYPES + tuple(f"list[{t}]" for t in SCALAR_TYPES if t not in ("bool", "glob"))
#: Parameter names of earlier releases, still accepted (with a :class:`RenamedWarning`) where a template declares
#: the new name: old -> new. Accepted until the release after 0.2.
RENAMED_PARAMS = {
    "trial_component": "trial_components",
    "metric": "metrics",
    "max_points": "limit",
    "trial_component_like": "trial_component_glob",
    "accounts": "account_ids",
    "regions": "region_codes",
}

_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "timestamp": "an ISO datetime, an age such as 7d, or a datetime, date or timedelta",
    "date": "an ISO date such as 2024-05-01",
    "glob": "a name or a pattern such as resnet* (* any characters, ? one)",
}
#: An int parameter is a BIGINT literal on every engine: Athena and DuckDB refuse a wider one, or read it as
#: DECIMAL/INT128 and fail later, far from the ``-p`` that gave it.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class ParamSpec:
    """A declared parameter: ``-- param: NAME TYPE required|optional|= DEFAULT  help``."""

    name: str
    type: str
    required: bool
    default: Any = None
    help: str = ""

    @property
    def is_list(self) -> bool:
        """Whether the parameter takes a list (rendered as ``IN (...)``)."""
        return self.type.startswith("list[")

    @property
    def scalar_type(self) -> str:
        """The element type of a list, or the type itself."""
        return self.type[5:-1] if self.is_list else self.type

    def describe(self) -> str:
        """A short human description: type, and required or the default."""
        if self.required:
            return f"{self.type}, required"
        if self.default is None:
            return f"{self.type}, optional"
        return f"{self.type}, default {format_value(self.default)}"

    def coerce(self, value: Any) -> Any:
        """Turn a CLI string or a Python value into the declared type, or raise :class:`ParameterError`."""
        if value is None:
            return None
        if self.is_list:
            items: Iterable[Any]
            if isinstance(value, str):
                items = split_commas(value)
            elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
                items = list(value)
            else:
                items = [value]
            coerced = [_coerce_scalar(self.name, self.scalar_type, item) for item in items]
            if not coerced:
                raise ParameterError(f"parameter {self.name!r} expects a non-empty list ({self.type})")
            return coerced
        return _coerce_scalar(self.name, self.type, value)


def _coerce_scalar(name: str, type_: str, value: Any) -> Any:
    def wrong() -> ParameterError:
        return ParameterError(f"parameter {name!r} expects {_TYPE_WORDS[type_]}, got {value!r}")

    if type_ in ("str", "glob"):
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise wrong()
    if type_ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise wrong()
    if type_ == "int":
        if isinstance(value, bool):
            raise wrong()
        if isinstance(value, int):
            integer = value
        elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            integer = int(value)
        else:
            raise wrong()
        if not BIGINT_MIN <= integer <= BIGINT_MAX:
            raise ParameterError(f"parameter {name!r} expects an integer from {BIGINT_MIN} to {BIGINT_MAX} "
                                 f"(BIGINT), got {value!r}")
        return integer
    if type_ == "float":
        if isinstance(value, bool):
            raise wrong()
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):  # (an int too large for a float)
            raise wrong() from None
        if not math.isfinite(number):
            # Athena (Trino) has no literal for them: only nan() and infinity(), which no template expects
            raise ParameterError(f"parameter {name!r} expects a finite number (Athena SQL has no literal for "
                                 f"NaN or infinity), got {value!r}")
        return number
    if type_ == "timestamp":
        if isinstance(value, str | datetime | date | timedelta):
            return parse_time(value, setting=f"parameter {name!r}")
        raise wrong()
    if type_ == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise wrong() from None
        raise wrong()
    raise ParameterError(f"parameter {name!r} has unknown type {type_!r}")  # pragma: no cover


def format_value(value: Any) -> str:
    """How a value is shown to a person (not SQL)."""
    if isinstance(value, list):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def timestamp_literal(moment: datetime) -> exp.Expr:
    """A ``TIMESTAMP`` literal of a UTC instant (naive in SQL: Athena's session zone is UTC)."""
    from sqlglot import exp

    text = naive_utc(moment).isoformat(sep=" ", timespec="milliseconds")
    return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))


def to_literal(type_: str, value: Any) -> exp.Expr:
    """The sqlglot literal of a coerced scalar value of the given type."""
    from sqlglot import exp

    if type_ == "str":
        return exp.Literal.string(value)
    if type_ == "glob":
        return exp.Literal.string(glob_to_like(value))
    if type_ in ("int", "float"):
        return exp.Literal.number(repr(value) if isinstance(value, float) else value)
    if type_ == "bool":
        return exp.Boolean(this=bool(value))
    if type_ == "timestamp":
        return timestamp_literal(value)
    if type_ == "date":
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    raise ParameterError(f"cannot render a value of type {type_!r}")  # pragma: no cover


#: The escape character of the LIKE patterns globs become: a template writes ``LIKE :name ESCAPE '\\'``.
LIKE_ESCAPE = "\\"


def glob_to_like(pattern: str) -> str:
    """A shell-style glob (``*`` any characters, ``?`` one) as a LIKE pattern escaped with :data:`LIKE_ESCAPE`:
    ``%`` and ``_`` in the glob match themselves.

    >>> glob_to_like("resnet*-job?"), glob_to_like("50%_off")
    ('resnet%-job_', '50\\\\%\\\\_off')
    """
    out = []
    for char in pattern:
        if char in (LIKE_ESCAPE, "%", "_"):
            out.append(LIKE_ESCAPE + char)
        else:
            out.append({"*": "%", "?": "_"}.get(char, char))
    return "".join(out)


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (no escape character) as a glob, for the renamed ``*_like`` parameters.

    >>> like_to_glob("%training_job%")
    '*training?job*'
    """
    return pattern.replace("%", "*").replace("_", "?")


def renamed(specs: Mapping[str, ParamSpec], values: Mapping[str, Any], *, query: str) -> dict[str, Any]:
    """``values`` with the old names of :data:`RENAMED_PARAMS` given their new names (where ``specs`` declares
    the new one and not the old), each with a :class:`RenamedWarning`.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     renamed({"metrics": ParamSpec("metrics", "list[str]", False)}, {"metric": "loss"}, query="q")
    {'metrics': 'loss'}
    """
    out = dict(values)
    for old, value in values.items():
        new = RENAMED_PARAMS.get(old)
        if old in specs or new is None or new not in specs:
            continue
        if new in values:
            raise ParameterError(f"parameter {old!r} is the old name of {new!r}: give only {new!r}")
        del out[old]
        out[new] = like_to_glob(value) if old.endswith("_like") and isinstance(value, str) else value
        warnings.warn(f"parameter {old!r} of {query} is now {new!r}; the old name is accepted until the next "
                      "release", RenamedWarning, stacklevel=4)
    return out


def parse_assignments(assignments: Iterable[str] | None) -> dict[str, str]:
    """Parse ``key=value`` strings from ``-p``; lists stay comma-separated strings until coerced.

    >>> parse_assignments(["metric=loss", "trial_components=a,b"])
    {'metric': 'loss', 'trial_components': 'a,b'}
    """
    values: dict[str, str] = {}
    for assignment in assignments or ():
        key, sep, value = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not _NAME.match(key):
            raise ParameterError(f"parameter {assignment!r} is not of the form key=value")
        if key in values:
            raise ParameterError(f"parameter {key!r} is given twice")
        values[key] = value
    return values


def bind(specs: Mapping[str, ParamSpec], values: Mapping[str, Any], *, query: str) -> dict[str, Any]:
    """Check values against the declarations and return every parameter's coerced value (None if unset).

    Unknown, missing and mistyped parameters are :class:`ParameterError` naming what is valid; the old names of
    :data:`RENAMED_PARAMS` are accepted with a warning.
    """
    values = renamed(specs, values, query=query)
    unknown = sorted(set(values) - set(specs))
    if unknown:
        valid = ", ".join(f"{s.name} ({s.describe()})" for s in specs.values()) or "none"
        raise ParameterError(f"unknown parameter {unknown[0]!r} for {query}; valid parameters: {valid}")
    bound: dict[str, Any] = {}
    for spec in specs.values():
        raw = values.get(spec.name)
        if raw is None or (isinstance(raw, str) and raw == "" and spec.type != "str"):
            if spec.required:
                raise ParameterError(
                    f"missing required parameter {spec.name!r} ({spec.type}) for {query}: "
                    f"pass {parameter_hint(spec.name)}" + (f" ({spec.help})" if spec.help else "")
                )
            bound[spec.name] = spec.default
        else:
            bound[spec.name] = spec.coerce(raw)
    return bound


def with_name_options(query: Any, values: dict[str, Any], trial_components: Sequence[str] | None,
                      metrics: Sequence[str] | None) -> dict[str, Any]:
    """The ``-p`` values with ``-t``/``-m`` given as the query's ``trial_components``/``metrics`` parameters
    (``query``: its :class:`~smtrail_sql.query_info.QueryInfo`); a query without them, or the same parameter
    given both ways, is a :class:`ParameterError`."""
    from smtrail_sql.settings import split_commas

    declared = {param.name for param in query.params}
    for option, key, given in (("-t/--trial-component", "trial_components", trial_components),
                               ("-m/--metric", "metrics", metrics)):
        if not given:
            continue
        if key not in declared:
            raise ParameterError(f"{option} sets the {key} parameter, which {query.name} does not take; its "
                                 f"parameters: {', '.join(sorted(declared)) or 'none'}")
        if key in values:
            raise ParameterError(f"{option} and -p {key}= both give {key}: use one")
        values[key] = split_commas(given)
    return values
