"""One error shape for the whole API: RFC 9457 problem details (``application/problem+json``).

Handlers keep raising ``HTTPException(status, detail={"error": Name, "message": ...})`` (or
FastAPI's validation errors); the handlers installed here turn every error into

    {"type": "/problems/<Name>", "title": "<Name>", "status": 409,
     "detail": "<what happened>", "instance": "/orders/A-1", "errors": [...]}

where ``errors`` (422 only) lists each invalid field with its ``loc`` and ``msg``. The
OpenAPI schema declares the shape as every operation's ``default`` response and its 422.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from oms.store.paging import InvalidCursor

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_RETRYABLE_RPC = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
}


class FieldProblem(BaseModel):
    """One invalid field of a 422: where (``loc``, from ``body``/``query``/``path``) and why."""

    loc: list[str | int]
    msg: str
    type: str = "value_error"


class Problem(BaseModel):
    """An error answer (RFC 9457). ``title`` is the OMS's name for the problem, stable
    enough for a client to branch on; ``detail`` says what happened to this request."""

    type: str = Field(examples=["/problems/NotFound"])
    title: str = Field(examples=["NotFound"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["order A-1 not found"])
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def _name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "Error"


def problem(
    request: Request | None,
    status: int,
    name: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """The problem-details answer for ``status`` named ``name``; ``extensions`` are members
    of this problem type beside the standard ones (RFC 9457), e.g. ``NotReady``'s ``checks``."""
    body: dict[str, Any] = {
        "type": f"/problems/{name}",
        "title": name,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors is not None:
        body["errors"] = [
            {"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in errors
        ]
    for member, value in (extensions or {}).items():
        body.setdefault(member, value)  # never in place of a standard member
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=MEDIA_TYPE
    )


def _field_summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", []))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid request: {where}: {first.get('msg', '')}{more}"


def from_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Any ``HTTPException``: the OMS's ``{error, message}``, a field list, or a bare string."""
    detail: Any = exc.detail
    headers = dict(exc.headers) if exc.headers else None
    if isinstance(detail, dict) and "error" in detail:
        return problem(
            request,
            exc.status_code,
            str(detail["error"]),
            str(detail.get("message", "")),
            headers=headers,
        )
    if isinstance(detail, list):
        return problem(
            request,
            exc.status_code,
            "ValidationError",
            _field_summary(detail),
            errors=detail,
            headers=headers,
        )
    return problem(request, exc.status_code, _name(exc.status_code), str(detail), headers=headers)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem and declare the shape in its OpenAPI."""

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return from_http_exception(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        return problem(request, 422, "ValidationError", _field_summary(errors), errors=errors)

    @app.exception_handler(InvalidCursor)
    async def foreign_cursor(request: Request, exc: InvalidCursor) -> JSONResponse:
        errors = [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        return problem(request, 422, "ValidationError", _field_summary(errors), errors=errors)

    @app.exception_handler(RPCError)
    async def temporal_unreachable(request: Request, exc: RPCError) -> JSONResponse:
        # A Temporal call that timed out or found the server down is worth retrying: 503 with
        # Retry-After, never an anonymous 500. Any other RPC failure is the server's answer.
        if exc.status in _RETRYABLE_RPC:
            return problem(
                request, 503, "TemporalUnavailable", exc.message, headers={"Retry-After": "1"}
            )
        return problem(request, 502, "TemporalError", f"{exc.status}: {exc.message}")

    @app.exception_handler(OperationalError)
    async def store_unreachable(request: Request, exc: OperationalError) -> JSONResponse:
        # The caller learns only that it may retry; the operator needs the driver's reason.
        log.warning("store unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(
            request,
            503,
            "StoreUnavailable",
            "the database is unreachable",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: the log has the traceback; the caller gets the shape, not the internals.
        return problem(request, 500, "InternalError", "the OMS failed to answer; see its log")

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem shape as each operation's ``default`` answer and its 422."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["Problem"].pop("$defs", {}))
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for code, answer in list(responses.items()):
                if code.startswith(("4", "5")):
                    answer["content"] = content
                    answer.setdefault("description", _name(int(code)))
            if "422" in responses:
                responses["422"]["description"] = "Validation Error"
            responses["default"] = {"description": "An error (problem details)", "content": content}
    return schema
