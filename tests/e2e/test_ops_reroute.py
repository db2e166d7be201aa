"""Re-routing a shipment: the old reservation is released, the lines are allocated again
elsewhere, and the order completes from the new warehouse."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from oms.store.tables import StockRow

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def test_reroute_moves_a_shipment_to_the_nearest_other_warehouse(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = f"RR-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(
            order_id, [("SNEAKER-WHT-42", 2, "1199.00")], city="Malmö", postal_code="211 22"
        )
        assert (await stack.place(body)).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        [first] = order["shipments"]
        assert first["warehouse_id"] == "WH-MMO"

        def reserved(warehouse: str) -> int:
            with stack.db.session() as session:
                row = session.get(StockRow, (warehouse, "SNEAKER-WHT-42"))
                return row.reserved if row else 0

        assert (reserved("WH-MMO"), reserved("WH-STO")) == (2, 0)
        response = await stack.as_role("ops").post(
            f"/ops/shipments/{first['shipment_id']}/reroute",
            json={
                "reason": "Malmö is closed for inventory",
                "shipment_id": first["shipment_id"],
            },
        )
        assert response.status_code == 200, response.text
        moved = response.json()
        statuses = {s["shipment_id"]: (s["warehouse_id"], s["status"]) for s in moved["shipments"]}
        assert statuses[first["shipment_id"]] == ("WH-MMO", "cancelled")
        new = [sid for sid, (wh, _) in statuses.items() if wh == "WH-STO"]
        assert len(new) == 1
        assert (reserved("WH-MMO"), reserved("WH-STO")) == (0, 2)
        # Recorded as the operator's token, not a name from the body.
        assert any(
            h["note"].startswith("Operations (dev-ops): reroute: Malmö is closed")
            for h in moved["history"]
        )

        again = await stack.as_role("ops").post(
            f"/ops/shipments/{first['shipment_id']}/reroute",
            json={"reason": "twice", "shipment_id": first["shipment_id"]},
        )
        assert again.status_code == 409, again.text
        assert again.json()["title"] == "NotReroutable"

        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"
        delivered = [s for s in order["shipments"] if s["status"] == "delivered"]
        assert [s["warehouse_id"] for s in delivered] == ["WH-STO"]
