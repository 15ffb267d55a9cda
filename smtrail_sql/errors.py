"""One hierarchy for every error the library raises.

The CLI turns any :class:`SmtrailError` into a one-line message and a non-zero exit code; the library never
prints and never exits.
"""

from __future__ import annotations


class SmtrailError(Exception):
    """Base class of every error smtrail-sql raises on purpose."""

    exit_code = 1


class SettingError(SmtrailError, ValueError):
    """A setting (bucket, account, region, name, date...) is invalid.

    ``setting`` names the offending setting, ``valid`` says what would be accepted.
    """

    exit_code = 2

    def __init__(self, setting: str, value: object, valid: str) -> None:
        self.setting = setting
        self.value = value
        self.valid = valid
        super().__init__(f"invalid {setting} {value!r}: {valid}")


class MissingSettingError(SettingError):
    """A setting that is needed was not given: names it and says what it is for."""

    def __init__(self, setting: str, needed: str) -> None:
        self.setting = setting
        self.value = None
        self.valid = needed
        Exception.__init__(self, f"{setting} is required {needed}")


class TemplateError(SmtrailError):
    """A SQL file (template or DDL) cannot be loaded or rendered: names the file and line.

    A usage error: the built-in files are tested, so the file at fault is one of the user's (``--queries-dir``).
    """

    exit_code = 2  # (a user's template is input like any other)

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


class AdHocQueryError(TemplateError):
    """Ad-hoc SQL (``smtrail-sql sql``) that is not one read-only query over the views, or does not parse:
    names the line of the SQL as given.

    >>> str(AdHocQueryError("DROP is refused", 2))
    'ad-hoc query, line 2: DROP is refused'
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.path = None
        self.line = line
        where = f"ad-hoc query, line {line}: " if line else "ad-hoc query: "
        SmtrailError.__init__(self, f"{where}{message}")


class UnknownQueryError(SmtrailError):
    """No template has that name."""

    exit_code = 2

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        super().__init__(f"unknown query {name!r}{hint}; known queries: {', '.join(known)}")


class ParameterError(SmtrailError, ValueError):
    """A query parameter is unknown, missing or of the wrong type."""

    exit_code = 2


class RenderError(SmtrailError):
    """A template could not be rendered into SQL."""


class EngineError(SmtrailError):
    """An engine failed to run a query."""


class LogReadError(SmtrailError):
    """A CloudTrail log file could not be read (raised only in strict mode)."""


class SelectorConversionError(EngineError):
    """A trail's existing selectors cannot be combined with the one smtrail-sql needs; nothing was changed."""


class BucketPolicyError(EngineError):
    """The S3 bucket's policy does not let CloudTrail write a trail's files; ``policy`` is what to add."""

    def __init__(self, message: str, policy: dict[str, object]) -> None:
        self.policy = policy
        super().__init__(message)


class MissingDependencyError(SmtrailError, ImportError):
    """An optional library the call needs is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        super().__init__(f"{module} is not installed: pip install 'smtrail-sql[{extra}]'")


class QueryFailedError(EngineError):
    """Athena reported the query FAILED or CANCELLED; carries Athena's reason."""

    def __init__(
        self,
        message: str,
        query_id: str | None = None,
        state: str | None = None,
        category: int | None = None,
        retryable: bool = False,
    ) -> None:
        self.query_id = query_id
        self.state = state
        self.category = category
        self.retryable = retryable
        super().__init__(message)


class RenamedWarning(FutureWarning):
    """A name that was renamed is still accepted for one release: the warning says the new one (the CLI prints
    it as one ``warning:`` line)."""
