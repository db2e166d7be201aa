"""No async handler of the API opens a store session on the event loop: a blocking query
there stalls every other request. Sync handlers run in FastAPI's thread pool; async ones
go through ``starters.api.deps.in_store`` or ``read_store`` (or a nested function run in a
thread)."""

from __future__ import annotations

import ast
from pathlib import Path

import starters.api

API = Path(starters.api.__file__).parent


def _is_db(node: ast.expr) -> bool:
    """``db`` or ``<anything>.db``: the store, whose ``session()`` and ``read()`` block."""
    if isinstance(node, ast.Name):
        return node.id == "db"
    return isinstance(node, ast.Attribute) and node.attr == "db"


def _blocking_async_functions(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        nested = {id(n) for n in ast.walk(node) if isinstance(n, ast.FunctionDef | ast.Lambda)}
        inside_nested = {
            id(child) for n in ast.walk(node) if id(n) in nested for child in ast.walk(n)
        }
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("session", "read")
                and _is_db(call.func.value)
                and id(call) not in inside_nested
            ):
                found.append(f"{node.name}:{call.lineno}")
    return found


def test_the_check_sees_a_session_opened_in_an_async_handler() -> None:
    bad = "async def h(state):\n    with state.db.session() as s:\n        pass\n"
    good = (
        "async def h(state):\n"
        "    def run():\n        with state.db.session() as s:\n            pass\n"
    )
    assert _blocking_async_functions(bad) == ["h:2"]
    reading = "async def h(state):\n    with state.db.read() as s:\n        pass\n"
    assert _blocking_async_functions(reading) == ["h:2"]
    assert _blocking_async_functions(good) == []


def test_no_async_handler_opens_a_session_on_the_event_loop() -> None:
    offenders = {
        path.name: found
        for path in sorted(API.glob("*.py"))
        if (found := _blocking_async_functions(path.read_text()))
    }
    assert offenders == {}
