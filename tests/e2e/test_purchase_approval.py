"""Company orders above the approval rules' thresholds wait for a purchase-order approval
(the quotes' rules), over real HTTP on a real stack.

The hole: an order on a company's invoice terms skipped the approval rules a quote of the
same size goes through. Now it waits, on hold and listed by /ops/stuck with its deadline,
for the role the rule names; whoever placed it may not approve it, the wrong role is
refused, and a rejection cancels it with its credit released.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from stack import Stack, order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

RULES = {
    "rules": [
        {
            "rule_id": "po-1000",
            "name": "Company orders of 1000 and above",
            "role": "finance",
            "min_total": "1000",
        },
        {"rule_id": "discount", "name": "Discounts", "role": "cfo", "min_discount_pct": "1"},
    ],
    "escalation": {},
}


def _company_order(order_id: str, quantity: int) -> dict[str, Any]:
    body = order_body(order_id, [("HOODIE-GRY-L", quantity, "699.00")])
    body["customer"]["id"] = "C-ACME-1"
    body["payment"] = {
        "method": "invoice",
        "po_number": "PO-9",
        "terms": "net30",
        "company_id": "ACME-AB",
    }
    return body


async def _held(stack: Stack, order_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        order: dict[str, Any] = (await stack.api.get(f"/orders/{order_id}")).json()
        return order if order.get("status") == "on_hold" and order.get("approvals") else None

    result: dict[str, Any] = await wait_until(probe, 60, f"{order_id} never waited for approval")
    return result


async def test_a_company_order_over_the_threshold_waits_for_the_right_approver(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    async with running_stack(
        temporal_client,
        migrated_sqlite_url,
        tmp_path,
        approval_rules_path=str(rules),
        quote_approver_reminder_s=1,
    ) as (stack, _):
        run = uuid.uuid4().hex[:6].upper()
        buyer = stack.as_token("dev-buyer-C-ACME-1")

        # Under the threshold: no approval, straight on.
        small = await buyer.post("/orders", json=_company_order(f"PO-{run}-S", 1))
        assert small.status_code == 202, small.text
        await stack.wait_for_status(f"PO-{run}-S", {"allocated", "picking"})

        # Over it: on hold for finance (the rule's role), listed with its deadline.
        order_id = f"PO-{run}-1"
        placed = await buyer.post("/orders", json=_company_order(order_id, 2))
        assert placed.status_code == 202, placed.text
        held = await _held(stack, order_id)
        [approval] = held["approvals"]  # the discount rule never matches an order
        assert (approval["role"], approval["decision"]) == ("finance", None)
        await asyncio.sleep(1.5)  # past its approval deadline (1 s here, 24 h by default)
        stuck = await stack.as_role("ops").get("/ops/stuck", params={"kind": "order"})
        [item] = [i for i in stuck.json()["items"] if i["business_id"] == order_id]
        assert item["stage"] == "awaiting_po_approval" and item["reason"] == "needs_a_person"
        assert item["deadline"] is not None and item["waiting_for"].startswith("approver")

        # Not an approver at all: the route refuses; an approver of another role: the order.
        body = {"decision": "approve"}
        path = f"/orders/{order_id}/approvals"
        assert (await stack.as_role("sales").post(path, json=body)).status_code == 403
        wrong = await stack.as_role("sales_manager").post(path, json=body)
        assert wrong.status_code == 403 and wrong.json()["title"] == "WrongRole", wrong.text
        # Finance approves (recorded under the token's subject): the order goes on.
        approved = await stack.as_role("finance").post(path, json=body | {"approver": "x"})
        assert approved.status_code == 200, approved.text
        assert approved.json()["approvals"][0]["decided_by"] == "dev-finance"
        await stack.wait_for_status(order_id, {"allocated", "picking", "backordered"})
        again = await stack.as_role("finance").post(path, json=body)
        assert again.status_code == 409, again.text

        # Whoever placed it may not approve it, admin included.
        own_id = f"PO-{run}-2"
        admin = stack.as_role("admin")
        assert (await admin.post("/orders", json=_company_order(own_id, 2))).status_code == 202
        await _held(stack, own_id)
        own = await admin.post(f"/orders/{own_id}/approvals", json=body)
        assert own.status_code == 403 and own.json()["title"] == "SelfApproval", own.text

        # A rejection cancels the order, and its credit reservation is released.
        rejected = await stack.as_role("finance").post(
            f"/orders/{own_id}/approvals", json={"decision": "reject", "comment": "too big"}
        )
        assert rejected.status_code == 200, rejected.text
        view = await stack.wait_for_status(own_id, {"cancelled"})
        assert "rejected by dev-finance: too big" in (view.get("cancel_reason") or "")
