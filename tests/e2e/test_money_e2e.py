"""Money over HTTP: prices the OMS owns, shipping charges, VAT and price lists per currency
(docs/money.md)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from sandboxes.payments import LedgerRow

from stack import Stack, order_body, running_stack

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]
D = Decimal


def _id(prefix: str = "M") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def _unpriced(body: dict[str, Any]) -> dict[str, Any]:
    for line in body["lines"]:
        del line["unit_price"]
    return body


def _ledger(stack: Stack, order_id: str, kind: str) -> Decimal:
    with stack.payments.session() as session:
        rows = session.scalars(
            select(LedgerRow).where(LedgerRow.order_id == order_id, LedgerRow.kind == kind)
        )
        return sum((row.amount for row in rows), D(0))


async def test_a_buyer_cannot_lower_a_price_and_an_unpriced_order_is_priced_from_the_list(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = _id()
        buyer = stack.as_token(f"dev-buyer-C-{order_id}")
        cheap = order_body(order_id, [("CAP-NVY", 1, "199.00"), ("HOODIE-GRY-L", 50, "0.01")])
        refused = await buyer.post("/orders", json=cheap)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert (error["type"], error["loc"]) == (
            "price_mismatch",
            ["body", "lines", 1, "unit_price"],
        )
        assert "699.00" in error["msg"]
        # A seller cannot skip a quote's discount approvals with a low price either.
        seller = await stack.as_role("sales").post("/orders", json=cheap)
        assert seller.status_code == 422 and "price_mismatch" in seller.text
        # A lower shipping price is refused the same way.
        free_shipping = _unpriced(order_body(order_id, [("CAP-NVY", 1, "")]))
        free_shipping["shipping_price"] = "0.00"
        refused = await buyer.post("/orders", json=free_shipping)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "shipping_price"]

        placed = await buyer.post(
            "/orders",
            json=_unpriced(order_body(order_id, [("CAP-NVY", 2, ""), ("SOCKS-3PK", 1, "")])),
        )
        assert placed.status_code == 202, placed.text
        order = await stack.wait_for_status(order_id, {"allocated", "picking"})
        assert [(li["sku"], li["unit_price"]) for li in order["lines"]] == [
            ("CAP-NVY", "199.00"),
            ("SOCKS-3PK", "149.00"),
        ]
        assert order["price_source"] == "price_list"

        # The shop's own backend may send its own prices, and the order says so.
        channel_id = _id("CH")
        sale = await stack.as_role("channel").post(
            "/orders", json=order_body(channel_id, [("CAP-NVY", 1, "99.00")])
        )
        assert sale.status_code == 202, sale.text
        channel_order = await stack.wait_for_status(channel_id, {"allocated", "picking"})
        assert channel_order["price_source"] == "channel"
        assert channel_order["lines"][0]["unit_price"] == "99.00"


async def test_a_swedish_storefront_order_without_prices_completes_with_its_total_to_the_ore(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = _id("SV")
        body = _unpriced(
            order_body(order_id, [("TSHIRT-BLK-M", 3, ""), ("SOCKS-3PK", 1, "")], locale="sv-SE")
        )
        options = await stack.as_token(f"dev-buyer-C-{order_id}").post(
            "/shipping/quotes",
            json={"lines": body["lines"], "ship_to": body["ship_to"], "currency": "SEK"},
        )
        assert options.status_code == 200, options.text
        standard = next(o for o in options.json()["options"] if o["speed"] == "standard")
        assert standard["price"] == "49.00" and standard["estimated_delivery"]

        placed = await stack.as_token(f"dev-buyer-C-{order_id}").post("/orders", json=body)
        assert placed.status_code == 202, placed.text
        order = await stack.fulfil(order_id)

        assert order["status"] == "completed"
        subtotal, shipping = D(order["subtotal"]), D(order["shipping"])
        assert (subtotal, shipping) == (D("896.00"), D("49.00"))  # 3 x 249 + 149; shipping
        assert order["prices_include_tax"] is True and order["tax_treatment"] == "vat"
        # VAT included: 25% of 945.00 gross is 189.00 (per line: 149.40 + 29.80 + 9.80).
        assert [(t["rate"], t["tax"]) for t in order["tax"]] == [("25", "189.00")]
        assert D(order["total"]) == subtotal + shipping == D("945.00")
        assert _ledger(stack, order_id, "authorize") == D("945.00")
        assert _ledger(stack, order_id, "capture") == D("945.00")
        confirmed = stack.smtp.messages_for(f"{order_id}:confirmed")[0].text
        for shown in ("Frakt: 49,00 SEK", "Moms 25 %: 189,00 SEK (ingår)", "Totalt: 945,00 SEK"):
            assert shown in confirmed, confirmed


async def test_a_eur_order_to_germany_carries_19_percent_vat(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        order_id = _id("DE")
        body = _unpriced(order_body(order_id, [("HOODIE-GRY-L", 1, ""), ("CAP-NVY", 2, "")]))
        body["currency"] = "EUR"
        body["customer"]["locale"] = "de-DE"
        body["ship_to"] |= {"line1": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin"}
        body["ship_to"]["country"] = "DE"
        placed = await stack.as_token(f"dev-buyer-C-{order_id}").post("/orders", json=body)
        assert placed.status_code == 202, placed.text
        order = await stack.order(order_id)
        assert order["currency"] == "EUR"
        assert [li["unit_price"] for li in order["lines"]] == ["64.95", "19.95"]
        # 104.85 of goods and standard shipping to the EU zone (149 SEK at 10.95 SEK/EUR:
        # 13.61), VAT included.
        assert (order["subtotal"], order["shipping"], order["total"]) == (
            "104.85",
            "13.61",
            "118.46",
        )
        [vat] = order["tax"]
        assert vat["rate"] == "19" and D(vat["tax"]) == D("10.37") + D("6.37") + D("2.17")

        # A German business with a VAT number is reverse-charged, its prices without VAT.
        b2b_id = _id("DEB")
        b2b = _unpriced(order_body(b2b_id, [("CAP-NVY", 1, "")]))
        b2b["currency"], b2b["ship_to"] = "EUR", body["ship_to"]
        b2b["customer"]["vat_number"] = "DE136695976"
        assert (await stack.place(b2b)).status_code == 202
        b2b_order = await stack.order(b2b_id)
        assert (b2b_order["tax_treatment"], b2b_order["tax_total"]) == ("reverse_charge", "0.00")
        assert b2b_order["prices_include_tax"] is False

        # Reports show the EUR revenue in the base currency too, at the day's rate.
        rows = (await stack.api.get("/reports/orders")).json()["rows"]
        [row] = [r for r in rows if r["currency"] == "EUR"]
        assert D(row["revenue"]) == D("118.46") + D("33.56")  # 19.95 + 13.61, no VAT
        assert D(row["tax"]) == D("18.91") and row["base_currency"] == "SEK"
        assert D(row["revenue_base"]) == (D(row["revenue"]) * D("10.95")).quantize(D("0.01"))

        # Both go on to the pick; cancelled there, so no later test on this server finds them.
        for placed_id in (order_id, b2b_id):
            await stack.wait_for_status(placed_id, {"picking"}, timeout_s=60)
            cancel = await stack.api.post(f"/orders/{placed_id}/cancel", json={"reason": "test"})
            assert cancel.status_code == 200, cancel.text


async def test_price_lists_per_currency_and_a_eur_quote_priced_from_the_eur_list(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        eur = (await stack.as_role("buyer").get("/price-lists/EUR/prices")).json()["items"]
        assert {p["sku"]: p["unit_price"] for p in eur}["CAP-NVY"] == "19.95"
        put = await stack.api.put("/price-lists/EUR/prices/CAP-NVY", json={"unit_price": "21.00"})
        assert put.status_code == 200 and put.json()["updated_by"] == "dev-admin"
        forbidden = await stack.as_role("sales").put(
            "/price-lists/EUR/prices/CAP-NVY", json={"unit_price": "1.00"}
        )
        assert forbidden.status_code == 403
        missing = await stack.api.get("/price-lists/EUR/prices/NOPE")
        assert missing.status_code == 404

        quote_id = _id("Q")
        created = await stack.as_token("dev-buyer-C-ACME-AB").post(
            "/quotes",
            json={
                "quote_id": quote_id,
                "customer": {
                    "id": "C-ACME-AB",
                    "name": "Karin Ek",
                    "email": "karin@acme.example",
                    "company_id": "ACME-AB",
                },
                "currency": "EUR",
                "lines": [{"sku": "CAP-NVY", "quantity": 5}],
                "ship_to": {
                    "name": "Acme Bygg AB",
                    "line1": "Industrivägen 4",
                    "postal_code": "171 48",
                    "city": "Solna",
                    "country": "SE",
                },
            },
        )
        assert created.status_code == 202, created.text
        proposed = await stack.as_role("sales").post(f"/quotes/{quote_id}/proposals", json={})
        assert proposed.status_code == 200, proposed.text
        [line] = proposed.json()["proposal"]["lines"]
        assert line["list_price"] == "21.00"  # the EUR list, not the SEK price 199.00


async def test_a_eur_invoice_order_uses_the_companys_sek_credit_at_the_days_rate(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        credit_url = "/companies/NORDIC-RETAIL/credit"
        before = (await stack.api.get(credit_url)).json()
        order_id = _id("INV")
        body = _unpriced(order_body(order_id, [("CAP-NVY", 2, "")]))
        body["currency"], body["customer"]["id"] = "EUR", "C-NORDIC-RETAIL"
        body["payment"] = {
            "method": "invoice",
            "po_number": "PO-7",
            "terms": "net30",
            "company_id": "NORDIC-RETAIL",
        }
        placed = await stack.as_token("dev-buyer-C-NORDIC-RETAIL").post("/orders", json=body)
        assert placed.status_code == 202, placed.text
        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"
        # Invoice terms: prices without VAT, Swedish VAT added to goods and shipping.
        assert order["prices_include_tax"] is False
        assert (order["subtotal"], order["shipping"], order["tax_total"], order["total"]) == (
            "39.90",
            "4.47",
            "11.10",
            "55.47",
        )
        after = (await stack.api.get(credit_url)).json()
        in_sek = (D(order["total"]) * D("10.95")).quantize(D("0.01"))
        assert D(after["consumed"]) - D(before["consumed"]) == in_sek == D("607.40")
        assert D(after["reserved"]) == D(before["reserved"])
