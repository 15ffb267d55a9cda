"""``smtrail-sql plot`` through the installed command: PNG files, terminal text, one-line errors."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.events import TRIAL_COMPONENT


def script() -> Path:
    path = Path(sys.executable).with_name("smtrail-sql")
    if not path.exists():
        pytest.skip(f"the smtrail-sql console script is not installed beside {sys.executable}")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTRAIL_") or k == "SMTRAIL_CACHE_DIR"}
    env.pop("NO_COLOR", None)
    return {**env, **extra}


def smtrail(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script()), *args], capture_output=True, text=True, cwd=cwd, env=clean_env(),
                          timeout=120, check=False)


def smtrail_on_a_terminal(*args: str, **env: str) -> str:
    """What the command writes to stdout when stdout is a terminal (a pseudo-terminal, 100 columns)."""
    pty = pytest.importorskip("pty")
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(script()), *args], stdout=terminal, stderr=subprocess.DEVNULL,
                               env=clean_env(COLUMNS="100", **env))
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-t", "a", "-m", "loss"], 2, "--logs is required with --engine local"),
        (["-t", "a", "-m", "loss", "--logs", ".", "-o", "curves.jpg"], 2, "a .png file"),
        (["-t", "a", "-m", "loss", "--logs", ".", "--engine", "duck"], 2, "local, athena"),
        (["-t", "a", "-m", "loss", "--logs", ".", "--x", "epoch"], 2, "step or time"),
    ],
)
def test_bad_options_are_one_clear_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    done = smtrail("plot", *args, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_plot_writes_a_png(metric_logs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    out = tmp_path / "curves.png"
    done = smtrail("plot", "-t", TRIAL_COMPONENT, "-t", "xgboost-aws-training-job", "-m", "train:loss",
                   "--logs", str(metric_logs[0]), "--all-time", "-o", str(out),
                   "--width", "800", "--height", "500")
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (800, 500)
    assert "2 curves" in done.stderr


def test_plot_draws_text_when_no_file_is_given(metric_logs: tuple[Path, list[Path]]) -> None:
    done = smtrail("plot", "-t", TRIAL_COMPONENT, "-m", "train:loss,train:accuracy", "--logs",
                   str(metric_logs[0]), "--all-time")
    assert done.returncode == 0, done.stderr
    assert "train:loss by step" in done.stdout and "train:accuracy by step" in done.stdout
    assert any(0x2800 <= ord(c) <= 0x28FF for c in done.stdout)
    assert "\x1b[" not in done.stdout  # not a terminal: no colour
    assert "without a step" in done.stderr  # the note goes to stderr


TWO_JOBS = ("-t", TRIAL_COMPONENT, "-t", "xgboost-aws-training-job", "-m", "train:loss", "--all-time")


def test_piped_text_tells_the_curves_apart_by_marker(metric_logs: tuple[Path, list[Path]]) -> None:
    from smtrail_sql.textplot import MARKERS

    done = smtrail("plot", *TWO_JOBS, "--logs", str(metric_logs[0]))
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout
    lines = done.stdout.splitlines()
    plotted = "".join(line.split("┤" if "┤" in line else "│", 1)[1] for line in lines if "┤" in line or "│" in line)
    assert {MARKERS[0], MARKERS[1]} <= set(plotted)
    assert lines[-1].split() == [MARKERS[0], TRIAL_COMPONENT, MARKERS[1], "xgboost-aws-training-job"]


@pytest.mark.parametrize("no_color", ["", "1"])
def test_a_terminal_gets_colour_unless_no_color(metric_logs: tuple[Path, list[Path]], no_color: str) -> None:
    from smtrail_sql.textplot import MARKERS

    shown = smtrail_on_a_terminal("plot", *TWO_JOBS, "--logs", str(metric_logs[0]), NO_COLOR=no_color)
    assert "train:loss by step" in shown
    if no_color:
        assert "\x1b[" not in shown
        assert shown.rstrip().splitlines()[-1].split()[::2] == [MARKERS[0], MARKERS[1]]
    else:
        assert "\x1b[34m" in shown and "\x1b[33m" in shown  # one colour per trial component, braille
        assert any(0x2800 <= ord(c) <= 0x28FF for c in shown)


@pytest.mark.parametrize(
    ("args", "says", "not_said"),
    [
        (["-t", TRIAL_COMPONENT, "-m", "train_loss"], "no metric train_loss in the window (did you mean train:loss?)",
         "trial component"),
        (["-t", TRIAL_COMPONENT[:-1], "-m", "train:loss"],
         f"no trial component {TRIAL_COMPONENT[:-1]} in the window (did you mean {TRIAL_COMPONENT}?)", "no metric"),
    ],
)
def test_a_typo_is_named_with_what_was_meant(metric_logs: tuple[Path, list[Path]], args: list[str], says: str,
                                             not_said: str) -> None:
    done = smtrail("plot", *args, "--logs", str(metric_logs[0]), "--all-time")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [f"note: {says}"]
    assert not_said not in says
    assert "no metric points for the trial components and metrics asked" in done.stdout
