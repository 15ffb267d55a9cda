"""Remembered settings: named profiles in a TOML file, and the order in which a setting's sources win.

A setting comes from, first to last: a flag on the command line, its ``SMTRAIL_*`` environment variable, the
config profile (``--config-profile NAME`` / ``SMTRAIL_CONFIG_PROFILE``, else ``[default]``), the deployed table
(its log location and projected partitions, read from the catalog), the built-in default. The file::

    [default]
    bucket = "my-trail-bucket"
    accounts = ["123456789012", "210987654321"]   # or "123456789012,210987654321"
    regions = "us-east-1,eu-west-1"
    workgroup = "primary"

    [prod]
    bucket = "prod-trail-bucket"
    aws_profile = "prod"                           # the AWS profile (--profile); not the config profile

lives at ``$SMTRAIL_CONFIG_FILE``, else ``$XDG_CONFIG_HOME/smtrail-sql/config.toml``, else
``~/.config/smtrail-sql/config.toml`` (``%APPDATA%\\smtrail-sql\\config.toml`` on Windows).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from smtrail_sql.errors import SettingError

CONFIG_FILE_VARIABLE: Final = "SMTRAIL_CONFIG_FILE"
CONFIG_PROFILE_VARIABLE: Final = "SMTRAIL_CONFIG_PROFILE"
DEFAULT_PROFILE: Final = "default"


@dataclass(frozen=True)
class Setting:
    """One remembered setting: its key in the file, the command option it feeds and its environment variable."""

    key: str
    param: str
    help: str
    #: Whether the deployed table can supply it (its log location and projected partitions).
    from_table: bool = False

    @property
    def option(self) -> str:
        return "--" + self.param.replace("_", "-")

    @property
    def variable(self) -> str:
        return "SMTRAIL_" + self.param.upper()


#: Every setting the file may hold, in the order ``config show`` lists them.
SETTINGS: Final = (
    Setting("bucket", "bucket", "the trail's S3 bucket", from_table=True),
    Setting("prefix", "prefix", "key prefix above AWSLogs/", from_table=True),
    Setting("org_id", "org_id", "organisation id of an organisation trail", from_table=True),
    Setting("accounts", "accounts", "accounts the table projects", from_table=True),
    Setting("regions", "regions", "regions the table projects", from_table=True),
    Setting("start_date", "start_date", "first delivery day the table projects", from_table=True),
    Setting("database", "database", "Athena database"),
    Setting("table", "table", "the CloudTrail table"),
    Setting("view", "view", "the metric-point view"),
    Setting("catalog", "catalog", "Athena data catalog"),
    Setting("store_location", "store_location", "S3 folder of the metric store"),
    Setting("workgroup", "workgroup", "Athena workgroup"),
    Setting("output_location", "output_location", "s3:// folder of Athena's results"),
    Setting("region", "region", "AWS region"),
    Setting("aws_profile", "profile", "AWS profile"),
    Setting("engine", "engine", "local or athena"),
    Setting("logs", "logs", "folder of log files for the local engine"),
    Setting("delivery_lag", "delivery_lag", "how late a log file may be delivered"),
    Setting("max_scan", "max_scan", "largest scan to run on Athena"),
)
_BY_KEY: Final = {s.key: s for s in SETTINGS}
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def setting(key: str) -> Setting:
    """The setting called ``key`` (``-`` and ``_`` alike); an unknown one is a :class:`SettingError` that
    suggests the closest key."""
    found = _BY_KEY.get(key.strip().replace("-", "_"))
    if found is None:
        import difflib

        close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SettingError("config key", key, f"{hint}one of {', '.join(_BY_KEY)}")
    return found


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is (it need not exist).

    >>> config_path({"SMTRAIL_CONFIG_FILE": "/etc/smtrail.toml"})
    PosixPath('/etc/smtrail.toml')
    """
    env = os.environ if environ is None else environ
    if env.get(CONFIG_FILE_VARIABLE):
        return Path(env[CONFIG_FILE_VARIABLE]).expanduser()
    if os.name == "nt" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "smtrail-sql" / "config.toml"
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "smtrail-sql" / "config.toml"


@dataclass(frozen=True)
class ConfigFile:
    """The profiles of a config file (none when it does not exist), each a mapping of setting key -> text."""

    path: Path
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> ConfigFile:
        """Read and check the file: TOML tables of known keys, values strings (lists of strings for accounts
        and regions). Errors name the file, and the line for bad TOML."""
        path = config_path() if path is None else path
        if not path.is_file():
            return cls(path)
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise SettingError(f"config file {path}", "", f"valid TOML ({error})") from None
        profiles: dict[str, dict[str, str]] = {}
        for name, table in data.items():
            if not isinstance(table, dict):
                raise SettingError(f"config file {path}", name, "settings inside [profile] tables, such as "
                                   f"[{DEFAULT_PROFILE}]")
            profiles[name] = {setting(key).key: _text(path, name, key, value) for key, value in table.items()}
        return cls(path, profiles)

    def profile(self, name: str | None) -> dict[str, str]:
        """The settings of profile ``name`` (None: ``[default]``, empty when absent). A profile named on
        purpose must exist."""
        if name is None or not name.strip():
            return dict(self.profiles.get(DEFAULT_PROFILE, {}))
        if name not in self.profiles:
            known = ", ".join(self.profiles) or "none"
            raise SettingError("config profile", name, f"a profile of {self.path} (there: {known})")
        return dict(self.profiles[name])


