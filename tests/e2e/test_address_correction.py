"""End to end over real HTTP: a shipment's address corrected by operations
(``POST /shipments/{id}/address``) reaches the carrier's label and the order.

Runs on SQLite only: its subject is not the store, which tests/store and the
scenarios about it exercise on both.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

SOLNA = {
    "name": "Anna Lindqvist",
    "line1": "Industrivägen 4",
    "postal_code": "171 48",
    "city": "Solna",
    "country": "SE",
}


async def test_a_parcel_picking_is_sent_to_the_corrected_address(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("TSHIRT-BLK-M", 1, "249.00")])
        assert (await stack.place(body)).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        shipment_id = order["shipments"][0]["shipment_id"]
        ops = stack.as_role("ops")
        path = f"/shipments/{shipment_id}/address"

        # Every bad field at once, nothing changed.
        bad = {**SOLNA, "postal_code": "ABCDE"}
        refused = await ops.post(path, json={"ship_to": bad, "reason": "moved"})
        assert refused.status_code == 422, refused.text
        assert [e["loc"] for e in refused.json()["errors"]] == [["body", "ship_to", "postal_code"]]
        corrected = await ops.post(path, json={"ship_to": SOLNA, "reason": "moved"})
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["status"] == "picking"
        assert corrected.json()["ship_to"]["postal_code"] == "171 48"
        assert corrected.json()["history"][-1]["by"] == "dev-ops"

        done = await stack.fulfil(order_id)
        assert done["status"] == "completed"
        assert done["ship_to"]["city"] == "Solna"
        assert any("Address corrected by dev-ops: moved" in h["note"] for h in done["history"])
        shipment = await ops.get(f"/shipments/{shipment_id}")
        assert shipment.json()["ship_to"]["city"] == "Solna"
        too_late = await ops.post(path, json={"ship_to": SOLNA, "reason": "again"})
        assert too_late.status_code == 409, too_late.text
