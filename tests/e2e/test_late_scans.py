"""A carrier scan for a shipment whose workflow has ended is kept, not lost (docs/api.md,
"Carrier events").

Before: a parcel claimed lost (the order reshipped it) that the carrier then scanned
delivered was answered 409 ``Finished`` and the scan was dropped, so nobody heard the
customer now held both the parcel and its reship. Now the scan is kept once per event id,
answered 202 ``recorded_after_end``, shown on the order and the shipment, and operations
are emailed; a carrier's resend after a delivery is kept without an alert.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from oms.domain.auth import event_headers
from oms.ids import shipment_workflow_id
from oms.store import idempotency

from stack import Stack, order_body, running_stack, wait_until


async def _post_scan(
    stack: Stack, tracking: str, status: str, event_id: str, **more: Any
) -> httpx.Response:
    event = json.dumps({"tracking_number": tracking, "status": status, **more}).encode()
    headers = {"content-type": "application/json"} | event_headers(
        stack.settings.carrier_webhook_secret, event, event_id, datetime.now(UTC)
    )
    return await stack.as_token(None).post("/carrier/events", content=event, headers=headers)


async def _workflow_closed(stack: Stack, shipment_id: str) -> None:
    async def closed() -> bool | None:
        handle = stack.client.get_workflow_handle(shipment_workflow_id(shipment_id))
        return True if (await handle.describe()).close_time is not None else None

    await wait_until(closed, 30, f"shipment {shipment_id} did not end")


async def test_a_delivery_after_a_lost_claim_is_kept_once_shown_and_alerts_operations(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = f"LS-{uuid.uuid4().hex[:8].upper()}"
        placed = await stack.place(order_body(order_id, [("CAP-NVY", 1, "199.00")]))
        assert placed.status_code == 202, placed.text
        await stack.wait_for_status(order_id, {"picking"})
        sid = f"{order_id}-S1"
        warehouse = stack.as_role("warehouse")
        await warehouse.post(f"/shipments/{sid}/pick", json={})
        await warehouse.post(f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 300}]})
        order = await stack.wait_for_status(order_id, {"shipped"})
        tracking = order["shipments"][0]["tracking_number"]
        lost = {"kind": "lost", "resolution": "reship", "reason": "no scan for ten days"}
        claimed = await stack.as_role("support").post(f"/shipments/{sid}/claims", json=lost)
        assert claimed.status_code == 200, claimed.text
        await _workflow_closed(stack, sid)

        # The parcel turns up: the carrier scans it delivered.
        at = "2026-12-09T10:15:00Z"
        scan = await _post_scan(stack, tracking, "delivered", "late-1", at=at)
        assert scan.status_code == 202, scan.text
        assert scan.json() == {
            "shipment_id": sid,
            "status": "recorded_after_end",
            "shipment_status": "claimed",
        }
        alert = await stack.wait_for_email(f"{sid}:delivered_after_claim")
        assert alert.to == stack.settings.ops_email
        assert "claimed lost, was delivered on 2026-12-09 10:15:00 UTC" in alert.subject + str(
            alert.message
        )
        # The carrier retries the same event after the replay window: kept once, mailed once.
        with stack.db.session() as session:
            idempotency.forget_receipt(session, "late-1")
        again = await _post_scan(stack, tracking, "delivered", "late-1", at=at)
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "recorded_after_end"

        order = await stack.order(order_id)
        [late] = order["late_events"]
        assert (late["event_id"], late["shipment_id"], late["status"]) == (
            "late-1",
            sid,
            "delivered",
        )
        assert (late["shipment_status"], late["alerted"]) == ("claimed", True)
        notes = [h["note"] for h in order["history"] if h.get("action") == "late_scan"]
        assert notes == [
            "Carrier: delivered on 2026-12-09 10:15:00 UTC, after the shipment ended claimed;"
            " operations notified"
        ]
        shipment = (await stack.api.get(f"/shipments/{sid}")).json()
        assert shipment["status"] == "claimed"
        assert [e["event_id"] for e in shipment["late_events"]] == ["late-1"]
        assert shipment["history"][-1]["action"] == "late_scan"
        assert len(stack.smtp.messages_for(f"{sid}:delivered_after_claim")) == 1
        # A second delivery scan of the same parcel (another event id) is kept without an
        # alert of its own: operations were told once, and the scan says so.
        again = await _post_scan(stack, tracking, "delivered", "late-1b")
        assert again.status_code == 202, again.text
        shipment = (await stack.api.get(f"/shipments/{sid}")).json()
        assert [(e["event_id"], e["alerted"]) for e in shipment["late_events"]] == [
            ("late-1", True),
            ("late-1b", False),
        ]
        assert len(stack.smtp.messages_for(f"{sid}:delivered_after_claim")) == 1

        # The reship is delivered, and the carrier resends its delivery later: kept, no alert.
        done = await stack.fulfil(order_id)
        reship = next(s for s in done["shipments"] if s["shipment_id"] != sid)
        await _workflow_closed(stack, reship["shipment_id"])
        resent = await _post_scan(stack, reship["tracking_number"], "delivered", "late-2")
        assert resent.status_code == 202, resent.text
        assert resent.json()["shipment_status"] == "delivered"
        order = await stack.order(order_id)
        assert [(e["event_id"], e["alerted"]) for e in order["late_events"]] == [
            ("late-1", True),
            ("late-1b", False),
            ("late-2", False),
        ]
        assert stack.smtp.messages_for(f"{reship['shipment_id']}:delivered_after_claim") == []

        # An unknown tracking number is answered as before.
        unknown = await _post_scan(stack, "NO-SUCH-TRACKING", "delivered", "late-3")
        assert unknown.status_code == 404
        assert unknown.json()["title"] == "UnknownTrackingNumber"
