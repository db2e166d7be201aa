"""The one way every process (worker, API, CLI, tests) connects to Temporal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from pathlib import Path
from typing import cast

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from oms import telemetry
from oms.codec import EncryptionCodec, codec_from_spec
from oms.failures import CompactFailureConverter
from oms.settings import Settings

log = logging.getLogger(__name__)

# The first pause between two tries to reach Temporal; it doubles up to the cap.
_CONNECT_BACKOFF_S = 0.25
_CONNECT_BACKOFF_CAP_S = 2.0


def payload_codec(settings: Settings, require_encrypted: bool = False) -> EncryptionCodec:
    """The payload encryption codec from ``OMS_CODEC_KEYS`` / ``OMS_CODEC_KEY_ID``.

    Raises ``ValueError`` for malformed keys or a current key id that is not loaded.
    """
    return codec_from_spec(settings.codec_keys, settings.codec_key_id, require_encrypted)


def data_converter(settings: Settings) -> DataConverter:
    """The one data converter of every client, worker, test environment and replayer:
    pydantic models, every payload encrypted (customer PII never reaches Temporal), and
    plain payloads refused when real keys are configured; failures trimmed to what the
    server keeps (``oms.failures``)."""
    codec = payload_codec(settings, settings.requires_encrypted_payloads())
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        # Failures the server keeps whole (it drops a pending activity's last one past 4 KB).
        failure_converter_class=CompactFailureConverter,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS for the Temporal connection: the SDK's (``TEMPORAL_TLS*`` or the profile's) when it
    set one, else from the deprecated ``OMS_TEMPORAL_TLS*`` settings (False: plain, the dev
    server).

    Raises ``FileNotFoundError`` naming a configured certificate file that is missing.
    """
    from_sdk = settings.temporal_tls_from_environment()
    if from_sdk is not None:
        return cast(TLSConfig | bool, from_sdk)
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


async def connect(
    settings: Settings, runtime: Runtime | None = None, *, wait_s: float = 0.0
) -> Client:
    """Connect with the OMS data converter: models cross every boundary intact, encrypted.

    Where and how is the SDK's environment configuration as ``settings`` resolved it
    (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS*``, a
    ``temporal.toml`` profile), so the same settings reach the dev server, a self-hosted
    cluster (mTLS) or Temporal Cloud (mTLS or an API key, which implies TLS).

    ``wait_s``: how long to keep trying while the server does not answer (a worker or an
    API started before Temporal; ``OMS_TEMPORAL_CONNECT_WAIT_S``), with a log line for each
    failed try; 0 tries once. Raises ``RuntimeError`` (the SDK's "Failed client connect")
    when the last try fails.
    """
    tls = tls_config(settings)
    api_key = settings.temporal_api_key or None
    deadline = time.monotonic() + wait_s
    pause = _CONNECT_BACKOFF_S
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=data_converter(settings),
                runtime=runtime,
                tls=tls if tls or not api_key else True,
                api_key=api_key,
                # Tracing (when configured): workers built on this client trace workflows and
                # activities in the trace of the request that started them.
                interceptors=telemetry.client_interceptors(),
            )
        except RuntimeError as err:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            log.warning(
                "Temporal at %s does not answer yet (%s); trying again for %.0f s more",
                settings.temporal_address,
                err,
                left,
            )
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _CONNECT_BACKOFF_CAP_S)


def metrics_runtime(bind_address: str) -> Runtime:
    """An SDK runtime exporting worker and workflow metrics on ``bind_address`` (Prometheus).

    Must be created before the client that uses it.
    """
    return Runtime(
        telemetry=TelemetryConfig(
            # Prometheus conventions, as the API's own series: every counter ends in _total
            # (temporal_workflow_completed_total, oms_order_status_total), durations in seconds.
            metrics=PrometheusConfig(
                bind_address=bind_address, durations_as_seconds=True, counters_total_suffix=True
            )
        )
    )
