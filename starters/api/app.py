"""The OMS HTTP API (FastAPI). OpenAPI at ``/docs``.

``create_app`` is the composition root of the API process: settings, the
store and one Temporal client, built at start-up and closed at shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from oms.client import connect
from oms.settings import Settings
from oms.store.db import Database
from starters.api import (
    carrier_events,
    catalogue,
    metrics,
    ops,
    orders,
    quotes,
    replenishment,
    reports,
    returns,
    shipments,
    webhooks,
)
from starters.api.deps import ApiState

_RETRYABLE_RPC = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
}


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    """Build the API; pass ``client`` to share an existing Temporal connection (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        temporal = client or await connect(settings)
        app.state.oms = ApiState(settings=settings, db=db, client=temporal)
        yield
        db.dispose()

    app = FastAPI(
        title="Temporal OMS",
        version="0.1.0",
        description="Order management on Temporal: every order and shipment is a durable workflow.",
        lifespan=lifespan,
    )
    for module in (
        orders,
        returns,
        quotes,
        catalogue,
        shipments,
        carrier_events,
        ops,
        replenishment,
        reports,
        webhooks,
    ):
        app.include_router(module.router)
    webhooks.install_webhooks(app)

    metrics.install(app)

    @app.exception_handler(StarletteHTTPException)
    async def named_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own errors ("There was an error parsing the body", "Not Found") carry a
        # bare string; give them the OMS's {error, message} shape so every 4xx names its problem.
        detail: object = exc.detail
        if isinstance(detail, str):
            detail = {
                "error": HTTPStatus(exc.status_code).phrase.replace(" ", ""),
                "message": detail,
            }
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RPCError)
    async def temporal_unreachable(request: Request, exc: RPCError) -> JSONResponse:
        # A Temporal call that timed out or found the server down is worth retrying: 503 with
        # Retry-After, never an anonymous 500. Any other RPC failure is the server's answer.
        if exc.status in _RETRYABLE_RPC:
            return JSONResponse(
                {"detail": {"error": "TemporalUnavailable", "message": exc.message}},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        return JSONResponse(
            {"detail": {"error": "TemporalError", "message": f"{exc.status}: {exc.message}"}},
            status_code=502,
        )

    @app.exception_handler(OperationalError)
    async def store_unreachable(request: Request, exc: OperationalError) -> JSONResponse:
        return JSONResponse(
            {"detail": {"error": "StoreUnavailable", "message": "the database is unreachable"}},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        # The simulated warehouse polls the pick list twice a second; its access log is noise.
        access_log=not settings.simulate,
    )


if __name__ == "__main__":
    main()
