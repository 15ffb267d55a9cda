"""Tables as a user sees them: the real ``smtrail-sql`` in a pseudo-terminal of 80, 100 and 120 columns.

Each run gets a pty for stdout (its width set with TIOCSWINSZ before the program starts) and a pipe for stderr,
so the table is laid out for a terminal while the notes can be read apart. Below them, the float formatting and
the column fitting, unit by unit.
"""

from __future__ import annotations

import csv
import fcntl
import io
import math
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from smtrail_sql.termtable import KEY_MIN_WIDTH, render_table
from smtrail_sql.values import display_dollars, display_number

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SCRIPT = Path(sys.executable).with_name("smtrail-sql")
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "smtrail_sql"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smtrail_sql.demo import write_sample_bucket

    root = tmp_path_factory.mktemp("demo")
    write_sample_bucket(root)
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    drop = {"COLUMNS", "LINES", "LESS", "SMTRAIL_PAGER", "SMTRAIL_ENGINE", "SMTRAIL_LOGS", "SMTRAIL_WORKGROUP",
            "SMTRAIL_OUTPUT_LOCATION", "AWS_ATHENA_S3_STAGING_DIR", "AWS_ATHENA_WORK_GROUP", "SMTRAIL_MAX_ROWS"}
    values = {k: v for k, v in os.environ.items() if k not in drop}
    values.update(PAGER="", TERM="xterm-256color", SMTRAIL_CACHE_DIR=str(tmp_path_factory.mktemp("cache")))
    return values


