"""``/health/live`` answers while the process does; ``/health/ready`` only while the store
and Temporal answer, with a 503 naming the check that failed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from oms.settings import Settings
from oms.store.db import Database
from oms.store.migrate import upgrade
from starters.api.app import create_app
from starters.api.deps import ApiState

from smtp_fixtures import free_port


async def _get(db: Database, client: Client, path: str) -> httpx.Response:
    app = create_app(Settings(database_url=db.url))
    # No lifespan: the state under test is set here.
    app.state.oms = ApiState(settings=Settings(), db=db, client=client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        return await http.get(path)


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Database]:
    upgrade(sqlite_url)
    db = Database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
async def unreachable_temporal() -> Client:
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)


async def test_ready_when_store_and_temporal_answer(
    store: Database, temporal_client: Client
) -> None:
    response = await _get(store, temporal_client, "/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"store": "ok", "temporal": "ok"}}
    assert (await _get(store, temporal_client, "/health")).json() == {"status": "ok"}


async def test_not_ready_without_temporal_but_still_live(
    store: Database, unreachable_temporal: Client
) -> None:
    response = await _get(store, unreachable_temporal, "/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "NotReady"
    assert body["detail"].startswith("not ready: temporal failed: ")
    assert "store" not in body["detail"]
    # Each check by name, as the 200 has them: a probe or dashboard reads this, not detail.
    assert body["checks"]["store"] == "ok"
    assert body["checks"]["temporal"].startswith("failed: ")
    assert body["detail"] == f"not ready: temporal {body['checks']['temporal']}"
    assert (body["status"], body["instance"]) == (503, "/health/ready")
    live = await _get(store, unreachable_temporal, "/health/live")
    assert live.status_code == 200


async def test_not_ready_without_the_store(temporal_client: Client) -> None:
    db = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    try:
        response = await _get(db, temporal_client, "/health/ready")
    finally:
        db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "not ready: store failed: OperationalError"
    assert body["checks"] == {"store": "failed: OperationalError", "temporal": "ok"}
