"""The reader's house, drawn from its imports: one job a module, no cycle, no arrow back up to the layers above."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "smtrail_sql"
READER = PACKAGE / "reader"
#: What the reader may use from the rest of the package: the layers below it.
BELOW = {"smtrail_sql.errors", "smtrail_sql.runfiles", "smtrail_sql.schema", "smtrail_sql.settings",
         "smtrail_sql.window"}
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules ``path`` imports, anywhere in it (``from pkg import sub`` imports ``pkg.sub``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(subs or {node.module})
    return {name for name in found if name.startswith("smtrail_sql")}


def _graph() -> dict[str, set[str]]:
    paths = {_module(p): p for p in READER.glob("*.py")}
    known = set(paths) | {_module(p) for p in PACKAGE.rglob("*.py")}
    return {name: _imports(path, known) - {name} for name, path in paths.items()}


def test_the_reader_imports_only_itself_and_the_layers_below() -> None:
    upward = {(name, target) for name, targets in _graph().items() for target in targets
              if not target.startswith("smtrail_sql.reader") and target not in BELOW}
    assert not upward


def test_no_import_cycle_inside_the_reader() -> None:
    # the package's __init__ re-exports the public names: an edge into it from a module of its own is not a use
    graph = {name: {t for t in targets if t != "smtrail_sql.reader"} for name, targets in _graph().items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(name):], name]))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, [*path, name])
        done.add(name)

    assert len(graph) > 10
    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("path", sorted(READER.glob("*.py")), ids=lambda p: p.name)
def test_each_reader_module_stays_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES
