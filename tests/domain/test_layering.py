"""The core's imports point one way: models <- domain <- store, and core imports no outer layer;
and what runs in production imports none of the rig (sandboxes, devtools) when it loads.

Read from the source (``ast``), so a cycle that happens to import fine today still fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the packages it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "oms/models": ("oms.domain", "oms.store", "oms.views", "workflows", "activities", "starters"),
    "oms/domain": ("oms.store", "oms.views", "workflows", "activities", "starters", "workers"),
    "oms/ports": ("oms.store", "workflows", "activities", "starters", "workers"),
    "oms/store": ("workflows", "activities", "starters", "workers"),
}


# What production runs, and the rig it must not need in order to load: the fake external
# parties and the dev tools (the demo's catalogue and history, bench, chaos). Production
# images carry no devtools; a rig module a process picks by settings or a command runs
# (the sandbox payment provider, `oms db`'s demo catalogue) is imported inside a function.
PRODUCTION = ("oms", "workflows", "activities", "workers", "starters")
RIG = ("devtools", "sandboxes")


def _names(nodes: Iterator[ast.AST]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the import statement is."""
    return _names(ast.walk(_parse(path)))


def _outside_functions(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield child
            yield from _outside_functions(child)


def imported_on_load(path: Path) -> set[str]:
    """The modules ``path`` imports outside its functions: when it is imported (including
    a ``TYPE_CHECKING`` block: no production signature names a rig type either)."""
    return _names(_outside_functions(_parse(path)))


def _is(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_core_package_imports_only_inward(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported(path))
        if _is(name, FORBIDDEN[package])
    ]
    assert offences == []


@pytest.mark.parametrize("package", PRODUCTION)
def test_production_loads_without_the_rig(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported_on_load(path))
        if _is(name, RIG)
    ]
    assert offences == []


def test_the_load_check_sees_an_import_outside_functions_only() -> None:
    source = (
        "import devtools.dev\n"
        "if True:\n    from sandboxes import carrier\n"
        "class A:\n    from devtools.demo import catalogue\n"
        "def f():\n    from devtools.bench import run\n"
        "async def g():\n    import sandboxes.payments\n"
    )
    names = _names(_outside_functions(ast.parse(source)))
    assert names == {"devtools.dev", "sandboxes", "devtools.demo"}
