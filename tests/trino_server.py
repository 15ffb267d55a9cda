"""A throwaway Trino server for the tests: the engine Athena v3 is built on, run from a local installation.

``.ci/install-trino`` installs Trino into ``~/.cache/smtrail-sql/trino-476`` and prints the variables that point
here. :func:`start` writes a fresh configuration (a file-backed Hive metastore over a local warehouse folder, and
the memory connector) into a scratch folder, starts the server on a free port of 127.0.0.1 in its own process
group, and waits until it answers ``SELECT 1``; :meth:`TrinoServer.stop` ends the whole group.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRINO_VERSION = "476"
MIN_JAVA = 24  # Trino 476's launcher refuses older Java
#: the file .ci/install-trino writes last into a complete installation
STAMP = ".smtrail-complete"
HOW_TO_GET = (
    f"Trino {TRINO_VERSION} and Java {MIN_JAVA}+ are needed: run `eval \"$(bash .ci/install-trino)\"`, which sets "
    "SMTRAIL_TRINO_HOME and SMTRAIL_TRINO_JAVA_HOME"
)
STARTUP_TIMEOUT = 120.0
USER = "smtrail-test"


class TrinoUnavailable(Exception):
    """No usable Trino installation or Java here; the message says what is missing."""


def default_home() -> Path:
    """Where ``.ci/install-trino`` installs Trino."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "smtrail-sql" / f"trino-{TRINO_VERSION}"


def find_installation() -> Path:
    """``$SMTRAIL_TRINO_HOME``, else the installer's folder if it is complete."""
    configured = os.environ.get("SMTRAIL_TRINO_HOME")
    if configured:
        if not (Path(configured) / "bin" / "launcher").is_file():
            raise TrinoUnavailable(f"SMTRAIL_TRINO_HOME={configured} holds no bin/launcher")
        return Path(configured)
    if not (default_home() / STAMP).is_file():
        raise TrinoUnavailable(f"no complete Trino installation in {default_home()}")
    return default_home()


def java_major(java_home: Path) -> int | None:
    """The major version of the JDK in ``java_home`` (from its ``release`` file), or None."""
    try:
        release = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    return int(match.group(1)) if match and (java_home / "bin" / "java").is_file() else None


