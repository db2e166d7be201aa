"""End to end over HTTP: quote -> proposal -> approvals -> accept -> order -> completed."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from sandboxes.payments import LedgerRow

from stack import Stack, running_stack

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


async def _product(stack: Stack, sku: str, price: str, units: int) -> None:
    put = await stack.api.put(
        f"/products/{sku}", json={"name": f"Pallet rack {sku}", "unit_price": price}
    )
    assert put.status_code == 200, put.text
    stock = await stack.api.put(f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": units})
    assert stock.status_code == 200, stock.text


def _quote_body(quote_id: str, company_id: str, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "quote_id": quote_id,
        "customer": {
            "id": f"C-{company_id}",
            "name": "Karin Ek",
            "email": "karin@acme.example",
            "company_id": company_id,
        },
        "currency": "SEK",
        "lines": [{"sku": sku, "quantity": quantity}],
        "ship_to": {
            "name": "Acme Bygg AB",
            "line1": "Industrivägen 4",
            "postal_code": "171 48",
            "city": "Solna",
            "country": "SE",
        },
        "note": "Warehouse fit-out, phase 1",
    }


async def test_fifteen_percent_on_150k_needs_manager_and_finance_then_orders_and_completes(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        sku = f"RACK-{uuid.uuid4().hex[:5].upper()}"
        await _product(stack, sku, "1000.00", 200)
        quote_id = f"Q-{uuid.uuid4().hex[:8].upper()}"
        created = await stack.api.post("/quotes", json=_quote_body(quote_id, "ACME-AB", sku, 150))
        assert created.status_code == 202, created.text
        assert created.json() == {"quote_id": quote_id, "status": "submitted"}

        proposed = await stack.as_role("sales").post(
            f"/quotes/{quote_id}/proposals",
            json={
                "overrides": [{"sku": sku, "unit_price": "850.00", "reason": "volume deal"}],
            },
        )
        assert proposed.status_code == 200, proposed.text
        quote = proposed.json()
        assert quote["status"] == "pending_approval"
        assert quote["proposal"]["total"] == "127500.00"
        assert Decimal(quote["proposal"]["discount_pct"]) == Decimal("15")
        assert sorted(a["role"] for a in quote["approvals"]) == ["finance", "sales_manager"]

        # An approver role this proposal does not wait for.
        wrong = await stack.as_role("sales_director").post(
            f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
        )
        assert wrong.status_code == 403
        assert wrong.json()["title"] == "WrongRole"
        assert "sales_manager" in wrong.json()["detail"]

        manager = stack.as_role("sales_manager")
        ok = await manager.post(f"/quotes/{quote_id}/approvals", json={"decision": "approve"})
        assert ok.status_code == 200, ok.text
        # The manager cannot approve again as finance: the role comes from the token, and
        # one person decides once per proposal.
        twice = await manager.post(
            f"/quotes/{quote_id}/approvals", json={"role": "finance", "decision": "approve"}
        )
        assert twice.status_code == 409
        assert twice.json()["title"] == "AlreadyDecided"
        approved = await stack.as_role("finance").post(
            f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
        )
        assert approved.json()["status"] == "approved"

        accepted = await stack.as_token("dev-buyer-C-ACME-AB").post(
            f"/quotes/{quote_id}/accept", json={"po_number": "PO-4711"}
        )
        assert accepted.status_code == 200, accepted.text
        order_id = accepted.json()["order_id"]

        order = await stack.wait_for_status(order_id, {"allocated", "picking"}, timeout_s=30)
        assert [(ln["sku"], ln["quantity"], ln["unit_price"]) for ln in order["lines"]] == [
            (sku, 150, "850.00")
        ]
        order = await stack.fulfil(order_id, timeout_s=90)
        assert order["status"] == "completed"
        assert order["channel"] == "b2b"
        assert (order["price_source"], order["prices_include_tax"], order["total"]) == (
            "quote",
            False,
            "159436.25",
        )

        quote = (await stack.api.get(f"/quotes/{quote_id}")).json()
        assert quote["status"] == "ordered" and quote["order_id"] == order_id
        assert quote["po_number"] == "PO-4711"
        credit = (await stack.api.get("/companies/ACME-AB/credit")).json()
        # The negotiated 127 500.00 and 49.00 shipping without VAT, and 25% VAT on both.
        assert Decimal(credit["consumed"]) == Decimal("159436.25")
        assert Decimal(credit["reserved"]) == Decimal("0")
        with stack.payments.session() as session:
            card = session.scalars(select(LedgerRow).where(LedgerRow.order_id == order_id)).all()
        assert card == []  # invoice terms: no card authorization or capture
        await stack.wait_for_email(f"quote:{quote_id}:ordered")


async def test_credit_limit_refuses_or_holds_for_finance(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        sku = f"RACK-{uuid.uuid4().hex[:5].upper()}"
        await _product(stack, sku, "1000.00", 500)

        async def quote_and_accept(company: str, quantity: int) -> str:
            quote_id = f"Q-{uuid.uuid4().hex[:8].upper()}"
            assert (
                await stack.api.post("/quotes", json=_quote_body(quote_id, company, sku, quantity))
            ).status_code == 202
            proposed = await stack.as_role("sales").post(f"/quotes/{quote_id}/proposals", json={})
            assert proposed.status_code == 200, proposed.text
            for approval in proposed.json()["approvals"]:
                response = await stack.as_role(approval["role"]).post(
                    f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
                )
                assert response.status_code == 200, response.text
            accepted = await stack.as_token(f"dev-buyer-C-{company}").post(
                f"/quotes/{quote_id}/accept", json={"po_number": "PO-1"}
            )
            assert accepted.status_code == 200, accepted.text
            return str(accepted.json()["order_id"])

        # SMALL-SHOP: 20 000 limit, refuses orders beyond it.
        refused = await quote_and_accept("SMALL-SHOP", 30)
        order = await stack.wait_for_status(refused, {"cancelled"}, timeout_s=30)
        assert "credit limit" in (order["cancel_reason"] or "")

        # NORDIC-RETAIL: 200 000 limit, holds for finance.
        held = await quote_and_accept("NORDIC-RETAIL", 250)
        await stack.wait_for_status(held, {"on_hold"}, timeout_s=30)
        not_finance = await stack.as_role("sales").post(
            f"/orders/{held}/credit-approval", json={"role": "finance"}
        )
        assert not_finance.status_code == 403
        approved = await stack.as_role("finance").post(
            f"/orders/{held}/credit-approval", json={"approver": "Someone Else"}
        )
        assert approved.status_code == 200, approved.text
        notes = [h["note"] for h in approved.json()["history"]]
        assert any("approved by dev-finance (finance)" in n for n in notes), notes
        await stack.wait_for_status(held, {"allocated", "picking"}, timeout_s=30)
        credit = (await stack.api.get("/companies/NORDIC-RETAIL/credit")).json()
        assert Decimal(credit["reserved"]) > Decimal("200000")


async def test_a_proposal_overriding_a_sku_not_on_the_quote_is_a_409_naming_it(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        sku = f"RACK-{uuid.uuid4().hex[:5].upper()}"
        await _product(stack, sku, "1000.00", 20)
        quote_id = f"Q-{uuid.uuid4().hex[:8].upper()}"
        created = await stack.api.post("/quotes", json=_quote_body(quote_id, "ACME-AB", sku, 10))
        assert created.status_code == 202, created.text
        sales = stack.as_role("sales")

        stray = await sales.post(
            f"/quotes/{quote_id}/proposals",
            json={"overrides": [{"sku": "NOPE", "unit_price": "1", "reason": "bulk"}]},
        )
        assert stray.status_code == 409, stray.text  # was a 500 UpdateFailed
        assert stray.json()["title"] == "UnknownLine"
        assert "NOPE" in stray.json()["detail"]

        proposed = await sales.post(f"/quotes/{quote_id}/proposals", json={})
        assert proposed.status_code == 200, proposed.text
        assert proposed.json()["proposal"]["round"] == 1  # the refused one used up none


# What only the seller's side may read of the quote below: the approvers, their comment, the
# proposer and their comment, the reason for the overridden price.
_INTERNAL = ("dev-sales_manager", "dev-finance", "ok this once", "dev-sales", "match Bolt", "deal")


def _leaks(answer: Any) -> list[str]:
    text = answer.text
    return [secret for secret in _INTERNAL if secret in text]


async def test_a_buyer_sees_the_proposal_once_approved_and_never_who_approved_it(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    """Every answer a buyer gets while the proposal waits for approval hides it, and none
    names an approver; the seller's side sees the whole quote (docs/security.md)."""
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        sku = f"RACK-{uuid.uuid4().hex[:5].upper()}"
        await _product(stack, sku, "1000.00", 200)
        quote_id = f"Q-{uuid.uuid4().hex[:8].upper()}"
        body = _quote_body(quote_id, "ACME-AB", sku, 150)
        buyer = stack.as_token("dev-buyer-C-ACME-AB")
        sales, manager = stack.as_role("sales"), stack.as_role("sales_manager")
        assert (await buyer.post("/quotes", json=body)).status_code == 202
        offer = {
            "overrides": [{"sku": sku, "unit_price": "850.00", "reason": "volume deal"}],
            "comment": "match Bolt",
        }

        async def propose() -> None:
            proposed = await sales.post(f"/quotes/{quote_id}/proposals", json=offer)
            assert proposed.status_code == 200, proposed.text
            assert proposed.json()["status"] == "pending_approval"
            assert proposed.json()["proposal"]["total"] == "127500.00"  # the seller's own
            approved = await manager.post(
                f"/quotes/{quote_id}/approvals",
                json={"decision": "approve", "comment": "ok this once"},
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["approvals"][0]["decided_by"] == "dev-sales_manager"

        # Round 1 waits for finance: the buyer's GET, list, resubmission and counter-offer.
        await propose()
        got = await buyer.get(f"/quotes/{quote_id}")
        assert got.status_code == 200, got.text
        quote = got.json()
        assert quote["status"] == "pending_approval"
        assert (quote["proposal"], quote["approvals"]) == (None, [])
        assert quote["history"][-1]["note"] == "a proposal is being prepared"
        assert _leaks(got) == [] and "127500" not in got.text
        listed = await buyer.get("/quotes", params={"status": "pending_approval"})
        assert [q["quote_id"] for q in listed.json()["items"]] == [quote_id]
        assert _leaks(listed) == [] and "127500" not in listed.text
        again = await buyer.post("/quotes", json=body)
        assert again.status_code == 200, again.text
        assert again.json()["proposal"] is None and _leaks(again) == []
        countered = await buyer.post(
            f"/quotes/{quote_id}/counter-offers",
            json={"lines": [{"sku": sku, "target_unit_price": "800.00"}], "comment": "budget"},
        )
        assert countered.status_code == 200, countered.text
        assert countered.json()["status"] == "countered"
        assert countered.json()["proposal"] is None and countered.json()["approvals"] == []
        assert _leaks(countered) == [] and "127500" not in countered.text

        # Round 2, approved by both: offered to the buyer, still without who approved it.
        await propose()
        done = await stack.as_role("finance").post(
            f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
        )
        assert done.json()["status"] == "approved"
        got = await buyer.get(f"/quotes/{quote_id}")
        quote = got.json()
        assert quote["status"] == "approved" and quote["approvals"] == []
        assert (quote["proposal"]["round"], quote["proposal"]["total"]) == (2, "127500.00")
        assert [ln["unit_price"] for ln in quote["proposal"]["lines"]] == ["850.00"]
        assert _leaks(got) == []
        email = await stack.wait_for_email(f"quote:{quote_id}:proposed:2")
        assert "850" in email.text and not [s for s in _INTERNAL if s in email.text]
        countered = await buyer.post(f"/quotes/{quote_id}/counter-offers", json={"lines": []})
        assert countered.status_code == 200, countered.text
        assert countered.json()["proposal"]["total"] == "127500.00"
        assert _leaks(countered) == []

        staff = (await sales.get(f"/quotes/{quote_id}")).json()
        assert [a["decided_by"] for a in staff["approvals"]] == ["dev-sales_manager", "dev-finance"]
        assert staff["proposal"]["comment"] == "match Bolt"
        assert any(h["by"] == "dev-sales_manager" for h in staff["history"])
