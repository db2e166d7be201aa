"""Tenancy over real HTTP: a company's credit, prices and quotes belong to its members (the
store's membership, managed by sales), another tenant's objects answer 404, and nobody
approves the price they proposed themselves.

Each test first shows the attack the API used to let through, then that it is refused.
Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def _invoice_order(order_id: str, customer_id: str, company_id: str) -> dict[str, Any]:
    body = order_body(order_id, [("CAP-NVY", 1, "199.00")])
    body["customer"]["id"] = customer_id
    body["payment"] = {
        "method": "invoice",
        "po_number": "PO-1",
        "terms": "net30",
        "company_id": company_id,
    }
    return body


def _quote(quote_id: str, customer_id: str, company_id: str) -> dict[str, Any]:
    return {
        "quote_id": quote_id,
        "customer": {
            "id": customer_id,
            "name": "Mallory",
            "email": "mallory@example.com",
            "company_id": company_id,
        },
        "currency": "SEK",
        "lines": [{"sku": "HOODIE-GRY-L", "quantity": 10}],
        "ship_to": {
            "name": "Mallory",
            "line1": "Gatan 1",
            "postal_code": "111 21",
            "city": "Stockholm",
            "country": "SE",
        },
    }


async def test_company_credit_and_quotes_are_for_its_members_only(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        run = uuid.uuid4().hex[:6].upper()
        mallory_id = f"C-MAL-{run}"
        mallory = stack.as_token(f"dev-buyer-{mallory_id}")

        # The attack: a buyer of no company puts an order on ACME's credit, or asks for a
        # quote at NORDIC-RETAIL's gold tier. Both answer as if the company did not exist.
        stolen = await mallory.post(
            "/orders", json=_invoice_order(f"T-{run}-1", mallory_id, "ACME-AB")
        )
        assert stolen.status_code == 404, stolen.text
        assert stolen.json()["title"] == "NotFound"
        assert stolen.json()["detail"] == "company ACME-AB not found"
        tier = await mallory.post(
            "/quotes", json=_quote(f"T-{run}-Q1", mallory_id, "NORDIC-RETAIL")
        )
        assert tier.status_code == 404, tier.text
        # Staff acting for a customer are told which field is wrong.
        sales = stack.as_role("sales")
        for_her = await sales.post(
            "/orders", json=_invoice_order(f"T-{run}-2", mallory_id, "ACME-AB")
        )
        assert for_her.status_code == 422, for_her.text
        assert for_her.json()["errors"][0]["loc"] == ["body", "payment", "company_id"]
        # Nothing started: the ids are free, nothing was reserved.
        for order_id in (f"T-{run}-1", f"T-{run}-2"):
            assert (await stack.api.get(f"/orders/{order_id}")).status_code == 404
        assert (await stack.api.get(f"/quotes/T-{run}-Q1")).status_code == 404
        credit = (await stack.api.get("/companies/ACME-AB/credit")).json()
        reserved_before = credit["reserved"]

        # Sales makes her a member of ACME (a buyer may not): now her invoice order goes.
        refused = await mallory.put(f"/companies/ACME-AB/members/{mallory_id}")
        assert refused.status_code == 403
        added = await sales.put(f"/companies/ACME-AB/members/{mallory_id}")
        assert added.status_code == 200, added.text
        assert added.json()["added_by"] == "dev-sales"
        members = (await sales.get("/companies/ACME-AB/members")).json()["items"]
        assert mallory_id in [m["customer_id"] for m in members]
        placed = await mallory.post(
            "/orders", json=_invoice_order(f"T-{run}-3", mallory_id, "ACME-AB")
        )
        assert placed.status_code == 202, placed.text
        await stack.wait_for_status(f"T-{run}-3", {"allocated", "picking"})
        credit = (await stack.api.get("/companies/ACME-AB/credit")).json()
        assert credit["reserved"] != reserved_before
        # Still not NORDIC-RETAIL's.
        assert (
            await mallory.post("/quotes", json=_quote(f"T-{run}-Q2", mallory_id, "NORDIC-RETAIL"))
        ).status_code == 404

        # A quote asked for while a member cannot be accepted once she no longer is.
        quote_id = f"T-{run}-Q3"
        created = await mallory.post("/quotes", json=_quote(quote_id, mallory_id, "ACME-AB"))
        assert created.status_code == 202, created.text
        proposed = await sales.post(f"/quotes/{quote_id}/proposals", json={})
        assert proposed.status_code == 200, proposed.text
        assert proposed.json()["status"] == "proposed", proposed.text
        removed = await sales.delete(f"/companies/ACME-AB/members/{mallory_id}")
        assert removed.status_code == 204
        assert (await sales.delete(f"/companies/ACME-AB/members/{mallory_id}")).status_code == 404
        late = await mallory.post(f"/quotes/{quote_id}/accept", json={"po_number": "PO-2"})
        assert late.status_code == 404, late.text
        assert (await stack.api.get(f"/quotes/{quote_id}")).json()["status"] == "proposed"
        again = await mallory.post(
            "/orders", json=_invoice_order(f"T-{run}-4", mallory_id, "ACME-AB")
        )
        assert again.status_code == 404

        # Another tenant's order and quote answer 404, exactly like ids that do not exist.
        other = stack.as_token("dev-buyer-C-ACME-AB")
        for path in (f"/orders/T-{run}-3", f"/quotes/{quote_id}"):
            theirs, missing = await other.get(path), await other.get(path + "-NOPE")
            assert theirs.status_code == missing.status_code == 404
        karin = await other.post(f"/orders/T-{run}-3/cancel", json={"reason": "not mine"})
        assert karin.status_code == 404


async def test_the_proposer_of_a_price_cannot_approve_it(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        quote_id = f"T-{uuid.uuid4().hex[:6].upper()}-Q"
        created = await stack.api.post("/quotes", json=_quote(quote_id, "C-ACME-1", "ACME-AB"))
        assert created.status_code == 202, created.text
        # The attack: an admin (who may act in any role) proposes a deep discount and
        # approves it himself, as the sales manager the rules ask for.
        proposed = await stack.api.post(
            f"/quotes/{quote_id}/proposals",
            json={"overrides": [{"sku": "HOODIE-GRY-L", "unit_price": "100.00", "reason": "pal"}]},
        )
        assert proposed.status_code == 200, proposed.text
        roles = [a["role"] for a in proposed.json()["approvals"]]
        assert roles, proposed.text
        own = await stack.api.post(
            f"/quotes/{quote_id}/approvals", json={"role": roles[0], "decision": "approve"}
        )
        assert own.status_code == 403, own.text
        assert own.json()["title"] == "SelfApproval"
        quote = (await stack.api.get(f"/quotes/{quote_id}")).json()
        assert quote["status"] == "pending_approval"
        assert all(a["decided_by"] is None for a in quote["approvals"])
        # Another person in the right role may.
        decided = await stack.as_role(roles[0]).post(
            f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
        )
        assert decided.status_code == 200, decided.text


async def test_counter_offers_are_capped(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(
        temporal_client, migrated_sqlite_url, tmp_path, quote_max_counter_offers=1
    ) as (
        stack,
        _,
    ):
        quote_id = f"T-{uuid.uuid4().hex[:6].upper()}-C"
        buyer = stack.as_token("dev-buyer-C-ACME-1")
        created = await buyer.post("/quotes", json=_quote(quote_id, "C-ACME-1", "ACME-AB"))
        assert created.status_code == 202, created.text
        sales = stack.as_role("sales")
        offer = {"lines": [{"sku": "HOODIE-GRY-L", "target_unit_price": "500.00"}]}
        for round_ in (1, 2):
            proposed = await sales.post(f"/quotes/{quote_id}/proposals", json={})
            assert proposed.status_code == 200, proposed.text
            countered = await buyer.post(f"/quotes/{quote_id}/counter-offers", json=offer)
            if round_ == 1:
                assert countered.status_code == 200, countered.text
        # The attack: counter-offers without end, each growing the workflow's history.
        assert countered.status_code == 409, countered.text
        assert countered.json()["title"] == "TooManyRounds"
