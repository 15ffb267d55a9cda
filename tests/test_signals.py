"""Ctrl-C and SIGTERM end the command line cleanly: one line, the right exit code, no traceback, no worker left.

A terminal sends Ctrl-C's SIGINT to the whole process group, so the reader's worker processes get it too; each
used to print a ``KeyboardInterrupt`` traceback of its own. These tests run the real console entry point in a
process group of its own over a bucket big enough that reading it takes seconds, signal it once its workers
exist, and look at everything it wrote to stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc"),
    pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="with one core the reader starts no worker process"),
]

#: Links to each file of the seed sample: about 250 MB of gzipped logs, seconds of reading on any machine (a fast
#: one read 75 MB in under 1.5 s, before the longest wait below).
COPIES = 200


@pytest.fixture(scope="module")
def big_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bucket copy of ~3,200 log files: a small demo sample, each file linked under many names."""
    from smtrail_sql.demo import write_sample_bucket

    root = tmp_path_factory.mktemp("big-bucket")
    write_sample_bucket(root, days=1, files_per_day=4, calls_per_file=200, digests=False, duplicate=False)
    for path in sorted(root.rglob("*.json.gz")):
        stem = path.name.removesuffix(".json.gz").rsplit("_", 1)[0]
        for copy in range(COPIES):
            twin = path.with_name(f"{stem}_copy{copy:04d}of{path.stem[-8:-5]}.json.gz")
            try:
                os.link(path, twin)
            except OSError:  # (a file system without hard links)
                twin.write_bytes(path.read_bytes())
    return root


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """The processes forked by ``pid``, and by them: a cold executor (see smtrail_sql.executor) and its reader's
    workers, or the command's own workers."""
    found, level = [], children(pid)
    while level:
        found += level
        level = [grandchild for child in level for grandchild in children(child)]
    return found


