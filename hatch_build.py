"""Build hook: compiles the reader's C scanner (``smtrail_sql/reader/_scan.c``) into the wheel, when it can.

The scanner only speeds the local reader up (``smtrail_sql.reader.native``): where no C compiler is found, or the
build fails, the package installs without it and reads every file with its Python paths, with a warning. Set
``SMTRAIL_SQL_PURE=1`` to build without it. An editable install builds it in place, beside its source; a wheel
carries it at the same path. The build passes the source's CRC-32, which the package checks before it uses the
module: a module built from an older text is never used.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "smtrail_sql.reader._scan"
SOURCE = Path("smtrail_sql") / "reader" / "_scan.c"


class NativeScannerHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the scanner with setuptools' ``build_ext`` (the compiler Python was built with)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("SMTRAIL_SQL_PURE") == "1":
            return
        root = Path(self.root)
        editable = version == "editable"
        out = root if editable else Path(tempfile.mkdtemp(prefix="smtrail-sql-build-"))
        try:
            built = _compile(root, out, inplace=editable)
        except Exception as error:  # noqa: BLE001  (no compiler, a failed build: the package works without it)
            print(f"smtrail-sql: the C scanner was not built ({type(error).__name__}: {error}); the local reader "
                  "will use its Python paths only", file=sys.stderr)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if not editable:
            build_data["force_include"][str(built)] = str(built.relative_to(out))


def _compile(root: Path, out: Path, *, inplace: bool) -> Path:
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    digest = f"{zlib.crc32((root / SOURCE).read_bytes()):08x}"
    extension = Extension(MODULE, [str(SOURCE)], define_macros=[("SCAN_SOURCE_DIGEST", f'"{digest}"')])
    distribution = Distribution({"name": "smtrail-sql", "ext_modules": [extension]})
    distribution.script_args = []
    command = build_ext(distribution)
    command.inplace = inplace
    command.build_lib = str(out)
    command.build_temp = tempfile.mkdtemp(prefix="smtrail-sql-temp-")
    command.ensure_finalized()
    cwd = os.getcwd()
    os.chdir(root)  # (sources and the in-place target are relative to the project)
    try:
        command.run()
    finally:
        os.chdir(cwd)
    built = Path(command.get_ext_fullpath(MODULE))
    return built if built.is_absolute() else root / built
