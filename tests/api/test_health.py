"""``/health/live`` answers while the process does; ``/health/ready`` only while the store
(at this release's migration head) and Temporal answer, with a 503 naming the check that
failed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client

from oms.settings import Settings
from oms.store.db import Database, make_engine
from oms.store.migrate import downgrade, upgrade
from starters.api.app import MIGRATED_TRUSTED_S, create_app
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


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """A store URL with no tables yet (a fresh file, or a fresh PostgreSQL schema)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def ready_probe(
    empty_url: str, temporal_client: Client
) -> AsyncIterator[tuple[ApiState, Callable[[], Awaitable[httpx.Response]]]]:
    """``GET /health/ready`` of one app (its state kept between probes) on a store at
    ``empty_url`` that nothing has migrated."""
    db = Database(empty_url)
    app = create_app(Settings(database_url=empty_url))
    state = app.state.oms = ApiState(settings=Settings(), db=db, client=temporal_client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield state, lambda: http.get("/health/ready")
    db.dispose()


def _not_migrated(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["title"], body["status"]) == ("NotReady", 503)
    assert body["detail"] == "not ready: store not migrated: run oms db"
    assert body["checks"] == {"store": "not migrated: run oms db", "temporal": "ok"}


async def test_not_ready_until_the_store_is_at_the_migration_head(
    ready_probe: tuple[ApiState, Callable[[], Awaitable[httpx.Response]]], empty_url: str
) -> None:
    # Before oms-migrate ran: the store answers SELECT 1, every authenticated call a 500.
    _, probe = ready_probe
    _not_migrated(await probe())
    # A release behind: the last migration missing.
    upgrade(empty_url, "0016_backorder_free")
    _not_migrated(await probe())
    # Migrated while the pod waits: ready at the next probe (a "not migrated" is not kept).
    upgrade(empty_url)
    ready = await probe()
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"store": "ok", "temporal": "ok"}


async def test_a_migrated_store_is_trusted_for_a_few_seconds_then_read_again(
    ready_probe: tuple[ApiState, Callable[[], Awaitable[httpx.Response]]], empty_url: str
) -> None:
    state, probe = ready_probe
    upgrade(empty_url)
    assert (await probe()).status_code == 200
    trusted = state.migrated_until
    assert 0 < trusted - time.monotonic() <= MIGRATED_TRUSTED_S
    # Probes in between only ping the store: they neither read the revision nor extend it.
    downgrade(empty_url, "0016_backorder_free")
    assert (await probe()).status_code == 200
    assert state.migrated_until == trusted
    state.migrated_until = 0.0  # the few seconds are over
    _not_migrated(await probe())


async def test_a_store_a_later_release_migrated_is_ready(
    ready_probe: tuple[ApiState, Callable[[], Awaitable[httpx.Response]]], empty_url: str
) -> None:
    # The next release's oms-migrate ran before this release's pods are replaced: they serve.
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_next_release'"))
    engine.dispose()
    _, probe = ready_probe
    assert (await probe()).status_code == 200
