"""OpenTelemetry tracing of the OMS processes, on only when an OTLP endpoint is configured.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, a
process exports its spans over OTLP/HTTP (protobuf): the API's HTTP requests (FastAPI),
every Temporal client call, workflow and activity (the SDK's ``TracingInterceptor``, which
carries the trace across Temporal in the payload headers), and the SQL and outbound HTTP
calls under them (SQLAlchemy, httpx). One order's trace runs from ``POST /orders`` to its
last activity. The standard ``OTEL_*`` variables configure the rest: ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``, ...

Without an endpoint nothing is imported or patched: the OpenTelemetry packages stay unloaded.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from temporalio.client import Interceptor

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_lock = threading.Lock()
_provider: Any = None


def requested() -> bool:
    """Whether the environment names an OTLP endpoint (and ``OTEL_SDK_DISABLED`` is not true)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def configure(service_name: str) -> bool:
    """Install the process's tracer provider (OTLP/HTTP exporter) and instrument SQLAlchemy
    and httpx, once per process, when an endpoint is configured. Returns whether tracing is on.

    ``service_name`` is used unless ``OTEL_SERVICE_NAME`` names the service.
    """
    global _provider
    if not requested():
        return False
    with _lock:
        if _provider is not None:
            return True
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
        # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; the sampler
        # and the exporter's endpoint, headers and timeout come from their OTEL_* variables.
        provider = TracerProvider(resource=Resource.create(attributes))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        # Engines and clients made from now on are traced (every process makes them after
        # configuring, in its composition root).
        SQLAlchemyInstrumentor().instrument()
        HTTPXClientInstrumentor().instrument()
        _provider = provider
        return True


def enabled() -> bool:
    """Whether ``configure`` turned tracing on in this process."""
    return _provider is not None


def client_interceptors() -> list[Interceptor]:
    """The Temporal client interceptors: the SDK's tracing interceptor when tracing is on.

    A worker built on the client uses it too, for its workflows and activities.
    """
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def instrument_app(app: FastAPI) -> None:
    """Trace every request of ``app`` (a server span per request) when tracing is on."""
    if enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="health,metrics")


def flush(timeout_ms: int = 10_000) -> bool:
    """Export the spans still buffered (before a process exits). True when all were sent."""
    if _provider is None:
        return True
    return bool(_provider.force_flush(timeout_ms))
