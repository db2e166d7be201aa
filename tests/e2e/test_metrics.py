"""Prometheus: the worker exports SDK and business series, the API its request series."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from oms.client import connect, metrics_runtime
from oms.settings import Settings

from stack import free_port, order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def test_worker_and_api_expose_order_metrics(
    dev_server: WorkflowEnvironment, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    bind = f"127.0.0.1:{free_port()}"
    address = dev_server.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address), metrics_runtime(bind))
    async with running_stack(client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = f"MET-{uuid.uuid4().hex[:8].upper()}"
        assert (
            await stack.place(order_body(order_id, [("CAP-NVY", 1, "199.00")]))
        ).status_code == 202
        await stack.fulfil(order_id)
        async with httpx.AsyncClient() as http:
            worker = (await http.get(f"http://{bind}/metrics")).text
        api = (await stack.api.get("/metrics")).text

    completed = [
        line
        for line in worker.splitlines()
        if line.startswith("oms_order_status_total{") and 'status="completed"' in line
    ]
    assert completed and float(completed[0].rsplit(" ", 1)[1]) >= 1
    assert any(
        line.startswith("oms_order_stage_seconds_count") and 'status="picking"' in line
        for line in worker.splitlines()
    )
    # The SDK's own worker series, counters named as Prometheus names them.
    assert "temporal_workflow_completed_total{" in worker
    counters = [
        line.split()[2]
        for line in worker.splitlines()
        if line.startswith("# TYPE ") and line.endswith(" counter")
    ]
    assert counters and all(name.endswith("_total") for name in counters), counters
    posted = [
        line
        for line in api.splitlines()
        if line.startswith("oms_api_requests_total")
        and 'route="/orders"' in line
        and 'method="POST"' in line
    ]
    assert posted and float(posted[0].rsplit(" ", 1)[1]) >= 1
