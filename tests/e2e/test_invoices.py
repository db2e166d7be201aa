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


async def test_cancelling_units_a_claim_reshipped_credits_the_company_for_them(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    # Before, the company stayed invoiced for the lost parcel's units it no longer gets: no
    # card to refund, and no credit note either.
    async with running_stack(temporal_client, database_url, tmp_path, simulate=False) as (
        stack,
        _,
    ):
        order_id = f"B2B-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("TSHIRT-BLK-M", 2, "249.00")])
        body["customer"]["id"] = "C-ACME-1"
        body["payment"] = {"method": "invoice", "po_number": "PO-78", "company_id": "ACME-AB"}
        finance, support = stack.as_role("finance"), stack.as_role("support")
        warehouse = stack.as_role("warehouse")

        async def available() -> Decimal:
            response = await finance.get("/companies/ACME-AB/credit")
            assert response.status_code == 200, response.text
            return Decimal(response.json()["available"])

        assert (await stack.place(body)).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        sid = order["shipments"][0]["shipment_id"]
        assert (await warehouse.post(f"/shipments/{sid}/pick", json={})).status_code == 200
        packed = await warehouse.post(
            f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 300}]}
        )
        assert packed.status_code == 200, packed.text
        await stack.wait_for_status(order_id, {"shipped"})
        lost = {"kind": "lost", "resolution": "reship", "reason": "no scan for 9 days"}
        claimed = await support.post(f"/shipments/{sid}/claims", json=lost)
        assert claimed.status_code == 200, claimed.text
        [reship] = claimed.json()["claims"][0]["reshipped_as"]
        before = await available()

        url = f"/orders/{order_id}/lines/TSHIRT-BLK-M/cancel"
        done = await support.post(url, json={"quantity": 1, "reason": "only needs one"})

        assert done.status_code == 200, done.text
        [cancelled] = done.json()["line_cancellations"]
        assert cancelled["from_shipments"] == {reship: 1}
        credited = Decimal(cancelled["refunded"])
        # One unit as the lost parcel's invoice charged it (VAT included), no more than the
        # total went down by.
        assert Decimal("0.00") < credited <= Decimal(cancelled["amount"])
        number = cancelled["credit_note"]
        assert number.startswith("CN-") and cancelled.get("refund_id") is None
        assert await available() == before + credited
        documents = (await finance.get(f"/orders/{order_id}/invoices")).json()["items"]
        assert [(d["kind"], Decimal(d["total"])) for d in documents][1:] == [
            ("credit_note", credited)
        ]
        assert documents[1]["number"] == number
        [line] = documents[1]["lines"]
        assert (line["sku"], line["quantity"]) == ("TSHIRT-BLK-M", 1)
        # The order's money counts what was credited as given back.
        money = (await stack.order(order_id))["money"]
        invoiced = Decimal(documents[0]["total"])
        assert (Decimal(money["captured"]), Decimal(money["refunded"])) == (invoiced, credited)
        assert Decimal(money["net"]) == invoiced - credited

        finished = await stack.fulfil(order_id)
        assert finished["status"] == "completed"
        again = (await finance.get(f"/orders/{order_id}/invoices")).json()["items"]
        assert [d["kind"] for d in again] == ["invoice", "credit_note"]  # credited once
