"""Documentation the tests hold us to: every command has help with an example and is in the README; the
README's quick start runs; shell completion works; importing the package stays light."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from smtrail_sql.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: Libraries that must not load on `import smtrail_sql` or `smtrail-sql --help` (start-up time).
HEAVY_MODULES = ("duckdb", "pyarrow", "boto3", "botocore", "pyathena", "matplotlib", "rich", "pandas",
                 "numpy", "sqlglot", "msgspec", "isal",
                 "importlib.metadata",  # 0.04 s, for __version__
                 "pydantic")  # typer >= 0.29 imports it for every command (0.09 s): pyproject caps typer


def all_commands() -> list[tuple[str, Any]]:
    """Every leaf command of the CLI as (``"sub sub"`` path, click command), walking groups.

    Typer vendors its own click, so groups are recognised by their ``commands``, not by class.
    """
    root = typer.main.get_command(app)
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", root)
    return found


COMMANDS = all_commands()


def test_the_cli_has_commands() -> None:
    assert len(COMMANDS) >= 5
    assert "plot" in {path for path, _ in COMMANDS}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path: str, command: Any) -> None:
    result = CliRunner().invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert (command.help or "").strip(), f"`smtrail-sql {path}` has no help text"
    examples = [line.strip() for line in result.output.splitlines() if line.strip().startswith("Example:")]
    assert examples, f"`smtrail-sql {path} --help` shows no 'Example:' line"
    # the example is one unwrapped line that runs this very command
    assert any(e.startswith(f"Example: smtrail-sql {path}") for e in examples), (
        f"the example of `smtrail-sql {path}` should start with 'smtrail-sql {path}' on one line "
        f"(put \\b before it so click does not rewrap it): {examples}"
    )


def test_every_command_is_in_the_readme() -> None:
    assert README.is_file(), f"{README} is missing: it must document every command"
    text = README.read_text(encoding="utf-8")
    missing = [path for path, _ in COMMANDS if not re.search(rf"smtrail-sql {re.escape(path)}\b", text)]
    assert not missing, "commands not documented in README.md (no `smtrail-sql NAME` example): " + ", ".join(
        missing)


def test_readme_documents_the_output_formats_and_completion() -> None:
    assert README.is_file(), f"{README} is missing"
    text = README.read_text(encoding="utf-8")
    from smtrail_sql.output import FORMATS

    assert not [f for f in FORMATS if f not in text], "README.md should name every output format"
    assert "--install-completion" in text, "README.md should say how to install shell completion"


# -- quick start -------------------------------------------------------------------------------------------


def quick_start_commands() -> list[list[str]]:
    """The arguments of every ``smtrail-sql`` call (``.venv/bin/smtrail-sql`` too, ``&&`` chains split) in
    the README's quick-start section, in order."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^#+ *Quick ?start.*?$(.*?)(?=^## |\Z)", text, re.S | re.M | re.I)
    assert section, "README.md has no 'Quick start' section"
    commands = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", section.group(1), re.S):
        for line in block.splitlines():
            for part in line.strip().removeprefix("$ ").split("&&"):
                words = shlex.split(part)
                if words and Path(words[0]).name == "smtrail-sql":
                    commands.append(words[1:])
    return commands


@pytest.mark.slow
def test_readme_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not README.is_file():
        pytest.fail(f"{README} is missing")
    commands = quick_start_commands()
    assert commands, "the README's quick start shows no smtrail-sql command"
    monkeypatch.chdir(tmp_path)  # the demo writes ./smtrail-demo, and the next commands read it
    runner = CliRunner()
    for args in commands:
        result = runner.invoke(app, args)
        shown = shlex.join(["smtrail-sql", *args])
        assert result.exit_code == 0, f"README quick start `{shown}` failed:\n{result.output}"


# -- completion and start-up -------------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script: completion keys on the program name ``smtrail-sql``."""
    script = Path(sys.executable).with_name("smtrail-sql")
    if not script.exists():
        pytest.skip(f"the smtrail-sql console script is not installed beside {sys.executable}")
    return subprocess.run([str(script), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60, check=False)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion(shell: str) -> None:
    done = _cli("--show-completion", shell)
    assert done.returncode == 0, done.stderr
    assert "_SMTRAIL_SQL_COMPLETE" in done.stdout


def test_install_completion_writes_the_script(tmp_path: Path) -> None:
    done = _cli("--install-completion", "bash", env={"HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "smtrail-sql" in (tmp_path / ".bashrc").read_text()
    assert any(tmp_path.glob(".bash_completions/*"))


def test_completion_completes_command_names() -> None:
    done = _cli(env={"_SMTRAIL_SQL_COMPLETE": "complete_bash", "COMP_WORDS": "smtrail-sql pl",
                     "COMP_CWORD": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plot"]


def test_import_stays_light() -> None:
    code = ("import sys, smtrail_sql, smtrail_sql.cli; "
            f"print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=60)
    assert done.stdout.strip() == "", f"importing smtrail_sql loads heavy modules: {done.stdout.strip()}"


def test_a_command_starts_without_pydantic() -> None:
    """typer >= 0.29 imports pydantic when a command runs (0.09 s on every start): pyproject caps it."""
    code = ("import sys\nfrom smtrail_sql.cli import main\nsys.argv = ['smtrail-sql', 'queries']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('pydantic' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "metric-summary" in done.stdout, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("argv", [["queries"], ["show", "runs"], ["render", "runs", "--all-time"]],
                         ids=["queries", "show", "render"])
def test_the_template_commands_load_no_engine_library(argv: list[str]) -> None:
    """Listing, describing and rendering go through the Toolkit without loading an engine's libraries."""
    engines = ("duckdb", "pyarrow", "boto3", "botocore", "pyathena", "matplotlib", "pandas")
    code = (f"import sys\nfrom smtrail_sql.cli import main\nsys.argv = ['smtrail-sql', *{argv!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(' '.join(m for m in {engines!r} if m in sys.modules) or '-', file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "runs" in done.stdout, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "-"


def test_public_api_resolves_lazily() -> None:
    import smtrail_sql

    for name in smtrail_sql.__all__:
        assert getattr(smtrail_sql, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        smtrail_sql.nope  # noqa: B018