def catches(pid: int, signum: int) -> bool:
    """Whether ``pid`` has a handler for ``signum`` (its ``SigCgt`` mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(mask, 16) >> (signum - 1) & 1)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: it only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_while_reading(logs: Path, signum: int, *, group: bool, delay: float, again: float | None = None,
                       times: int = 2, executor: bool = True) -> tuple[int, str, list[int]]:
    """Run a query over ``logs``, send ``signum`` ``delay`` seconds after its workers appeared (and once more
    ``again`` seconds later, ``times`` in all); return the exit code, everything written to stderr, and the
    processes seen: its two workers, and the cold executor that forked them (``executor``: else the command
    reads the files itself)."""
    command = [sys.executable, "-m", "smtrail_sql", "run", "runs", "--logs", str(logs), "--all-time", "--no-cache"]
    expected = 3 if executor else 2
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env={**os.environ, "SMTRAIL_EXECUTOR": "1" if executor else "0"})
    try:
        deadline = time.monotonic() + 60
        workers = descendants(process.pid)
        while len(workers) < expected and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
            workers = descendants(process.pid)
        assert len(workers) == expected, "no worker process started"
        time.sleep(delay)
        workers = sorted(set(workers) | set(descendants(process.pid)))
        assert process.poll() is None, "the query ended before the signal: the bucket is too small to test with"
        for wait in (0.0,) if again is None else (0.0,) + (again,) * (times - 1):
            time.sleep(wait)
            if group:
                os.killpg(process.pid, signum)  # as a terminal sends Ctrl-C
            else:
                os.kill(process.pid, signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, stderr, workers


@pytest.mark.parametrize(("delay", "executor"), [(0.0, True), (0.05, True), (0.3, True), (0.8, True), (1.5, True),
                                                 (0.0, False), (0.3, False)])
def test_ctrl_c_to_the_group_prints_one_line_and_leaves_no_worker(big_bucket: Path, delay: float,
                                                                  executor: bool) -> None:
    code, stderr, workers = stop_while_reading(big_bucket, signal.SIGINT, group=True, delay=delay,
                                               executor=executor)
    assert "Traceback" not in stderr, stderr
    assert stderr == "interrupted\n"
    assert code == 130
    assert workers and not [pid for pid in workers if alive(pid)]


@pytest.mark.parametrize(
    ("signum", "group", "line", "code"),
    [
        (signal.SIGINT, False, "interrupted", 130),  # kill -INT to the command alone
        (signal.SIGTERM, True, "terminated", 143),  # the whole group, as a service manager stops it
        (signal.SIGTERM, False, "terminated", 143),  # kill PID
    ],
)
def test_other_stops_print_one_line_and_leave_no_worker(
    big_bucket: Path, signum: int, group: bool, line: str, code: int
) -> None:
    returncode, stderr, workers = stop_while_reading(big_bucket, signum, group=group, delay=0.3)
    assert "Traceback" not in stderr, stderr
    assert stderr == f"{line}\n"
    assert returncode == code
    assert workers and not [pid for pid in workers if alive(pid)]


def test_workers_of_a_killed_command_die_with_it_silently(big_bucket: Path) -> None:
    """SIGKILL to the command alone: nothing can be handled, but its workers die with it (the kernel kills
    them), rather than later of a broken pipe, each with a traceback on the terminal."""
    returncode, stderr, workers = stop_while_reading(big_bucket, signal.SIGKILL, group=False, delay=0.3)
    assert returncode == -signal.SIGKILL
    assert stderr == "", stderr
    deadline = time.monotonic() + 5
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not [pid for pid in workers if alive(pid)]


@pytest.mark.parametrize("again", [0.01, 0.1])
def test_ctrl_c_twice_still_prints_one_line(big_bucket: Path, again: float) -> None:
    # the second one lands while the first is being handled: workers stopping, the line printed, Python exiting
    code, stderr, workers = stop_while_reading(big_bucket, signal.SIGINT, group=True, delay=0.3, again=again)
    assert "Traceback" not in stderr, stderr
    assert stderr == "interrupted\n"
    assert code == 130
    assert workers and not [pid for pid in workers if alive(pid)]


def test_a_third_ctrl_c_ends_a_stuck_stop_at_once(big_bucket: Path) -> None:
    # the first raises, the second is only noted (it would land inside the clean-up), the third ends the process
    code, stderr, workers = stop_while_reading(big_bucket, signal.SIGINT, group=False, delay=0.3, again=0.02,
                                               times=3)
    assert "Traceback" not in stderr, stderr
    assert stderr == "interrupted\n"
    assert code == 130
    deadline = time.monotonic() + 5
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not [pid for pid in workers if alive(pid)]


def test_signals_held_while_workers_fork_are_delivered_once_after() -> None:
    from smtrail_sql.reader.signals import HeldSignals

    seen: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        held = HeldSignals()
        with held:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert seen == []  # noted, not handled: a worker forked now would inherit no raising handler
        assert seen == []  # until the pool's ``with`` has begun
        held.deliver()
        assert seen == [signal.SIGINT]
        held.deliver()
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_workers_read_from_a_thread_that_is_not_the_main_one(big_bucket: Path) -> None:
    import threading

    from smtrail_sql.reader.layout import discover_log_files
    from smtrail_sql.reader.pipeline import read_log_files

    files = discover_log_files(big_bucket).files[:200]  # over PARALLEL_MIN_BYTES: read by worker processes
    handler = signal.getsignal(signal.SIGINT)
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(read_log_files(files, workers=2).files_read))
    thread.start()
    thread.join(120)
    assert results == [len(files)]
    assert signal.getsignal(signal.SIGINT) is handler  # left as it was


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2])
def test_a_stop_while_the_command_starts_prints_one_line(tmp_path: Path, signum: int, delay: float) -> None:
    """Early on, the console script is importing the CLI (typer, click, rich): a signal then is one line too."""
    script = Path(sys.executable).parent / "smtrail-sql"
    process = subprocess.Popen([str(script), "queries"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    # from the moment the entry point handles signals (SIGTERM's handler is its second: the interpreter has one
    # for SIGINT from its start, whose KeyboardInterrupt no program can catch while Python itself starts);
    # ``delay`` later, the CLI is being imported
    deadline = time.monotonic() + 30
    while not catches(process.pid, signal.SIGTERM) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    if process.returncode == 0:  # (it had finished already: a fast machine)
        return
    expected = ("interrupted", 130) if signum == signal.SIGINT else ("terminated", 143)
    assert (err.strip().splitlines()[-1:], process.returncode) == ([expected[0]], expected[1])
