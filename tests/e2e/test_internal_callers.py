"""The OMS's own callers (the simulated warehouse, the demo and CLI) use stored tokens
provisioned at start-up, so ``make run`` on PostgreSQL (dev tokens off) completes orders.

Before, the simulated warehouse sent ``dev-warehouse``: on PostgreSQL it got 401s, every
order stopped at ``picking`` and nothing said why.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from devtools.dev import provision_callers
from oms.store import tokens
from sandboxes import warehouse

from stack import order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


async def test_on_postgresql_the_simulated_warehouse_completes_orders_with_its_own_token(
    temporal_client: Client,
    migrated_postgres_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_stack(
        temporal_client,
        migrated_postgres_url,
        tmp_path,
        auth_dev_tokens=None,  # as make run leaves it: off on PostgreSQL
        carrier_simulate=True,
    ) as (stack, _):
        assert not stack.settings.dev_tokens_enabled()
        callers = provision_callers(stack.settings)
        operator = stack.as_token(callers.token)
        order_id = f"IC-{uuid.uuid4().hex[:8].upper()}"
        placed = await operator.post(
            "/orders", json=order_body(order_id, [("CAP-NVY", 1, "199.00")])
        )
        assert placed.status_code == 202, placed.text

        # The old way: a dev token is refused, and the refusal is an error in the log.
        dev = stack.as_token("dev-warehouse")
        with (
            caplog.at_level(logging.ERROR, logger=warehouse.log.name),
            pytest.raises(httpx.HTTPStatusError),
        ):
            await warehouse.step(dev, 0)
        assert any("OMS_SIMULATOR_TOKEN" in r.getMessage() for r in caplog.records)

        stop = asyncio.Event()
        settings = callers.model_copy(update={"simulate_delay_s": 0.0})
        simulator = asyncio.create_task(warehouse.run(settings, stop))
        try:

            async def completed() -> dict[str, Any] | None:
                order: dict[str, Any] = (await operator.get(f"/orders/{order_id}")).json()
                return order if order.get("status") == "completed" else None

            order = await wait_until(completed, 90, f"order {order_id} never completed")
        finally:
            stop.set()
            await simulator
        [shipment] = order["shipments"]
        picked = (await operator.get(f"/shipments/{shipment['shipment_id']}")).json()
        assert picked["picked_by"] == "simulated-warehouse"

        # A restart provisions new tokens and revokes the old ones.
        again = provision_callers(stack.settings)
        with stack.db.session() as session:
            assert tokens.resolve(session, callers.simulator_token) is None
            assert tokens.resolve(session, again.simulator_token) is not None
