"""The reader's C scanner (``_scan.c``), when the package was built with it: the usual log file read into its
:class:`~smtrail_sql.reader.lists.FileLists` in one pass, its points packed in buffers (0.47 ms for a metric-heavy
bench file, where the typed path takes 1.0 ms: see ``bench/bench_cli.py`` for the whole command).

The scanner gives exactly the typed path's lists for the files it takes and declines every other one (see the
text of ``_scan.c``), which :mod:`~smtrail_sql.reader.decode` then reads with its Python paths: the rows are
the same with or without it. The build compiles it when a C compiler is at hand (``hatch_build.py``); without
one the package installs and reads without it. It is not used when:

* ``SMTRAIL_SQL_NATIVE=0`` is set (to compare, or to rule it out);
* the module was built from another text than the ``_scan.c`` beside it (an editable install whose source
  changed since: reinstall to rebuild it), or holds other constants than :mod:`smtrail_sql.schema`'s.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

from smtrail_sql.reader.layout import LogFile
from smtrail_sql.reader.lists import PACKED_TEXT_COLUMNS, FileLists, PackedCalls, PackedPoints, PackedText
from smtrail_sql.schema import METRICS_EVENT_NAME, METRICS_EVENT_SOURCE, TRIAL_COMPONENT_RESOURCE_TYPE

#: Set to ``0`` to read without the C scanner.
NATIVE_ENV = "SMTRAIL_SQL_NATIVE"

_scan: Any = None
_unify: Any = None
_loaded = False


def scanner() -> Any:
    """The scanner's ``scan`` function, or None when it is not to be used (see the module docstring)."""
    global _scan, _unify, _loaded
    if not _loaded:
        _loaded = True
        module = _load()
        _scan, _unify = (module.scan, module.unify) if module is not None else (None, None)
    return _scan


def unifier() -> Any:
    """The scanner's ``unify`` function (the distinct entries of several files' packed text columns: see
    :mod:`smtrail_sql.reader.packed`), or None when the scanner is not used."""
    return _unify if scanner() is not None else None


def _load() -> Any:  # (the module, or None)
    if os.environ.get(NATIVE_ENV) == "0":
        return None
    try:
        import smtrail_sql.reader._scan as module
    except ImportError:
        return None
    source = Path(__file__).with_name("_scan.c")
    if source.exists() and f"{zlib.crc32(source.read_bytes()):08x}" != module.SOURCE_DIGEST:
        return None  # built from an older text (a CRC-32: zlib is loaded already, hashlib would cost 2 ms)
    if (module.METRICS_EVENT_NAME, module.METRICS_EVENT_SOURCE, module.TRIAL_COMPONENT_RESOURCE_TYPE) != (
            METRICS_EVENT_NAME, METRICS_EVENT_SOURCE, TRIAL_COMPONENT_RESOURCE_TYPE):
        return None
    if tuple(module.TEXT_COLUMNS) != PACKED_TEXT_COLUMNS:
        return None
    return module


def scan(data: bytes, log: LogFile) -> FileLists | None:
    """The lists of an inflated log file by the C scanner; None when it declines the file or is not used."""
    function = scanner()
    if function is None:
        return None
    found = function(data, log.account_id, log.region, log.day)
    if found is None:
        return None
    events, typed, calls, points = found
    if not typed:  # (a file without the event name: what the typed path's outline gives)
        return FileLists(None, events)
    size, point_counts, call_points, event_millis, texts = calls
    return FileLists(None, events, typed=True, packed=PackedPoints(*points),
                     packed_calls=PackedCalls(size, (log.account_id, log.region, log.day), point_counts,
                                              call_points, event_millis, tuple(PackedText(*text) for text in texts)))
