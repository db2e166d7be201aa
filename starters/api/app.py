"""The OMS HTTP API (FastAPI). OpenAPI at ``/docs``.

``create_app`` is the composition root of the API process: settings, the
store and one Temporal client, built at start-up and closed at shutdown.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import Receive, Scope, Send
from temporalio.client import Client

from oms import logs, telemetry
from oms.client import connect
from oms.settings import Settings, load_settings
from oms.store import migrate
from oms.store.db import Database
from oms.version import VERSION
from starters.api import (
    carrier_events,
    catalogue,
    invoices,
    metrics,
    ops,
    order_changes,
    orders,
    prices,
    problems,
    quotes,
    replenishment,
    reports,
    returns,
    shipments,
    shipping,
    subscriptions,
    webhooks,
)
from starters.api.deps import ApiState


class UnsafeExposure(RuntimeError):
    """The API would serve public development secrets beyond loopback."""


def answers_any_host(path: str) -> bool:
    """Whether the API answers ``path`` whatever the ``Host`` header: the health checks."""
    return path == "/health" or path.startswith("/health/")


class HostCheck(TrustedHostMiddleware):
    """``TrustedHostMiddleware`` for every path but ``/health`` and ``/health/*``.

    Probes come from the kubelet (or a load balancer) with the pod's IP address as ``Host``,
    which no configuration can list in advance; the health bodies carry nothing a rebound
    page could use (a status and the names of failed checks).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and answers_any_host(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    """Build the API; pass ``client`` to share an existing Temporal connection (tests).

    Raises ``UnsafeExposure`` when it would listen beyond loopback with dev tokens, the
    public codec key or the public carrier webhook secret.
    """
    settings = settings or Settings()
    exposed = settings.exposure_problems()
    if exposed:
        raise UnsafeExposure(
            "refusing to start: "
            + "; ".join(exposed)
            + ". Listen on 127.0.0.1 (OMS_API_HOST), or set OMS_AUTH_DEV_TOKENS=false and real"
            " OMS_CODEC_KEYS/OMS_CODEC_KEY_ID and OMS_CARRIER_WEBHOOK_SECRET (docs/security.md)."
        )
    # Before the store's engine and the Temporal client exist, so both are traced.
    telemetry.configure("oms-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        temporal = client or await connect(settings, wait_s=settings.temporal_connect_wait_s)
        app.state.oms = ApiState(settings=settings, db=db, client=temporal)
        yield
        db.dispose()

    app = FastAPI(
        title="Temporal OMS",
        version=VERSION,
        description="Order management on Temporal: every order and shipment is a durable workflow.",
        lifespan=lifespan,
        # FastAPI parses a body before it checks the bearer token: without this cap an
        # anonymous caller could make the API buffer any size. Over it: 413 at once on a
        # Content-Length, or as soon as a chunked body passes it, before any parsing.
        max_body_size=settings.api_max_body_bytes,
    )
    for module in (
        orders,
        order_changes,
        returns,
        quotes,
        catalogue,
        prices,
        shipping,
        shipments,
        invoices,
        carrier_events,
        ops,
        replenishment,
        reports,
        subscriptions,
        webhooks,
    ):
        app.include_router(module.router)
    app.include_router(order_changes.claims_router)
    webhooks.install_webhooks(app)

    metrics.install(app)
    telemetry.instrument_app(app)
    # A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) sends
    # its own Host: only the API's names are answered (but on /health/*: HostCheck).
    app.add_middleware(HostCheck, allowed_hosts=settings.allowed_hosts())

    problems.install(app)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/live", tags=["ops"])
    def live() -> dict[str, str]:
        """The process answers (a liveness probe: restart it when this fails)."""
        return {"status": "ok"}

    @app.get("/health/ready", tags=["ops"])
    async def ready(request: Request) -> Response:
        """The store (at this release's migration head) and Temporal answer (a readiness
        probe: send traffic only when they do). 503 problem details (``NotReady``) naming
        each check that failed in ``detail``, with every check's result in ``checks`` as the
        200 has them (for probes and dashboards)."""
        state: ApiState = request.app.state.oms
        checks = {"store": await _check_store(state), "temporal": await _check_temporal(state)}
        failed = {name: result for name, result in checks.items() if result != "ok"}
        if failed:
            what = "; ".join(f"{name} {result}" for name, result in failed.items())
            return problems.problem(
                request, 503, "NotReady", f"not ready: {what}", extensions={"checks": checks}
            )
        return JSONResponse({"status": "ok", "checks": checks})

    return app


READY_TIMEOUT_S = 2.0
# Once the store is seen at the migration head, probes only ping it for this long before
# its revision is read again (a migrated store stays migrated; an unmigrated one is read
# on every probe, so the API turns ready as soon as ``oms db`` has run).
MIGRATED_TRUSTED_S = 5.0
NOT_MIGRATED = "not migrated: run oms db"


async def _check_store(state: ApiState) -> str:
    """``ok``, ``not migrated: run oms db`` (the store lacks this release's migrations:
    every authenticated call would fail), or ``failed: <exception type>``."""

    def check() -> str:
        with state.db.engine.connect() as connection:
            if time.monotonic() < state.migrated_until:
                connection.execute(text("SELECT 1"))
            elif migrate.behind(migrate.store_revision(connection)):
                return NOT_MIGRATED
            else:
                state.migrated_until = time.monotonic() + MIGRATED_TRUSTED_S
        return "ok"

    try:
        await asyncio.to_thread(migrate.head_revision)  # read once per process, untimed
        return await asyncio.wait_for(asyncio.to_thread(check), READY_TIMEOUT_S)
    except Exception as exc:  # any failure is "not ready", named, never a 500
        return f"failed: {type(exc).__name__}"


async def _check_temporal(state: ApiState) -> str:
    try:
        serving = await state.client.service_client.check_health(
            timeout=timedelta(seconds=READY_TIMEOUT_S)
        )
    except Exception as exc:  # any failure is "not ready", named, never a 500
        return f"failed: {type(exc).__name__}"
    return "ok" if serving else "failed: not serving"


# Idle keep-alive connections are closed after this long. Longer than clients keep an idle
# connection in their pools (httpx: 5 s, the same as uvicorn's default): with equal limits a
# client could reuse a connection in the instant the server closes it (a ReadError on a GET).
KEEP_ALIVE_S = 30


def main() -> None:
    import uvicorn

    settings = load_settings()
    logs.configure("api", settings.log_format)
    try:
        app = create_app(settings)
    except UnsafeExposure as err:
        sys.exit(str(err))
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        # uvicorn's loggers go through the root handler logs.configure set (text or JSON).
        log_config=None,
        # The simulated warehouse polls the pick list twice a second; its access log is noise.
        access_log=not settings.simulate,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
