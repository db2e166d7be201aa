"""Workflows import no I/O: every module under ``workflows/`` loads, in a fresh
interpreter, none of the libraries that reach a database, the network, templates or C.

The activity modules the workflows reference name their stores and external
parties as ``Protocol`` ports, so this holds by construction; the test keeps it so.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import workflows

FORBIDDEN = (
    "sqlalchemy",
    "psycopg",
    "httpx",
    "smtplib",
    "aiosmtpd",
    "jinja2",
    "fastapi",
    "pydantic_settings",
)
ROOT = Path(__file__).resolve().parents[2]


def workflow_modules() -> list[str]:
    """Every module of the ``workflows`` package, the frozen ``legacy`` ones included."""
    return sorted(
        info.name for info in pkgutil.walk_packages(workflows.__path__, prefix="workflows.")
    )


def loaded_after_import(modules: list[str]) -> list[str]:
    """The forbidden libraries a fresh interpreter holds after importing ``modules``."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(n for n in {FORBIDDEN!r} if n in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout))


def test_the_check_sees_a_module_that_loads_a_database_library() -> None:
    assert "sqlalchemy" in loaded_after_import(["oms.store.db"])


def test_no_workflow_module_loads_io_libraries() -> None:
    modules = workflow_modules()
    assert {"workflows.order", "workflows.tracker", "workflows.legacy.order"} <= set(modules)
    loaded = loaded_after_import(modules)
    if loaded:
        # Name the culprits one fresh interpreter each (only on failure: ~0.5 s a module).
        culprits = {m: found for m in modules if (found := loaded_after_import([m]))}
        raise AssertionError(f"workflow modules load {loaded}: {culprits}")


# What reads or writes a file, by name: a call to one of these, or an import of these modules.
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}
FILE_MODULES = {"pathlib", "os", "shutil"}  # not io: a StringIO is memory


def file_io(source: str) -> list[str]:
    """The file reads, writes and file-module imports in ``source``, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FILE_CALLS:
                found.append(f"{node.lineno}: {name}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names.append(getattr(node, "module", None) or "")
            found += [
                f"{node.lineno}: import {n}" for n in names if n.split(".")[0] in FILE_MODULES
            ]
    return found


def test_the_file_check_sees_a_read_and_an_import() -> None:
    source = "from pathlib import Path\n\ndef f(p):\n    return Path(p).read_text()\n"
    assert file_io(source) == ["1: import pathlib", "4: read_text()"]


def test_the_pure_domain_reads_no_file() -> None:
    """``oms.domain`` is what workflows call for their rules: the rule files are read in
    ``oms.rules``, by the worker and the API, and handed in."""
    modules = sorted((ROOT / "oms" / "domain").glob("*.py"))
    assert len(modules) > 10
    found = {m.name: hits for m in modules if (hits := file_io(m.read_text(encoding="utf-8")))}
    assert not found, found
