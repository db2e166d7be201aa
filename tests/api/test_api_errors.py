"""The API's answer when what it stands on fails: 503 with Retry-After, never a bare 500."""

from __future__ import annotations

from unittest.mock import ANY

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
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.get("/boom")


async def test_a_temporal_call_that_times_out_is_a_503_worth_retrying() -> None:
    response = await _get_raising(
        RPCError("context deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "/problems/TemporalUnavailable",
        "title": "TemporalUnavailable",
        "status": 503,
        "detail": "context deadline exceeded",
        "instance": "/boom",
    }


async def test_temporal_refusing_for_another_reason_is_a_502_naming_it() -> None:
    response = await _get_raising(
        RPCError("namespace not found", RPCStatusCode.INVALID_ARGUMENT, b"")
    )
    assert response.status_code == 502
    assert "namespace not found" in response.json()["detail"]


async def test_a_database_that_cannot_be_reached_is_a_503() -> None:
    error = OperationalError("SELECT 1", {}, Exception("connection refused"))
    response = await _get_raising(error)
    assert response.status_code == 503
    assert response.json()["title"] == "StoreUnavailable"


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


async def _call(method: str, path: str, **kwargs: object) -> httpx.Response:
    app = create_app(Settings())

    @app.get("/typed")
    def typed(n: int) -> dict[str, int]:
        return {"n": n}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


def _is_problem(response: httpx.Response, status: int, title: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/problems/{title}" and body["title"] == title
    assert body["status"] == status and body["detail"]
    return dict(body)


async def test_a_bug_is_a_500_problem_that_leaks_nothing() -> None:
    body = _is_problem(await _get_raising(RuntimeError("secret internals")), 500, "InternalError")
    assert "secret" not in str(body)


async def test_unknown_routes_methods_and_bad_parameters_are_problems() -> None:
    _is_problem(await _call("GET", "/no-such-route"), 404, "NotFound")
    _is_problem(await _call("DELETE", "/health"), 405, "MethodNotAllowed")
    body = _is_problem(await _call("GET", "/typed?n=abc"), 422, "ValidationError")
    assert body["errors"] == [
        {"loc": ["query", "n"], "msg": ANY, "type": "int_parsing"},
    ]
    assert "query.n" in str(body["detail"])


def test_the_openapi_declares_the_problem_shape_for_every_operation() -> None:
    schema = create_app(Settings()).openapi()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert {"type", "title", "status", "detail"} <= set(
        schema["components"]["schemas"]["Problem"]["required"]
    )
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) > 30
    for op in operations:
        assert op["responses"]["default"]["content"] == problem, op["operationId"]
        for code, answer in op["responses"].items():
            if code[0] in "45":
                assert answer["content"] == problem, (op["operationId"], code)
