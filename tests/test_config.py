"""Remembered settings: the config file and its profiles, the precedence of a setting's sources (in the library
and as the commands get them), ``config show/set/unset``, and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
import typer
from typer.testing import CliRunner

from smtrail_sql import config
from smtrail_sql.cli import app
from smtrail_sql.errors import SettingError

PROFILES = """\
[default]
bucket = "trail-logs"
accounts = ["111111111111", "222222222222"]
database = "from_default"

[prod]
database = "from_prod"
aws-profile = "prod-admin"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file with two profiles, and an environment without SMTRAIL_* settings."""
    for name in list(os.environ):
        if name.startswith("SMTRAIL_") and name != "SMTRAIL_CACHE_DIR":
            monkeypatch.delenv(name)
    path = tmp_path / "config.toml"
    path.write_text(PROFILES, encoding="utf-8")
    monkeypatch.setenv("SMTRAIL_CONFIG_FILE", str(path))
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


# -- the file ----------------------------------------------------------------------------------------------


def test_the_file_is_read_into_profiles(config_file: Path) -> None:
    loaded = config.ConfigFile.load()
    assert loaded.path == config_file
    assert loaded.profile(None) == {"bucket": "trail-logs", "accounts": "111111111111,222222222222",
                                    "database": "from_default"}
    assert loaded.profile("prod") == {"database": "from_prod", "aws_profile": "prod-admin"}  # '-' or '_'
    assert config.default_map(loaded.profile("prod")) == {"database": "from_prod", "profile": "prod-admin"}


def test_no_file_is_no_setting(tmp_path: Path) -> None:
    loaded = config.ConfigFile.load(tmp_path / "missing.toml")
    assert (loaded.profiles, loaded.profile(None)) == ({}, {})
    with pytest.raises(SettingError, match="invalid config profile 'prod': a profile of .* \\(there: none\\)"):
        loaded.profile("prod")


@pytest.mark.parametrize(("text", "message"), [
    ('[default]\nbuckt = "x"\n', "invalid config key 'buckt': did you mean bucket?"),
    ("[default]\nbucket = \n", r"invalid config file .*config.toml '': valid TOML \(.*line 2"),
    ('bucket = "x"\n', "settings inside \\[profile\\] tables"),
    ("[default]\nregions = 3.5\n", "invalid regions in \\[default\\] of .*: a string"),
])
def test_a_bad_file_names_itself(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingError, match=message):
        config.ConfigFile.load(path)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"SMTRAIL_CONFIG_FILE": "/etc/smtrail.toml", "XDG_CONFIG_HOME": "/x"}, Path("/etc/smtrail.toml")),
    ({"XDG_CONFIG_HOME": "/x"}, Path("/x/smtrail-sql/config.toml")),
    ({}, Path.home() / ".config" / "smtrail-sql" / "config.toml"),
])
def test_where_the_file_is(environ: dict[str, str], expected: Path) -> None:
    assert config.config_path(environ) == expected


def test_set_and_unset_keep_the_rest(config_file: Path) -> None:
    written = config.set_value(config_file, "staging", "regions", "us-east-1,eu-west-1")
    assert written.profile("staging") == {"regions": "us-east-1,eu-west-1"}
    assert written.profile("prod") == {"database": "from_prod", "aws_profile": "prod-admin"}
    assert written.profile(None)["accounts"] == "111111111111,222222222222"
    assert config.set_value(config_file, "default", "bucket", None).profile(None).get("bucket") is None
    with pytest.raises(SettingError, match="invalid account '12'"):
        config.set_value(config_file, "default", "accounts", "12")
    with pytest.raises(SettingError, match="invalid config profile 'a b'"):
        config.set_value(config_file, "a b", "bucket", "trail-logs")
    assert config.ConfigFile.load(config_file).profile(None).get("accounts") == "111111111111,222222222222"


# -- precedence ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "environ", "profile", "table", "value", "source"), [
    ({"bucket": "f-bucket"}, {"SMTRAIL_BUCKET": "e-bucket"}, {"bucket": "p-bucket"}, {"bucket": "t-bucket"},
     "f-bucket", "flag"),
    ({}, {"SMTRAIL_BUCKET": "e-bucket"}, {"bucket": "p-bucket"}, {"bucket": "t-bucket"}, "e-bucket", "environment"),
    ({}, {"SMTRAIL_BUCKET": ""}, {"bucket": "p-bucket"}, {"bucket": "t-bucket"}, "p-bucket", "profile prod"),
    ({}, {}, {}, {"bucket": "t-bucket"}, "t-bucket", "deployed table"),
    ({}, {}, {}, {}, None, "default"),
])
def test_precedence(flags: dict[str, str], environ: dict[str, str], profile: dict[str, str], table: dict[str, str],
                    value: str | None, source: str) -> None:
    resolved = {r.setting.key: r for r in config.resolve(flags, environ, profile, "prod", table)}
    assert (resolved["bucket"].value, resolved["bucket"].source) == (value, source)


def test_only_the_location_comes_from_the_table() -> None:
    resolved = {r.setting.key: r for r in config.resolve({}, {}, {}, None, {"database": "t", "regions": "us-east-1"},
                                                         config.built_in_defaults())}
    assert (resolved["regions"].value, resolved["regions"].source) == ("us-east-1", "deployed table")
    assert (resolved["database"].value, resolved["database"].source) == ("smtrail", "default")


@pytest.mark.parametrize(("args", "env", "database"), [
    (["--database", "from_flag"], {"SMTRAIL_DATABASE": "from_env"}, "from_flag"),
    ([], {"SMTRAIL_DATABASE": "from_env"}, "from_env"),
    ([], {}, "from_default"),
    (["--config-profile", "prod"], {}, "from_prod"),
    ([], {"SMTRAIL_CONFIG_PROFILE": "prod"}, "from_prod"),
])
def test_the_commands_get_the_same_precedence(config_file: Path, args: list[str], env: dict[str, str],
                                              database: str) -> None:
    """What a command uses is what `config show` says, and where it says it comes from."""
    root = args if args[:1] == ["--config-profile"] else []
    command = [] if root else args
    code, out = invoke(*root, "render", "runs", "--all-time", *command, env=env)
    assert code == 0, out
    assert f"FROM {database}.sagemaker_metrics" in out
    code, out = invoke(*root, "config", "show", *command, env=env)
    assert code == 0, out
    line = next(line for line in out.splitlines() if line.startswith("database "))
    expected = {"from_flag": "flag", "from_env": "environment", "from_default": "profile default",
                "from_prod": "profile prod"}[database]
    assert line.split() == ["database", database, *expected.split()]


def test_config_show_lists_every_setting_and_the_file(config_file: Path) -> None:
    code, out = invoke("config")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"config file: {config_file}"
    assert lines[1] == "profiles: default, prod; using default"
    shown = {line.split()[0]: line.split(maxsplit=2)[1:] for line in lines[2:]}
    assert list(shown) == [s.key for s in config.SETTINGS]
    assert shown["accounts"] == ["111111111111,222222222222", "profile default"]
    assert shown["table"] == ["cloudtrail_events", "default"]
    assert shown["prefix"] == ["-", "default"]


def test_config_set_through_the_cli(config_file: Path) -> None:
    code, out = invoke("--config-profile", "prod", "config", "set", "workgroup", "analysts")
    assert (code, out.strip()) == (0, f"workgroup = analysts in [prod] of {config_file}")
    code, out = invoke("config", "unset", "bucket")
    assert code == 0 and "bucket removed from [default]" in out
    loaded = config.ConfigFile.load()
    assert loaded.profile("prod")["workgroup"] == "analysts" and "bucket" not in loaded.profile(None)


def test_a_bad_profile_is_one_line_and_exit_2(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from smtrail_sql.cli import main

    argv = sys.argv
    sys.argv = ["smtrail-sql", "--config-profile", "nope", "queries"]
    try:
        with pytest.raises(SystemExit) as done:
            main()
    finally:
        sys.argv = argv
    assert done.value.code == 2
    assert capsys.readouterr().err.strip() == (f"error: invalid config profile 'nope': a profile of {config_file} "
                                               "(there: default, prod)")


# -- completion -----------------------------------------------------------------------------------------------


def _context(*args: str) -> typer.Context:
    """The context click's completion hands a function after ``smtrail-sql ARGS``."""
    import typer.main
    from typer._click.shell_completion import _resolve_context

    return cast(typer.Context, _resolve_context(typer.main.get_command(app), {}, "smtrail-sql", list(args)))


