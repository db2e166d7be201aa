"""The OMS HTTP API (FastAPI). OpenAPI at ``/docs``.

``create_app`` is the composition root of the API process: settings, the
store and one Temporal client, built at start-up and closed at shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from oms.client import connect
from oms.settings import Settings
from oms.store.db import Database
from starters.api import (
    carrier_events,
    catalogue,
    metrics,
    ops,
    orders,
    problems,
    quotes,
    replenishment,
    reports,
    returns,
    shipments,
    webhooks,
)
from starters.api.deps import ApiState


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

    problems.install(app)

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
