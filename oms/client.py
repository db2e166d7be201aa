"""The one way every process (worker, API, CLI, tests) connects to Temporal."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from oms.settings import Settings


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS for the Temporal connection from ``OMS_TEMPORAL_TLS*`` (False: plain, the dev server).

    Raises ``FileNotFoundError`` naming a configured certificate file that is missing.
    """
    files = (settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca)
    if not (settings.temporal_tls or any(files)):
        return False

    def read(path: str) -> bytes | None:
        return Path(path).read_bytes() if path else None

    return TLSConfig(
        client_cert=read(settings.temporal_tls_cert),
        client_private_key=read(settings.temporal_tls_key),
        server_root_ca_cert=read(settings.temporal_tls_ca),
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect with the pydantic data converter, so models cross every boundary intact.

    The same settings reach the dev server, a self-hosted cluster (mTLS files) or
    Temporal Cloud (mTLS or ``OMS_TEMPORAL_API_KEY``, which implies TLS).
    """
    tls = tls_config(settings)
    api_key = settings.temporal_api_key or None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        tls=tls if tls or not api_key else True,
        api_key=api_key,
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
