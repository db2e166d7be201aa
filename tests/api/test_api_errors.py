"""The API's answer when what it stands on fails: 503 with Retry-After, never a bare 500."""

from __future__ import annotations

import httpx
from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError, RPCStatusCode

from oms.settings import Settings
from starters.api.app import create_app


async def _get_raising(error: Exception) -> httpx.Response:
    # No lifespan (no Temporal connection): only the route below runs.
    app = create_app(Settings())

    @app.get("/boom")
    def boom() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.get("/boom")


async def test_a_temporal_call_that_times_out_is_a_503_worth_retrying() -> None:
    response = await _get_raising(
        RPCError("context deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"] == {
        "error": "TemporalUnavailable",
        "message": "context deadline exceeded",
    }


async def test_temporal_refusing_for_another_reason_is_a_502_naming_it() -> None:
    response = await _get_raising(
        RPCError("namespace not found", RPCStatusCode.INVALID_ARGUMENT, b"")
    )
    assert response.status_code == 502
    assert "namespace not found" in response.json()["detail"]["message"]


async def test_a_database_that_cannot_be_reached_is_a_503() -> None:
    error = OperationalError("SELECT 1", {}, Exception("connection refused"))
    response = await _get_raising(error)
    assert response.status_code == 503
    assert response.json()["detail"]["error"] == "StoreUnavailable"