def _text(path: Path, profile: str, key: str, value: object) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise SettingError(f"{key} in [{profile}] of {path}", value, "a string (or a list of strings)")


def default_map(values: Mapping[str, str]) -> dict[str, str]:
    """A profile's settings as option defaults: parameter name -> value (``aws_profile`` feeds ``profile``).

    >>> default_map({"aws_profile": "prod", "bucket": "trail-logs"})
    {'profile': 'prod', 'bucket': 'trail-logs'}
    """
    return {setting(key).param: value for key, value in values.items()}


@dataclass(frozen=True)
class Resolved:
    """A setting's value and where it came from: ``flag``, ``environment``, ``profile NAME``, ``deployed table``
    or ``default``."""

    setting: Setting
    value: str | None
    source: str


def resolve(
    flags: Mapping[str, str | None],
    environ: Mapping[str, str],
    profile: Mapping[str, str],
    profile_name: str | None = None,
    table: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> list[Resolved]:
    """Every setting's value by precedence: flag > environment > config profile > deployed table > default.

    ``flags`` and ``defaults`` are keyed by parameter name, ``profile`` and ``table`` by setting key.

    >>> [r.source for r in resolve({"bucket": "a"}, {"SMTRAIL_REGIONS": "us-east-1"}, {"accounts": "1"})][:5]
    ['flag', 'default', 'default', 'profile default', 'environment']
    >>> [r.value for r in resolve({}, {}, {"accounts": "1"})][3]
    '1'
    """
    found: list[Resolved] = []
    label = f"profile {profile_name or DEFAULT_PROFILE}"
    for item in SETTINGS:
        layers = (
            ("flag", flags.get(item.param)),
            ("environment", environ.get(item.variable) or None),
            (label, profile.get(item.key)),
            ("deployed table", (table or {}).get(item.key) if item.from_table else None),
            ("default", (defaults or {}).get(item.param)),
        )
        source, value = next(((s, v) for s, v in layers if v is not None), ("default", None))
        found.append(Resolved(item, value, source))
    return found


def built_in_defaults() -> dict[str, str]:
    """The defaults the commands use when nothing else gives a setting, by parameter name (the others have
    none, or one that depends on the environment: the AWS region and profile, the engine)."""
    from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE, DEFAULT_START_DATE, DEFAULT_TABLE
    from smtrail_sql.window import DEFAULT_DELIVERY_LAG

    return {"database": DEFAULT_DATABASE, "table": DEFAULT_TABLE, "view": "sagemaker_metrics",
            "catalog": DEFAULT_CATALOG, "start_date": DEFAULT_START_DATE.isoformat(),
            "delivery_lag": f"{DEFAULT_DELIVERY_LAG.days}d"}


def check_value(key: str, value: str) -> str:
    """``value`` checked as the setting ``key`` takes it (a bad one is a :class:`SettingError`), as written.

    >>> check_value("regions", "us-east-1,eu-west-1")
    'us-east-1,eu-west-1'
    """
    from smtrail_sql import settings as rules
    from smtrail_sql.window import parse_delivery_lag

    item = setting(key)
    checks: dict[str, Callable[[str], object]] = {
        "bucket": rules.validate_bucket, "prefix": rules.validate_prefix, "org_id": rules.validate_org_id,
        "accounts": rules.validate_accounts, "regions": rules.validate_regions,
        "start_date": rules.validate_start_date, "catalog": rules.validate_catalog,
        "store_location": lambda v: rules.validate_s3_folder("store location", v),
        "delivery_lag": parse_delivery_lag,
        "database": lambda v: rules.validate_identifier("database", v),
        "table": lambda v: rules.validate_identifier("table", v),
        "view": lambda v: rules.validate_identifier("view", v),
    }
    check = checks.get(item.key)
    if check is not None:
        check(value)
    return value


def set_value(path: Path, profile: str, key: str, value: str | None) -> ConfigFile:
    """Write ``key = value`` into ``[profile]`` of the file (``None``: remove the key), keeping every other
    profile and key; the file is rewritten (comments are not kept). Returns the file as written."""
    name = profile or DEFAULT_PROFILE
    if not _PROFILE_NAME.match(name):
        raise SettingError("config profile", name, "1-64 letters, digits, '_' or '-'")
    item = setting(key)
    if value is not None:
        check_value(item.key, value)
    current = ConfigFile.load(path)
    profiles = {n: dict(v) for n, v in current.profiles.items()}
    table = profiles.setdefault(name, {})
    if value is None:
        table.pop(item.key, None)
    else:
        table[item.key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for profile_name, values in profiles.items():
        lines.append(f"[{profile_name}]")
        lines.extend(f"{k} = {_toml_string(v)}" for k, v in values.items())
        lines.append("")
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("\n".join(lines), encoding="utf-8")
    temporary.replace(path)
    return ConfigFile.load(path)


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    import json

    return json.dumps(value, ensure_ascii=False)
