"""Invoice-term orders end to end over HTTP, after the money issue's last gaps: a return is
refunded with a credit note (VAT split at the returned line's rate) and gives the company
its credit back; a refund without a return shows its net and VAT; an edit of a B2B order
adds the VAT of the line it adds, and after the edit and a line cancellation the order's
subtotal, shipping, VAT and total add up and its invoice charges exactly that total; a EUR
order is invoiced in euros while its credit moves in kronor.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from stack import Stack, order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
D = Decimal


def _invoice_order(order_id: str, lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    body = order_body(order_id, lines)
    body["customer"]["id"] = "C-ACME-1"
    body["payment"] = {
        "method": "invoice",
        "po_number": f"PO-{order_id}",
        "terms": "net30",
        "company_id": "ACME-AB",
    }
    return body


async def _available(finance: httpx.AsyncClient, company: str = "ACME-AB") -> Decimal:
    response = await finance.get(f"/companies/{company}/credit")
    assert response.status_code == 200, response.text
    return D(response.json()["available"])


async def _documents(finance: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    response = await finance.get(f"/orders/{order_id}/invoices")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _adds_up(order: dict[str, Any]) -> None:
    """subtotal + shipping (+ VAT when prices exclude it) == total, to the öre, and the VAT
    lines add up to the VAT."""
    tax = D(order["tax_total"])
    added = D(0) if order["prices_include_tax"] else tax
    assert D(order["subtotal"]) + D(order["shipping"]) + added == D(order["total"]), order
    assert sum((D(t["tax"]) for t in order["tax"]), D(0)) == tax


async def _return_closed(stack: Stack, rma_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body = dict((await stack.api.get(f"/returns/{rma_id}")).json())
        return body if body["status"] in ("closed", "refund_failed") else None

    return await wait_until(probe, 60, f"return {rma_id} never closed")


async def test_an_invoice_orders_return_is_refunded_with_a_credit_note(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        finance = stack.as_role("finance")
        order_id = f"B2B-R-{uuid.uuid4().hex[:8].upper()}"
        body = _invoice_order(order_id, [("HOODIE-GRY-L", 2, "699.00")])
        assert (await stack.place(body)).status_code == 202
        assert (await stack.fulfil(order_id))["status"] == "completed"
        invoiced = await _available(finance)

        response = await stack.api.post(
            f"/orders/{order_id}/returns",
            json={"lines": [{"sku": "HOODIE-GRY-L", "quantity": 1, "reason": "wrong_size"}]},
        )
        assert response.status_code == 202, response.text
        rma_id = response.json()["rma_id"]

        async def awaiting() -> bool:
            status = (await stack.api.get(f"/returns/{rma_id}")).json()["status"]
            return status == "awaiting_receipt"

        await wait_until(awaiting, 60, f"return {rma_id} never awaited its parcel")
        received = await stack.api.post(
            f"/returns/{rma_id}/receive",
            json={
                "warehouse_id": "WH-STO",
                "lines": [{"sku": "HOODIE-GRY-L", "quantity": 1, "condition": "resellable"}],
            },
        )
        assert received.status_code == 200, received.text
        ret = await _return_closed(stack, rma_id)

        # One hoodie at 699.00 net + 25% VAT: what the company was invoiced for it.
        assert ret["status"] == "closed", ret.get("refund_error")
        assert D(ret["refund_total"]) == D("873.75")
        assert [h["status"] for h in ret["history"]][-3:] == ["received", "refunded", "closed"]
        documents = await _documents(finance, order_id)
        assert [(d["kind"], d["total"]) for d in documents] == [
            ("invoice", "1808.75"),
            ("credit_note", "873.75"),
        ]
        note = documents[1]
        assert note["number"] in " ".join(h["note"] for h in ret["history"])
        assert (note["net"], note["tax"]) == ("699.00", "174.75")
        assert note["tax_lines"] == [{"rate": "25", "net": "699.00", "tax": "174.75"}]
        assert note["reason"] == f"return {rma_id}: HOODIE-GRY-L"
        assert await _available(finance) == invoiced + D("873.75")

        # A refund without a return: its net and VAT as the order was taxed.
        refund = await finance.post(
            f"/orders/{order_id}/refunds",
            json={"amount": "125.00", "reason": "late delivery"},
            headers={"Idempotency-Key": f"{order_id}-late"},
        )
        assert refund.status_code == 200, refund.text
        assert refund.json()["status"] == "refunded"
        assert (refund.json()["net"], refund.json()["tax"]) == (
            "100.00",
            [{"rate": "25", "net": "100.00", "tax": "25.00"}],
        )
        documents = await _documents(finance, order_id)
        assert documents[-1]["tax_lines"] == refund.json()["tax"]
        assert await _available(finance) == invoiced + D("998.75")
        # The rest of what was invoiced can still be credited, not more.
        too_much = await finance.post(
            f"/orders/{order_id}/refunds",
            json={"amount": "810.01", "reason": "everything"},
            headers={"Idempotency-Key": f"{order_id}-all"},
        )
        assert too_much.status_code == 409, too_much.text


async def test_an_edited_b2b_order_adds_the_vat_of_its_new_line_and_is_invoiced_its_total(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        finance, support = stack.as_role("finance"), stack.as_role("support")
        order_id = f"B2B-E-{uuid.uuid4().hex[:8].upper()}"
        body = _invoice_order(order_id, [("HOODIE-GRY-L", 3, "699.00")])
        assert (await stack.place(body)).status_code == 202
        placed = await stack.wait_for_status(order_id, {"picking"})
        _adds_up(placed)

        # Two hoodies fewer, three caps instead (an invoice order's total may only go down).
        edit = {
            "lines": [{"sku": "HOODIE-GRY-L", "quantity": 1}, {"sku": "CAP-NVY", "quantity": 3}],
            "reason": "caps instead",
        }
        response = await support.post(f"/orders/{order_id}/edits", json=edit)
        assert response.status_code == 200, response.text
        edited = response.json()
        cap = next(line for line in edited["lines"] if line["sku"] == "CAP-NVY")
        assert cap["tax_rate"] == "25"
        # 699.00 + 3 x 199.00 net, 49.00 shipping, 25% VAT on all of it (the caps' too).
        assert (edited["subtotal"], edited["shipping"], edited["tax_total"], edited["total"]) == (
            "1296.00",
            "49.00",
            "336.25",
            "1681.25",
        )
        assert edited["tax"] == [{"rate": "25", "net": "1345.00", "tax": "336.25"}]
        _adds_up(edited)

        cancel = {"quantity": 1, "reason": "one cap too many"}
        response = await support.post(f"/orders/{order_id}/lines/CAP-NVY/cancel", json=cancel)
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert (cancelled["subtotal"], cancelled["tax_total"], cancelled["total"]) == (
            "1097.00",
            "286.50",
            "1432.50",
        )
        assert cancelled["tax"] == [{"rate": "25", "net": "1146.00", "tax": "286.50"}]
        _adds_up(cancelled)

        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"
        _adds_up(order)
        invoices = [d for d in await _documents(finance, order_id) if d["kind"] == "invoice"]
        assert sum((D(i["total"]) for i in invoices), D(0)) == D(order["total"]) == D("1432.50")
        assert sum((D(i["tax"]) for i in invoices), D(0)) == D(order["tax_total"])


async def test_a_eur_invoice_order_is_invoiced_and_credited_in_euros(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        finance = stack.as_role("finance")
        order_id = f"B2B-EUR-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("CAP-NVY", 2, "")])
        for line in body["lines"]:
            del line["unit_price"]
        body["currency"], body["customer"]["id"] = "EUR", "C-NORDIC-RETAIL"
        body["payment"] = {
            "method": "invoice",
            "po_number": "PO-EUR",
            "terms": "net30",
            "company_id": "NORDIC-RETAIL",
        }
        placed = await stack.as_token("dev-buyer-C-NORDIC-RETAIL").post("/orders", json=body)
        assert placed.status_code == 202, placed.text
        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"
        consumed = await _available(finance, "NORDIC-RETAIL")

        [invoice] = await _documents(finance, order_id)
        assert invoice["currency"] == "EUR"
        assert (invoice["total"], invoice["tax"]) == (order["total"], order["tax_total"])
        assert invoice["total"] == "55.47"  # not its 607.40 SEK of credit

        refund = await finance.post(
            f"/orders/{order_id}/refunds",
            json={"amount": "10.00", "reason": "a cap was faded"},
            headers={"Idempotency-Key": f"{order_id}-faded"},
        )
        assert refund.status_code == 200, refund.text
        note = (await _documents(finance, order_id))[-1]
        assert (note["kind"], note["currency"], note["total"]) == ("credit_note", "EUR", "10.00")
        # The same share of the kronor the order consumed: 10.00 / 55.47 of 607.40.
        assert await _available(finance, "NORDIC-RETAIL") == consumed + D("109.50")
