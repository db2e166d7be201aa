"""docs/security.md maps each hole of the security review to the tests that prove it
closed: every test it names exists, so the table cannot point at a renamed or deleted one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_the_hole_table_names_exists() -> None:
    text = DOC.read_text()
    table = text[text.index("## Holes and the tests that prove them closed") :]
    refs = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", table)
    assert len(refs) >= 25, "the table lost its rows"
    missing = [
        f"{file}::{name}"
        for file, name in refs
        if not (ROOT / file).is_file() or name not in _tests_in(ROOT / file)
    ]
    assert missing == []
