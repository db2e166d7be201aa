"""End to end over real HTTP: changes to a placed order (notes, holds, refunds).

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture). One order each: the
risk rules hold it (billing country differs), support notes and releases it, and once
it completed, finance refunds part of it without a return.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client

from sandboxes.payments import LedgerRow

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def test_a_risky_order_is_held_noted_released_and_refusals_change_nothing(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("TSHIRT-BLK-M", 1, "249.00")])
        body["bill_to"] = {**body["ship_to"], "country": "NO"}
        assert (await stack.place(body)).status_code == 202
        held = await stack.wait_for_status(order_id, {"on_hold"})
        assert held["hold"]["reason"] == "risk_review"
        assert held["hold"]["findings"] == ["billing country NO differs from shipping country SE"]
        assert held["shipments"] == [] and held["allocations"] == []

        support, buyer = stack.as_role("support"), stack.as_role("buyer")
        noted = await support.post(
            f"/orders/{order_id}/notes",
            json={"text": "Called the customer: moved to Oslo", "tags": ["risk", "called"]},
        )
        assert noted.status_code == 200, noted.text
        assert noted.json()["notes"][0]["by"] == "dev-support"
        bad_tag = await support.post(
            f"/orders/{order_id}/notes", json={"text": "x", "tags": ["A B"]}
        )
        assert bad_tag.status_code == 422 and "tag" in bad_tag.text
        forbidden = await buyer.post(f"/orders/{order_id}/release", json={"reason": "mine"})
        assert forbidden.status_code == 403
        again = await support.post(f"/orders/{order_id}/hold", json={"reason": "twice"})
        assert again.status_code == 409 and again.json()["title"] == "AlreadyHeld"

        released = await support.post(f"/orders/{order_id}/release", json={"reason": "verified"})
        assert released.status_code == 200, released.text
        assert released.json()["hold"] is None
        order = await stack.wait_for_status(order_id, {"allocated", "picking"})
        late = await support.post(f"/orders/{order_id}/hold", json={"reason": "second thoughts"})
        assert late.status_code == 409 and late.json()["title"] == "TooLateToHold"
        assert "cancel it instead" in late.json()["detail"]
        not_held = await support.post(f"/orders/{order_id}/release", json={"reason": "again"})
        assert not_held.status_code == 409 and not_held.json()["title"] == "NotHeld"

        order = await stack.order(order_id)
        assert order["hold"] is None
        assert [n["text"] for n in order["notes"]] == ["Called the customer: moved to Oslo"]
        actions = [(h["status"], h["action"], h["by"]) for h in order["history"]]
        assert ("on_hold", "hold", "risk-rules") in actions
        assert ("on_hold", "note", "dev-support") in actions
        assert ("on_hold", "release", "dev-support") in actions
        assert not any(h["note"].endswith("second thoughts") for h in order["history"])

        done = await stack.fulfil(order_id)
        assert done["status"] == "completed"
        # Search: by tracking number, and by id with a SKU it holds and one it does not.
        tracking = done["shipments"][0]["tracking_number"]
        for params, found in (
            ({"tracking_number": tracking}, [order_id]),
            ({"q": order_id, "sku": "TSHIRT-BLK-M", "channel": "web"}, [order_id]),
            ({"q": order_id, "sku": "SOCKS-3PK"}, []),
        ):
            listed = await support.get("/orders", params=params)
            assert [o["order_id"] for o in listed.json()["items"]] == found, params
        bad = await support.get("/orders", params={"placed_from": "yesterday"})
        assert bad.status_code == 422 and "placed_from" in bad.text
        after = await support.post(f"/orders/{order_id}/notes", json={"text": "Thanked them"})
        assert after.status_code == 200, after.text
        final = await stack.order(order_id)
        assert final["notes"][-1]["text"] == "Thanked them"
        assert final["history"][-1]["status"] == "completed"
        assert final["history"][-1]["note"] == "Note by dev-support: Thanked them"

        finance = stack.as_role("finance")
        url, late_delivery = f"/orders/{order_id}/refunds", {"amount": "50.00", "reason": "late"}
        missing = await finance.post(url, json=late_delivery)
        assert missing.status_code == 422 and "Idempotency-Key" in missing.text
        first = await finance.post(url, json=late_delivery, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == 200, first.text
        refund = first.json()
        assert (refund["status"], refund["amount"], refund["requested_by"]) == (
            "refunded",
            "50.00",
            "dev-finance",
        )
        again = await finance.post(url, json=late_delivery, headers={"Idempotency-Key": "k-1"})
        assert again.status_code == 200 and again.json()["refund_id"] == refund["refund_id"]
        other = await finance.post(
            url, json={"amount": "60.00", "reason": "late"}, headers={"Idempotency-Key": "k-1"}
        )
        assert other.status_code == 409 and other.json()["title"] == "IdempotencyKeyReused"
        too_much = await finance.post(
            url, json={"amount": "300.00", "reason": "all"}, headers={"Idempotency-Key": "k-2"}
        )
        assert too_much.status_code == 409 and too_much.json()["title"] == "RefundDeclined"
        # 249.00 and 49.00 shipping captured, 50.00 refunded.
        assert "exceeds the 248.00 left to refund" in too_much.json()["detail"]
        assert not too_much.json()["detail"].startswith("RefundDeclined")
        with stack.payments.session() as session:
            kinds = session.scalars(
                select(LedgerRow.amount).where(
                    LedgerRow.order_id == order_id, LedgerRow.kind == "refund"
                )
            ).all()
        assert [str(k) for k in kinds] == ["50.00"]
        shown = await stack.order(order_id)
        assert [(r["key"], r["status"]) for r in shown["refunds"]] == [
            ("k-1", "refunded"),
            ("k-2", "declined"),
        ]
        # What the card was charged and refunded, as the provider's ledger says.
        assert shown["money"] == {"captured": "298.00", "refunded": "50.00", "net": "248.00"}
        refund_lines = [h["note"] for h in shown["history"] if h["action"] == "refund"]
        assert refund_lines[0] == f"Refunded 50.00 SEK ({refund['refund_id']}): late"
        assert refund_lines[1].startswith("Refund of 300.00 SEK declined: RefundDeclined")

        # The customer's own token reads the same order without staff's side of it: no
        # findings, notes, releases, names or the refund's reason, each status in words
        # meant for them (docs/security.md, "What a buyer sees of an order").
        got = await stack.as_token(f"dev-buyer-C-{order_id}").get(f"/orders/{order_id}")
        assert got.status_code == 200, got.text
        mine = got.json()
        assert (mine["hold"], mine["notes"], mine["allocations"]) == (None, [], [])
        assert mine["money"] == shown["money"]
        assert [(r["key"], r["status"], r["reason"]) for r in mine["refunds"]] == [
            ("k-1", "refunded", "")
        ]
        lines = [(h["status"], h["note"], h["by"]) for h in mine["history"]]
        assert lines[:4] == [
            ("received", "Order received via web", None),
            ("on_hold", "On hold", None),
            ("confirmed", "Payment authorized; order confirmed", None),
            ("allocated", "Allocated: shipments are being prepared", None),
        ]
        assert lines[-2:] == [
            ("completed", "Every shipment delivered", None),
            ("completed", "Refunded 50.00 SEK", None),
        ]
        for internal in ("dev-support", "dev-finance", "risk", "billing country", "Called the"):
            assert internal not in got.text, internal
