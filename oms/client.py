"""The one way every process (worker, API, CLI, tests) connects to Temporal."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from oms.settings import Settings


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect with the pydantic data converter, so models cross every boundary intact."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


def metrics_runtime(bind_address: str) -> Runtime:
    """An SDK runtime exporting worker and workflow metrics on ``bind_address`` (Prometheus).

    Must be created before the client that uses it.
    """
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=bind_address, durations_as_seconds=True)
        )
    )