def find_java() -> Path:
    """``$SMTRAIL_TRINO_JAVA_HOME`` if set, else the newest JDK under /usr/lib/jvm with a major version >= 24."""
    configured = os.environ.get("SMTRAIL_TRINO_JAVA_HOME")
    if configured:
        major = java_major(Path(configured))
        if major is None or major < MIN_JAVA:
            raise TrinoUnavailable(f"SMTRAIL_TRINO_JAVA_HOME={configured} is not a Java {MIN_JAVA}+ (found {major})")
        return Path(configured)
    found = [(major, home) for home in Path("/usr/lib/jvm").glob("*")
             if (major := java_major(home)) is not None and major >= MIN_JAVA]
    if not found:
        raise TrinoUnavailable(f"no Java {MIN_JAVA}+ under /usr/lib/jvm")
    return max(found)[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_config(base: Path, port: int) -> tuple[Path, Path, Path]:
    """(etc, data, warehouse) folders of a single-node server sized for a test machine."""
    etc, data, warehouse = base / "etc", base / "data", base / "warehouse"
    for folder in (etc / "catalog", data, warehouse / "metastore"):
        folder.mkdir(parents=True, exist_ok=True)
    (etc / "node.properties").write_text(
        f"node.environment=test\nnode.id=smtrail-test-{port}\nnode.data-dir={data}\n")
    # user.timezone=UTC: the session time zone is the JVM's, and Athena's is UTC
    (etc / "jvm.config").write_text("\n".join([
        "-server", "-Xmx2G", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-Djdk.attach.allowAttachSelf=true",
        "-Duser.timezone=UTC", "-XX:TieredStopAtLevel=1",  # C1 only: faster start-up, and test queries are tiny
    ]) + "\n")
    (etc / "config.properties").write_text("\n".join([
        "coordinator=true",
        "node-scheduler.include-coordinator=true",
        f"http-server.http.port={port}",
        f"discovery.uri=http://127.0.0.1:{port}",
        "query.max-memory=1GB",
        "query.max-memory-per-node=1GB",
        "task.concurrency=2",
        "task.max-worker-threads=4",
        # one node, on a machine the tests keep busy: a heartbeat answered late must not mark the only node
        # failed ("No nodes available to run query" for the rest of the session), as Trino's own test servers do
        "failure-detector.enabled=false",
    ]) + "\n")
    (etc / "log.properties").write_text("io.trino=WARN\nio.trino.server.Server=INFO\n")
    (etc / "catalog" / "hive.properties").write_text("\n".join([
        "connector.name=hive",
        "hive.metastore=file",
        "hive.metastore.catalog.dir=local:///metastore",  # tables' data lives apart, under local:///external
        "fs.native-local.enabled=true",
        f"local.location={warehouse}",
        "hive.allow-register-partition-procedure=true",
        "hive.iceberg-catalog-name=iceberg",  # an Iceberg table named through hive (as Athena names it) is read
    ]) + "\n")
    # The metric store's Iceberg tables, in the same metastore: one database holds the trail, its views and the
    # store, as in Athena's data catalog (the file metastore is Trino's own, for tests; Glue plays it on AWS)
    (etc / "catalog" / "iceberg.properties").write_text("\n".join([
        "connector.name=iceberg",
        "iceberg.catalog.type=testing_file_metastore",
        "hive.metastore.catalog.dir=local:///metastore",
        "fs.native-local.enabled=true",
        f"local.location={warehouse}",
        "iceberg.hive-catalog-name=hive",  # the views live in hive: read through it
    ]) + "\n")
    (etc / "catalog" / "memory.properties").write_text("connector.name=memory\n")
    return etc, data, warehouse


def _die_with_parent() -> None:
    """In the child before exec: a SIGTERM when the process that started it dies (Linux), so none is orphaned."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class TrinoServer:
    """A running server and what a test needs to talk to it."""

    home: Path
    java_home: Path
    base: Path
    port: int
    process: subprocess.Popen[bytes]
    warehouse: Path
    log: Path
    host: str = "127.0.0.1"
    startup_seconds: float = 0.0
    pid_file: Path | None = field(default=None, repr=False)

    def connect(self, catalog: str = "hive", schema: str | None = None) -> Any:
        """A DB-API connection (``trino.dbapi``) with this session catalog and schema."""
        import trino.dbapi

        return trino.dbapi.connect(host=self.host, port=self.port, user=USER, catalog=catalog, schema=schema)

    def execute(self, sql: str, catalog: str = "hive", schema: str | None = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        con = self.connect(catalog, schema)
        try:
            cursor = con.cursor()
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            con.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the server's process group, SIGKILL if it is still there after ``grace`` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            if self.process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(wait)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Trino exited with code {self.process.returncode} while starting:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://{self.host}:{self.port}/v1/info", timeout=2) as answer:
                    starting = json.load(answer).get("starting", True)
                if not starting and self.execute("SELECT 1", catalog="system") == [(1,)]:
                    return
            except Exception as error:  # not listening yet, no worker registered yet, ...
                last_error = error
            time.sleep(0.5)
        raise RuntimeError(f"Trino did not answer SELECT 1 within {timeout:.0f} s (last error: {last_error}); "
                           f"server log:\n{self.log_tail()}")


def start(base: Path, timeout: float = STARTUP_TIMEOUT) -> TrinoServer:
    """Start a server configured under ``base`` and wait until it answers; raises TrinoUnavailable or RuntimeError.

    >>> server = start(tmp_path)          # doctest: +SKIP
    >>> server.execute("SELECT 1")        # doctest: +SKIP
    [(1,)]
    >>> server.stop()                     # doctest: +SKIP
    """
    home, java_home = find_installation(), find_java()
    port = _free_port()
    etc, data, warehouse = _write_config(base, port)
    log = base / "server.log"
    env = dict(os.environ, JAVA_HOME=str(java_home), PATH=f"{java_home / 'bin'}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(home / "bin" / "launcher"), "run", f"--etc-dir={etc}", f"--data-dir={data}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=base,
            start_new_session=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    server = TrinoServer(home=home, java_home=java_home, base=base, port=port, process=process,
                         warehouse=warehouse, log=log)
    # .ci/run kills what is listed here if a run ends without stopping its server
    pid_dir = os.environ.get("SMTRAIL_TRINO_PID_DIR")
    if pid_dir:
        server.pid_file = Path(pid_dir) / str(process.pid)
        server.pid_file.write_text(str(home))
    try:
        server._wait_until_ready(timeout)
    except BaseException:
        server.stop(grace=2.0)
        raise
    server.startup_seconds = time.monotonic() - started
    return server
