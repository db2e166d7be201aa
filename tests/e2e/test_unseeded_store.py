"""A store migrated without the demo catalogue (``oms db --no-seed``, as the production
image runs it) sells once its owner has set a warehouse, a product and stock through the
API: an order allocates to that warehouse and its shipment waits at the pick.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def test_an_order_on_an_unseeded_store_allocates_to_the_warehouse_set_through_the_api(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path, seed=False) as (stack, _):
        assert (await stack.api.get("/warehouses")).json()["items"] == []
        warehouse = {
            "name": "Malmö DC",
            "line1": "Agnesfridsvägen 113",
            "postal_code": "212 37",
            "city": "Malmö",
            "country": "SE",
        }
        put = await stack.api.put("/warehouses/WH-1", json=warehouse)
        assert put.status_code == 200, put.text
        product = {"name": "Tee", "unit_price": "249.00", "currency": "SEK"}
        assert (await stack.api.put("/products/TEE-1", json=product)).status_code == 200
        stocked = await stack.api.put("/warehouses/WH-1/stock/TEE-1", json={"on_hand": 10})
        assert stocked.status_code == 200, stocked.text

        order_id = f"UN-{uuid.uuid4().hex[:8].upper()}"
        placed = await stack.place(order_body(order_id, [("TEE-1", 2, "249.00")]))
        assert placed.status_code == 202, placed.text
        order = await stack.wait_for_status(order_id, {"picking"})
        assert [s["warehouse_id"] for s in order["shipments"]] == ["WH-1"]
        stock = (await stack.api.get("/stock", params={"sku": "TEE-1"})).json()["items"]
        assert [(s["warehouse_id"], s["reserved"]) for s in stock] == [("WH-1", 2)]
        # The shipment started (its workflow has the warehouse's address as its sender).
        shipment_id = order["shipments"][0]["shipment_id"]
        shipment = await stack.api.get(f"/shipments/{shipment_id}")
        assert shipment.status_code == 200, shipment.text
        assert shipment.json()["warehouse_id"] == "WH-1"
