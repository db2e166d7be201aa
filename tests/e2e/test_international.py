"""Cross-border orders end to end over HTTP: a NOK order to Oslo completes with customs data
and a commercial invoice with HS codes; a EUR order to Berlin completes with neither;
destinations that need a state, a phone or customs master data are refused at placement.

Runs on PostgreSQL only: its subject is not the store, which tests/store and the
scenarios about it exercise on both.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from oms.store.db import Database
from oms.store.tables import LabelRow

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


def _abroad(order_id: str, currency: str, ship_to: dict[str, str]) -> dict[str, Any]:
    body = order_body(order_id, [("TSHIRT-BLK-M", 2, "249.00"), ("SOCKS-3PK", 1, "149.00")])
    body["currency"] = currency
    body["ship_to"] = {"name": "Kari Nordmann", "line1": "Karl Johans gate 3", **ship_to}
    return body


OSLO = {"postal_code": "0150", "city": "Oslo", "country": "NO", "phone": "+47 22 00 00 00"}
BERLIN = {"postal_code": "10117", "city": "Berlin", "country": "DE"}


def _customs_of(migrated_postgres_url: str, shipment_id: str) -> dict[str, Any] | None:
    db = Database(migrated_postgres_url)
    try:
        with db.session() as session:
            text = session.scalar(
                select(LabelRow.customs).where(LabelRow.shipment_id == shipment_id)
            )
    finally:
        db.dispose()
    return None if text is None else dict(json.loads(text))


async def test_orders_to_oslo_and_berlin_complete_and_only_oslo_goes_through_customs(
    temporal_client: Client, migrated_postgres_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_postgres_url, tmp_path) as (stack, _):
        run = uuid.uuid4().hex[:6].upper()
        oslo, berlin = f"NO-{run}", f"DE-{run}"
        assert (await stack.place(_abroad(oslo, "NOK", OSLO))).status_code == 202
        assert (await stack.place(_abroad(berlin, "EUR", BERLIN))).status_code == 202

        to_oslo = await stack.fulfil(oslo)
        to_berlin = await stack.fulfil(berlin)

        assert to_oslo["status"] == to_berlin["status"] == "completed"
        assert (to_oslo["currency"], to_berlin["currency"]) == ("NOK", "EUR")
        [oslo_parcel] = to_oslo["shipments"]
        [berlin_parcel] = to_berlin["shipments"]
        customs = _customs_of(migrated_postgres_url, oslo_parcel["shipment_id"])
        assert customs is not None, "the label to Oslo was bought with customs data"
        assert (customs["export_country"], customs["import_country"]) == ("SE", "NO")
        assert (customs["incoterms"], customs["currency"], customs["total_value"]) == (
            "DAP",
            "NOK",
            "647.00",
        )
        assert {(i["sku"], i["hs_code"], i["origin_country"]) for i in customs["items"]} == {
            ("TSHIRT-BLK-M", "610910", "PT"),
            ("SOCKS-3PK", "611594", "IT"),
        }
        assert _customs_of(migrated_postgres_url, berlin_parcel["shipment_id"]) is None

        warehouse = stack.as_role("warehouse")
        invoice = await warehouse.get(f"/shipments/{oslo_parcel['shipment_id']}/commercial-invoice")
        assert invoice.status_code == 200
        assert invoice.headers["content-type"].startswith("text/html")
        for text in ("Commercial invoice", "610910", "611594", "DAP", "647.00 NOK", "Oslo"):
            assert text in invoice.text
        inside_eu = await warehouse.get(
            f"/shipments/{berlin_parcel['shipment_id']}/commercial-invoice"
        )
        assert inside_eu.status_code == 404
        assert inside_eu.json()["title"] == "NoCustomsDeclaration"


async def test_a_destination_that_needs_a_state_a_phone_or_hs_codes_is_refused_at_placement(
    temporal_client: Client, migrated_postgres_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_postgres_url, tmp_path) as (stack, _):
        run = uuid.uuid4().hex[:6].upper()
        new_york = {"postal_code": "10001", "city": "New York", "country": "US"}
        no_state = await stack.place(_abroad(f"US-{run}", "USD", {**new_york, "phone": "+1 212"}))
        no_phone = await stack.place(_abroad(f"NO-{run}", "NOK", {**OSLO, "phone": ""}))
        unlisted = await stack.api.put(
            "/products/MUG-PLAIN", json={"name": "Plain mug", "unit_price": "99.00"}
        )
        assert unlisted.status_code == 200 and unlisted.json()["hs_code"] is None
        body = _abroad(f"NO-MUG-{run}", "NOK", OSLO)
        body["lines"].append({"sku": "MUG-PLAIN", "quantity": 1, "unit_price": "99.00"})
        no_hs_code = await stack.place(body)

        def where(response: Any) -> list[Any]:
            assert response.status_code == 422, response.text
            return list(response.json()["errors"][0]["loc"])

        assert where(no_state) == ["body", "ship_to", "region"]
        assert where(no_phone) == ["body", "ship_to", "phone"]
        assert where(no_hs_code) == ["body", "lines", 2, "sku"]
        assert "HS code" in no_hs_code.json()["errors"][0]["msg"]

        # With its customs data the product ships to Norway; within the EU it needs none.
        listed = await stack.api.put(
            "/products/MUG-PLAIN",
            json={
                "name": "Plain mug",
                "unit_price": "99.00",
                "hs_code": "691200",
                "origin_country": "SE",
            },
        )
        assert listed.json()["hs_code"] == "691200"
        assert (await stack.place(body)).status_code == 202
        body = _abroad(f"DE-MUG-{run}", "EUR", BERLIN)
        body["lines"] = [{"sku": "SOCKS-3PK", "quantity": 1, "unit_price": "14.90"}]
        assert (await stack.place(body)).status_code == 202
        # Both are taken past payment; cancelled then, so no later test finds them waiting.
        past_payment = {"confirmed", "allocated", "backordered", "picking", "on_hold"}
        for order_id in (f"NO-MUG-{run}", f"DE-MUG-{run}"):
            await stack.wait_for_status(order_id, past_payment, timeout_s=120)
            cancel = await stack.api.post(f"/orders/{order_id}/cancel", json={"reason": "test"})
            assert cancel.status_code == 200, cancel.text