def in_terminal(args: list[str], columns: int, env: dict[str, str], **extra: str) -> tuple[list[str], str, int]:
    """Run ``smtrail-sql ARGS`` with stdout on a pty ``columns`` wide: its lines (colours taken out), stderr,
    and the exit code."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen([*COMMAND, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                               env={**env, **extra})
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the program closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=60)
    text = ANSI.sub("", b"".join(chunks).decode())
    return text.replace("\r\n", "\n").split("\n")[:-1], stderr, code


def table_rows(lines: list[str]) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]


def table_header(lines: list[str]) -> list[str]:
    return [cell.strip() for cell in next(x for x in lines if x.startswith("┃")).strip("┃").split("┃")]


@pytest.fixture(scope="module")
def summary_csv(demo: Path, env: dict[str, str]) -> list[dict[str, str]]:
    done = subprocess.run([*COMMAND, "run", "metric-summary", "--logs", str(demo), "--all-time", "-f", "csv"],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    return list(csv.DictReader(io.StringIO(done.stdout)))


def visible(cell: str, whole: set[str]) -> bool:
    """A key value is shown whole, or cut to at least KEY_MIN_WIDTH characters with ``…``."""
    if cell in whole:
        return True
    return cell.endswith("…") and len(cell) >= KEY_MIN_WIDTH and any(v.startswith(cell[:-1]) for v in whole)


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_metric_summary_fits_keeps_its_key_columns_and_caps_rows(
        demo: Path, env: dict[str, str], summary_csv: list[dict[str, str]], columns: int) -> None:
    lines, stderr, code = in_terminal(["run", "metric-summary", "--logs", str(demo), "--all-time"], columns, env)
    assert code == 0, stderr
    assert max(len(line) for line in lines) <= columns
    header = table_header(lines)
    assert header[:2] == ["trial_component", "metric_name"]
    rows = table_rows(lines)
    assert len(rows) == 41 and rows[20][0] == "…"  # 20 first, a gap, 20 last
    components = {r["trial_component"] for r in summary_csv}
    metrics = {r["metric_name"] for r in summary_csv}
    shown = rows[:20] + rows[21:]
    assert all(visible(r[0], components) for r in shown)
    assert all(r[1] in metrics for r in shown)  # metric names are short enough to show whole
    assert [r[0] for r in shown[:20]] == [r["trial_component"] for r in summary_csv[:20]] or any(
        r[0].endswith("…") for r in shown)
    assert lines[-1].strip() == f"{len(summary_csv)} rows (40 shown; --max-rows 0 shows all)"
    # numbers: each on its own, a non-zero value never shown as zero, the same value the same text
    numbers = [cell for r in shown for name, cell in zip(header, r, strict=True) if name.endswith("_value")]
    assert numbers and not [n for n in numbers if re.fullmatch(r"-?0\.0*", n)]
    assert "0.000358486" in numbers  # the smallest learning rate, in full
    for row in shown:
        values = dict(zip(header, row, strict=True))
        if "max_value" in values and "first_value" in values and values["metric_name"] == "learning_rate":
            assert values["max_value"] == values["first_value"] == "0.001"
    if len(header) < 11:
        assert stderr.startswith("left out to fit ") and header[-1] not in stderr


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_demo_fits_the_terminal(tmp_path: Path, env: dict[str, str], columns: int) -> None:
    lines, stderr, code = in_terminal(["demo", str(tmp_path / "demo")], columns, env)
    assert code == 0, stderr
    assert max(len(line) for line in lines) <= columns
    assert len(lines) < 40  # 24 rows: was 722 lines at 80 columns, 225 at 120
    assert table_header(lines)[0] == "trial_component" and len(table_rows(lines)) == 24
    assert all(len(r[0]) >= KEY_MIN_WIDTH for r in table_rows(lines))
    assert "trial_component_arn" in stderr and "--wide" in stderr  # left out first, and said so
    assert "digest" not in stderr.split("$ smtrail-sql")[1]  # digest files are no news


def test_wide_keeps_every_column(demo: Path, env: dict[str, str]) -> None:
    lines, stderr, code = in_terminal(["run", "runs", "--logs", str(demo), "--all-time", "--wide"], 80, env)
    assert code == 0 and "left out" not in stderr
    assert table_header(lines)[-1] == "trial_component_arn"
    assert all(r[-1].startswith("arn:aws:sagemaker:") and not r[-1].endswith("…") for r in table_rows(lines))


def test_max_rows_zero_shows_every_row(demo: Path, env: dict[str, str], summary_csv: list[dict[str, str]]) -> None:
    lines, _, code = in_terminal(["run", "metric-summary", "--logs", str(demo), "--all-time", "--max-rows", "0"],
                                 120, env)
    assert code == 0 and len(table_rows(lines)) == len(summary_csv)
    assert lines[-1].strip() == f"{len(summary_csv)} rows"


def test_the_pager_gets_the_table_on_a_terminal_only(demo: Path, env: dict[str, str]) -> None:
    args = ["run", "runs", "--logs", str(demo), "--all-time"]
    paged, _, code = in_terminal(args, 100, env, SMTRAIL_PAGER="sed 's/^/paged: /'")
    assert code == 0 and paged and all(line.startswith("paged: ") for line in paged)
    assert max(len(line) for line in paged) <= 100 + len("paged: ")  # laid out for the terminal all the same
    direct, _, _ = in_terminal([*args, "--no-pager"], 100, env, SMTRAIL_PAGER="sed 's/^/paged: /'")
    csv_lines, _, _ = in_terminal([*args, "-f", "csv"], 100, env, SMTRAIL_PAGER="sed 's/^/paged: /'")
    assert not [line for line in direct + csv_lines if line.startswith("paged: ")]
    piped = subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=120,
                           env={**env, "SMTRAIL_PAGER": "sed 's/^/paged: /'"})
    assert "paged: " not in piped.stdout and "\x1b[" not in piped.stdout


def test_an_unknown_pager_is_bad_input(demo: Path, env: dict[str, str]) -> None:
    _, stderr, code = in_terminal(["run", "runs", "--logs", str(demo), "--all-time"], 80, env,
                                  PAGER="no-such-pager-anywhere -x")
    assert code == 2
    assert stderr.strip().splitlines() == [
        "error: invalid PAGER 'no-such-pager-anywhere -x': a command on PATH, or empty for no pager (or --no-pager)"]


def test_quiet_and_verbose(demo: Path, env: dict[str, str], summary_csv: list[dict[str, str]],
                           tmp_path: Path) -> None:
    args = ["run", "metric-summary", "--logs", str(demo), "--all-time"]
    _, stderr, _ = in_terminal(args, 80, env)
    assert "left out" in stderr and "digest" not in stderr
    lines, quiet, code = in_terminal([*args, "-q"], 80, env)
    assert code == 0 and quiet == "" and table_rows(lines)
    _, verbose, _ = in_terminal([*args, "--verbose"], 80, env)
    assert "skipped 12 files: 12 digest" in verbose.splitlines()
    _, demo_quiet, code = in_terminal(["demo", str(demo.parent / "quiet-demo"), "--quiet"], 80, env)
    assert code == 0 and demo_quiet == ""
    plot = [*COMMAND, "plot", "-t", summary_csv[0]["trial_component"], "-m", "train:loss", "--logs", str(demo),
            "--all-time", "-o", str(tmp_path / "loss.png")]
    loud = subprocess.run(plot, capture_output=True, text=True, env=env, timeout=120)
    hushed = subprocess.run([*plot, "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert loud.returncode == hushed.returncode == 0 and "wrote" in loud.stderr and hushed.stderr == ""


def test_a_big_result_prints_at_once(demo: Path, env: dict[str, str]) -> None:
    """31,718 rows took 14 s as a rich table on a terminal; capped, only the rows shown are formatted."""
    rows = [("job-" + str(i % 7), "train:loss", i, 1 / (i + 1), None) for i in range(100_000)]
    start = time.perf_counter()
    lines, _ = render_table(["trial_component", "metric_name", "step", "value", "metric_time"],
                            ["VARCHAR", "VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP"], rows, width=80, max_rows=40)
    assert time.perf_counter() - start < 0.5
    assert lines[-1].strip() == "100,000 rows (40 shown; --max-rows 0 shows all)"


# -- the numbers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (0.000358486, "0.000358486"), (106.4, "106.4"), (2.302585092994046, "2.30259"), (1.0000000000000002, "1"),
    (0.5, "0.5"), (-0.047525, "-0.047525"), (1e-05, "1e-05"), (3.58486e-07, "3.58486e-07"), (0.0001, "0.0001"),
    (12345.678, "12,345.7"), (999999.7, "1,000,000"), (1234567.89, "1,234,568"), (1.5e300, "1.5e+300"),
    (0.0, "0"), (-0.0, "0"), (math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf"),
])
def test_display_number(value: float, text: str) -> None:
    assert display_number(value) == text


@pytest.mark.parametrize("value", [10.0 ** e * m for e in range(-12, 16) for m in (1, 1.234567, 9.999999, -3.3)])
def test_a_non_zero_number_never_reads_as_zero_and_keeps_its_size(value: float) -> None:
    text = display_number(value)
    assert not re.fullmatch(r"-?0(\.0*)?", text)
    assert math.isclose(float(text.replace(",", "")), value, rel_tol=1e-5)


@pytest.mark.parametrize(("value", "text"), [
    (0.00012, "$0.00012"), (4.8e-05, "$0.000048"), (1.2e-07, "$0.00000012"), (0.05, "$0.05"),
    (1234.5, "$1,234.50"), (0.0, "$0.00"), (-0.5, "-$0.50")])
def test_display_dollars(value: float, text: str) -> None:
    assert display_dollars(value) == text


def test_a_value_reads_the_same_in_every_column_and_costs_as_dollars() -> None:
    lines, _ = render_table(["metric_name", "min_value", "last_value", "data_event_cost_usd"],
                            ["VARCHAR", "DOUBLE", "DOUBLE", "DOUBLE"],
                            [("learning_rate", 0.000358486, 0.000358486, 0.00012), ("loss", 106.4, 0.0004, 1.5)])
    rows = table_rows(lines)
    assert rows == [["learning_rate", "0.000358486", "0.000358486", "$0.00012"],
                    ["loss", "106.4", "0.0004", "$1.50"]]


# -- the fitting ---------------------------------------------------------------------------------------------


COLUMNS = ["trial_component", "first_event", "points", "metric_name", "user_agent", "source_ip", "caller_arn",
           "sample_message", "trial_component_arn"]
TYPES = ["VARCHAR", "TIMESTAMP", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"]
ROW = ("pytorch-resnet50-2025-05-13-001-a290-aws-training-job", None, 1234, "validation:accuracy",
       "Boto3/1.34.10 md/Botocore#1.34.10 ua/2.0 os/linux#5.10 lang/python#3.10.12", "10.109.139.153",
       "arn:aws:sts::111122223333:assumed-role/SageMakerExecutionRole/SageMaker", "a\nmessage\x1b[31m red",
       "arn:aws:sagemaker:eu-west-1:111122223333:experiment-trial-component/pytorch-resnet50")


@pytest.mark.parametrize("width", [20, 30, 45, 60, 80, 100, 120, 160, 240, 400])
def test_a_table_never_passes_its_width_and_keeps_its_keys(width: int) -> None:
    lines, dropped = render_table(COLUMNS, TYPES, [ROW, ROW], width=width)
    assert max(len(line) for line in lines) <= width
    assert "\x1b" not in "".join(lines)  # an escape sequence in a value is shown, not obeyed
    header = table_header(lines)
    assert len(header) + len(dropped) == len(COLUMNS)
    assert dropped == [c for c in COLUMNS if c in dropped]  # named in the table's order
    if width >= 80:
        assert {"trial_component", "metric_name"} <= set(header)
        row = table_rows(lines)[0]
        assert len(row[0]) >= KEY_MIN_WIDTH and row[header.index("metric_name")] == "validation:accuracy"
    expendable = {"user_agent", "source_ip", "caller_arn", "sample_message", "trial_component_arn"}
    if set(dropped) - expendable:  # the others go only once every expendable one has gone
        assert expendable <= set(dropped)


def test_a_capped_narrow_table_keeps_to_its_width() -> None:
    rows = [("x", 1.0), (None, None), ("y", 2.0)]
    lines, _ = render_table(["a", "b"], ["VARCHAR", "DOUBLE"], rows, width=20, max_rows=1)
    assert max(len(line) for line in lines) <= 20
    assert table_rows(lines) == [["x", "1"], ["…", "…"]] and lines[-1].strip() == "3 rows (1 shown)"


def test_no_width_keeps_everything_whole() -> None:
    lines, dropped = render_table(COLUMNS, TYPES, [ROW], width=None)
    assert dropped == [] and table_header(lines) == COLUMNS
    assert table_rows(lines)[0][0] == ROW[0] and "a↵message�[31m red" in lines[3]
