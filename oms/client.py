"""The one way every process (worker, API, CLI, tests) connects to Temporal."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.settings import Settings


async def connect(settings: Settings) -> Client:
    """Connect with the pydantic data converter, so models cross every boundary intact."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
