"""The built wheel carries every file of sql/, where the installed package finds it, and the reader's C scanner
when a C compiler is at hand (a wheel without it is a pure one)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_every_sql_file(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("smtrail_sql-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"smtrail_sql/sql/{p.relative_to(ROOT / 'sql').as_posix()}" for p in (ROOT / "sql").rglob("*")
               if p.is_file() and p.suffix in (".sql", ".json")}  # (the templates and their DuckDB forms)
    assert shipped, "no sql files found in the source tree"
    assert shipped <= names, f"missing from the wheel: {sorted(shipped - names)}"
    assert "smtrail_sql/cli/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "smtrail-sql = smtrail_sql.entry:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    scanners = [n for n in names if n.startswith("smtrail_sql/reader/_scan.") and n.endswith((".so", ".pyd"))]
    if os.environ.get("SMTRAIL_REQUIRE_NATIVE") == "1" or scanners:
        assert len(scanners) == 1 and "-none-any" not in wheel.name, (scanners, wheel.name)
        digest = f'{zlib.crc32((ROOT / "smtrail_sql" / "reader" / "_scan.c").read_bytes()):08x}'
        assert digest.encode() in zipfile.ZipFile(wheel).read(scanners[0])  # (built from this text)


@pytest.mark.slow
def test_a_wheel_without_the_scanner_is_pure(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300, env={**os.environ, "SMTRAIL_SQL_PURE": "1"})
    wheel = next(tmp_path.glob("smtrail_sql-*.whl"))
    assert wheel.name.endswith("-py3-none-any.whl")
    assert not [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("smtrail_sql/reader/_scan.")
                and n.endswith((".so", ".pyd"))]


def test_installed_package_finds_the_sql_folder() -> None:
    from smtrail_sql.resources import sql_root

    root = sql_root()
    assert (root / "queries" / "metric-summary.sql").is_file()
    assert sorted(p.name for p in (root / "ddl").glob("*.sql")) == sorted(
        p.name for p in (ROOT / "sql" / "ddl").glob("*.sql"))
