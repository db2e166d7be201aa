"""The API's answer when what it stands on fails: 503 with Retry-After, never a bare 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import HTTPException
from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError, RPCStatusCode

from oms.settings import Settings
from starters.api.app import create_app
from starters.api.deps import raise_from_update


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


def _http_error_for(err: Exception) -> HTTPException:
    with pytest.raises(HTTPException) as caught:
        raise_from_update(err, "shipment S-1")
    return caught.value


def test_an_update_aborted_by_a_failed_workflow_task_is_a_503_to_retry() -> None:
    aborted = RPCError("workflow update was aborted", RPCStatusCode.FAILED_PRECONDITION, b"")
    error = _http_error_for(aborted)
    assert error.status_code == 503
    assert error.headers == {"Retry-After": "1"}
    assert isinstance(error.detail, dict) and error.detail["error"] == "WorkflowNotReady"


def test_an_update_to_a_finished_workflow_is_a_409() -> None:
    finished = RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
    error = _http_error_for(finished)
    assert error.status_code == 409
    assert isinstance(error.detail, dict) and error.detail["error"] == "Finished"