def test_completion_functions() -> None:
    from smtrail_sql.cli.options import complete_format, complete_param, complete_query_name

    names = [name for name, _ in complete_query_name(_context("run"), "metric-")]
    assert names == ["metric-curves", "metric-history", "metric-summary"]
    keys = [key for key, _ in complete_param(_context("run", "metric-history", "-p"), "")]
    assert keys and all(key.endswith("=") for key in keys) and "metrics=" in keys
    assert complete_param(_context("run", "metric-history", "-p"), "metrics=") == []
    assert complete_param(_context("run", "-p"), "") == []
    assert complete_format("j") == ["json", "jsonl"]


@pytest.mark.parametrize(("words", "expected"), [
    ("smtrail-sql run metric-h", ["metric-history"]),
    ("smtrail-sql estimate compare-", ["compare-runs"]),
    ("smtrail-sql run compare-runs -p lower", ["lower_is_better="]),
    ("smtrail-sql run runs --format mark", ["markdown"]),
    ("smtrail-sql --config-profile pr", ["prod"]),
])
def test_completion_through_the_shell_protocol(config_file: Path, words: str, expected: list[str]) -> None:
    script = Path(sys.executable).with_name("smtrail-sql")
    if not script.exists():
        pytest.skip(f"the smtrail-sql console script is not installed beside {sys.executable}")
    env = {**os.environ, "_SMTRAIL_SQL_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1)}
    done = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected
