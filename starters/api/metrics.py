"""``/metrics``: the API's own Prometheus series.

``oms_api_requests_total{method,route,status}`` and
``oms_api_request_seconds{method,route}`` (by route template, so ids do not
explode the label space). Workers export the SDK's metrics and the business
series (``oms_order_status_total`` ...) on their own endpoint (``OMS_METRICS_BIND``).
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _Measure:
    """Counts and times each HTTP request by route template, as pure ASGI middleware:
    ``BaseHTTPMiddleware`` (``@app.middleware``) would cost every request a task group and
    a memory stream, a measurable share of a POST. A request that raises counts as a 500."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router puts the matched route into the scope it was given (this one).
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.latency.labels(method, template).observe(time.perf_counter() - started)
            self.requests.labels(method, template, str(status)).inc()


def install(app: FastAPI) -> None:
    """Count and time every request, and serve the registry at ``/metrics``."""
    registry = CollectorRegistry()
    requests = Counter(
        "oms_api_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "oms_api_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )
    app.add_middleware(_Measure, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
