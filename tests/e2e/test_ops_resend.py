"""An ended order's customer email is sent again: its workflow ended right after the
"cancelled" email, so the API sends it from the stored view, on the key the order would
have used next, and keeps the intervention in the order's history (it answered 409
``Finished`` before: a lost "cancelled" or "completed" email had to be sent by hand)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from oms.ids import order_workflow_id

from stack import order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def test_an_ended_orders_email_is_sent_again_and_kept_in_its_history(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = f"RS-{uuid.uuid4().hex[:8].upper()}"
        assert (
            await stack.place(order_body(order_id, [("CAP-NVY", 1, "199.00")]))
        ).status_code == 202
        await stack.wait_for_status(order_id, {"allocated", "picking"})
        # Staff's reason is internal; the customer reads the note (docs/order-changes.md).
        asked = {"reason": "called in to cancel", "customer_note": "changed my mind"}
        cancelled = await stack.api.post(f"/orders/{order_id}/cancel", json=asked)
        assert cancelled.status_code == 200, cancelled.text
        await stack.wait_for_status(order_id, {"cancelled"})
        handle = temporal_client.get_workflow_handle(order_workflow_id(order_id))

        async def closed() -> bool:
            return (await handle.describe()).close_time is not None

        await wait_until(closed, 15, "the order's workflow never ended")
        # The UI's list shows the summary set at the start: it says so, not "the total".
        summary = await (await handle.describe()).static_summary()
        assert summary == f"Order {order_id} · web · placed with 1 line(s), SEK 248.00"  # en
        ops = stack.as_role("ops")
        body = {"by": "Mallory", "reason": "customer lost it", "notification": "order_cancelled"}

        first = await ops.post(f"/ops/orders/{order_id}/resend", json=body)
        assert first.status_code == 200, first.text
        message = await stack.wait_for_email(f"{order_id}:order_cancelled:resend:1")
        # The note the first email gave, as first sent; never the reason.
        assert "changed my mind" in message.text and "called in" not in message.text
        original = await stack.wait_for_email(f"{order_id}:cancelled")
        assert (message.to, message.subject) == (original.to, original.subject)
        assert message.message_id != original.message_id
        second = await ops.post(f"/ops/orders/{order_id}/resend", json=body)
        assert second.status_code == 200, second.text
        await stack.wait_for_email(f"{order_id}:order_cancelled:resend:2")
        resends = [
            (h["note"], h["by"]) for h in second.json()["history"] if h["action"] == "resend"
        ]
        assert (
            resends
            == [("Operations (dev-ops): resend: customer lost it (order_cancelled)", "ops:dev-ops")]
            * 2
        )
        stored = (await stack.api.get(f"/orders/{order_id}")).json()
        assert stored["history"] == second.json()["history"]

        # Only what it sent: it was never completed, and an ended order is not on hold.
        for notification, why in (
            (
                "order_completed",
                "the order never sent order_completed: it is sent once it is completed",
            ),
            ("order_on_hold", f"order {order_id} has ended: it is not on hold"),
        ):
            refused = await ops.post(
                f"/ops/orders/{order_id}/resend", json={**body, "notification": notification}
            )
            assert refused.status_code == 409, refused.text
            assert (refused.json()["title"], refused.json()["detail"]) == ("NotSent", why)
