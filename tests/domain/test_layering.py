"""The core's imports point one way: models <- domain <- store, and core imports no outer layer.

Read from the source (``ast``), so a cycle that happens to import fine today still fails here.
"""

from __future__ import annotations

import ast
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


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_core_package_imports_only_inward(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported(path))
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package])
    ]
    assert offences == []
