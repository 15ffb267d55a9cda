"""The shape of the code, drawn from its imports: layers that point one way, no circles, a one-floor CLI.

Every ``import`` of the package is read with :mod:`ast`, the ones inside functions included (the lazy imports
that keep start-up light are arrows all the same); imports under ``if TYPE_CHECKING:`` are left out, since
they are annotations and never run. The layers, from the top::

    cli -> api (the Toolkit) -> render, templates, engines, annotate, scan, plot, output -> reader, aws -> the rest
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "smtrail_sql"
#: Most lines a module may have.
MAX_LINES = 400
#: What the reader may use from the rest of the package: the layers below it.
READER_BELOW = {"smtrail_sql.errors", "smtrail_sql.pipes", "smtrail_sql.process", "smtrail_sql.runfiles",
                "smtrail_sql.schema", "smtrail_sql.settings", "smtrail_sql.window"}
#: The CLI modules every command module may import: the app, the shared options, the console helpers.
CLI_SHARED = {"smtrail_sql.cli", "smtrail_sql.cli.app", "smtrail_sql.cli.options", "smtrail_sql.cli.console"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@cache
def imports_of(name: str) -> frozenset[str]:
    """The package's modules that ``name`` imports at run time (a name imported from a package counts as its
    submodule when there is one)."""
    known = modules()
    path = known[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return frozenset(t for t in targets if t in known and t != name)


def cycles() -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in imports_of(node):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in modules():
        if name not in index:
            connect(name)
    return found


def test_the_graph_is_read() -> None:
    """(The checks below would pass on an empty graph: prove it is the real one.)"""
    assert "smtrail_sql.api" in imports_of("smtrail_sql.cli.run")
    assert "smtrail_sql.render" in imports_of("smtrail_sql.api")  # a lazy import, inside a method
    assert "smtrail_sql.engines.local" in imports_of("smtrail_sql.engines")


def test_no_import_cycle() -> None:
    assert cycles() == []


def test_no_module_imports_the_package_face() -> None:
    """``smtrail_sql/__init__.py`` re-exports the public API: a module importing it would run back up."""
    assert [name for name in modules() if "smtrail_sql" in imports_of(name)] == []


COMMAND_MODULES = sorted(n for n in modules() if n.startswith("smtrail_sql.cli.") and n not in CLI_SHARED)


def test_there_are_command_modules() -> None:
    assert {"smtrail_sql.cli.queries", "smtrail_sql.cli.run", "smtrail_sql.cli.plot"} <= set(COMMAND_MODULES)


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_a_command_module_imports_no_other_command_module(name: str) -> None:
    cli = {target for target in imports_of(name) if target.startswith("smtrail_sql.cli")}
    assert cli <= CLI_SHARED, f"{name} imports {sorted(cli - CLI_SHARED)}"


def test_the_shared_cli_modules_import_no_command_module() -> None:
    for name in CLI_SHARED - {"smtrail_sql.cli"}:
        assert not {t for t in imports_of(name) if t in COMMAND_MODULES}, name


@pytest.mark.parametrize("name", sorted(n for n in modules() if n.startswith("smtrail_sql.cli")))
def test_the_cli_goes_through_the_library(name: str) -> None:
    """No CLI module renders a template itself: queries are built by the Toolkit."""
    assert not {"smtrail_sql.render", "smtrail_sql.templates", "smtrail_sql.annotate"} & imports_of(name)


LAYERS = [
    # (modules, what they must not import)
    (lambda n: not n.startswith("smtrail_sql.cli") and n not in {"smtrail_sql.entry", "smtrail_sql.__main__"},
     lambda t: t.startswith("smtrail_sql.cli")),
    (lambda n: not n.startswith("smtrail_sql.cli") and n not in {"smtrail_sql.api", "smtrail_sql"},
     lambda t: t == "smtrail_sql.api"),
    # the reader uses only itself and the layers below it
    (lambda n: n.startswith("smtrail_sql.reader"),
     lambda t: not t.startswith("smtrail_sql.reader") and t not in READER_BELOW),
    (lambda n: n.startswith(("smtrail_sql.reader", "smtrail_sql.aws")),
     lambda t: t.startswith(("smtrail_sql.engines", "smtrail_sql.render", "smtrail_sql.scan", "smtrail_sql.plot"))),
    (lambda n: n.startswith("smtrail_sql.engines"),
     lambda t: t in {"smtrail_sql.scan", "smtrail_sql.plot", "smtrail_sql.output", "smtrail_sql.annotate"}),
]


@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_no_arrow_runs_back_up(layer: int) -> None:
    applies, forbidden = LAYERS[layer]
    wrong = {name: sorted(t for t in imports_of(name) if forbidden(t)) for name in modules() if applies(name)}
    assert {name: targets for name, targets in wrong.items() if targets} == {}


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_the_size_limit(name: str) -> None:
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"
