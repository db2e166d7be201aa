"""``/metrics``: the API's own Prometheus series.

``oms_api_requests_total{method,route,status}`` and
``oms_api_request_seconds{method,route}`` (by route template, so ids do not
explode the label space). Workers export the SDK's metrics and the business
series (``oms_order_status_total`` ...) on their own endpoint (``OMS_METRICS_BIND``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)


def install(app: FastAPI) -> None:
    """Count and time every request, and serve the registry at ``/metrics``."""
    registry = CollectorRegistry()
    requests = Counter(
        "oms_api_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "oms_api_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        latency.labels(request.method, template).observe(time.perf_counter() - started)
        requests.labels(request.method, template, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
