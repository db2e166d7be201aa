"""B2B invoices end to end over HTTP: an invoice-term order gets one invoice per shipment,
the company's payment restores its credit (once per reference), and a refund of the order
issues a credit note instead of failing.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import Client

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


async def test_an_invoice_order_is_invoiced_paid_for_and_refunded_with_a_credit_note(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = f"B2B-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("HOODIE-GRY-L", 2, "699.00")])
        body["customer"]["id"] = "C-ACME-1"
        body["payment"] = {
            "method": "invoice",
            "po_number": "PO-77",
            "terms": "net30",
            "company_id": "ACME-AB",
        }
        finance = stack.as_role("finance")

        async def available() -> Decimal:
            response = await finance.get("/companies/ACME-AB/credit")
            assert response.status_code == 200, response.text
            return Decimal(response.json()["available"])

        before = await available()
        assert (await stack.place(body)).status_code == 202
        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"

        invoices = (await finance.get(f"/orders/{order_id}/invoices")).json()
        [invoice] = invoices["items"]
        [shipment] = order["shipments"]
        assert invoice["kind"] == "invoice" and invoice["number"].startswith("INV-")
        assert invoice["shipment_id"] == shipment["shipment_id"]
        # A business buys at net list prices: 1398.00 + 49.00 shipping, 25% Swedish VAT on both.
        assert [(li["sku"], li["quantity"], li["amount"]) for li in invoice["lines"]] == [
            ("HOODIE-GRY-L", 2, "1398.00"),
            ("SHIPPING", 1, "49.00"),
        ]
        assert (invoice["net"], invoice["tax"], invoice["total"]) == (
            "1447.00",
            "361.75",
            "1808.75",
        )
        assert invoice["due_date"] is not None
        invoiced = await available()
        assert invoiced == before - Decimal("1808.75")

        payment = {"amount": "1000.00", "reference": f"BANK-{order_id}"}
        paid = await finance.post("/companies/ACME-AB/payments", json=payment)
        again = await finance.post("/companies/ACME-AB/payments", json=payment)
        reused = await finance.post(
            "/companies/ACME-AB/payments", json={**payment, "amount": "5.00"}
        )
        assert paid.status_code == 201, paid.text
        assert again.status_code == 200 and again.json() == paid.json()
        assert reused.status_code == 409 and reused.json()["title"] == "PaymentReferenceReused"
        assert await available() == invoiced + Decimal("1000.00")
        refused = await stack.as_role("sales").post("/companies/ACME-AB/payments", json=payment)
        assert refused.status_code == 403

        refund = await finance.post(
            f"/orders/{order_id}/refunds",
            json={"amount": "200.00", "reason": "one hoodie arrived stained"},
            headers={"Idempotency-Key": f"{order_id}-r1"},
        )
        assert refund.status_code == 200, refund.text
        assert refund.json()["status"] == "refunded"
        note_number = refund.json()["refund_id"]
        assert note_number.startswith("CN-")
        assert await available() == invoiced + Decimal("1200.00")
        too_much = await finance.post(
            f"/orders/{order_id}/refunds",
            json={"amount": "1700.00", "reason": "everything"},
            headers={"Idempotency-Key": f"{order_id}-r2"},
        )
        assert too_much.status_code == 409 and too_much.json()["title"] == "RefundDeclined"

        documents = (await finance.get(f"/orders/{order_id}/invoices")).json()["items"]
        assert [(d["kind"], d["total"]) for d in documents] == [
            ("invoice", "1808.75"),
            ("credit_note", "200.00"),
        ]
        assert documents[1]["number"] == note_number
        assert documents[1]["reason"] == "one hoodie arrived stained"
