"""Every route that takes a destination address refuses, with a 422 naming the field, what
the carrier would only hold later (``starters.api.destinations``).

Before: only ``POST /orders`` checked the US state and the phone through customs, so a
subscription to Oslo without a phone answered 202 and every renewal's shipment was held
("a phone number is required"), in /ops/stuck; and no route knew ``XX`` was no country
(taxed as a zero-VAT export with rest-of-world shipping).

The real app on a migrated, seeded SQLite store, no Temporal: every refusal here comes
before a workflow is asked (the views the edit and change routes read first are
written to the read model as their workflows would have written them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.models.common import Address, Customer
from oms.models.shipments import ShipmentStatus
from oms.models.subscriptions import SubscriptionLine, SubscriptionStatus, SubscriptionView
from oms.store import orders, subscriptions
from oms.store.db import Database
from oms.store.tables import ProductRow
from starters.api.destinations import COUNTRIES, check_customs, check_destination

from app_fixtures import app_clients
from inventory_fixtures import order_view, shipment_view

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ORDER, SUBSCRIPTION, SHIPMENT = "O-DEST-1", "S-DEST-1", "O-DEST-1-S1"
PICKING = "O-DEST-1-S2"  # a shipment of the order not yet picked

STOCKHOLM = {
    "name": "Anna Lindqvist",
    "line1": "Drottninggatan 53",
    "postal_code": "111 21",
    "city": "Stockholm",
    "country": "SE",
}
# What the carrier holds a shipment for, and the field the 422 names.
HELD = {
    "region": {**STOCKHOLM, "postal_code": "10001", "city": "New York", "country": "US"},
    "phone": {**STOCKHOLM, "postal_code": "0150", "city": "Oslo", "country": "NO"},
    "country": {**STOCKHOLM, "country": "XX"},
    "postal_code": {**STOCKHOLM, "postal_code": "ABCDE", "line1": "?"},
}
CUSTOMER = {"id": "C-DEST", "name": "Anna Lindqvist", "email": "anna@example.com"}
LINES = [{"sku": "TSHIRT-BLK-M", "quantity": 1}]


@pytest.fixture
async def api(migrated_sqlite_url: str) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A client per dev role on the app; an order and a subscription to change in its read
    model."""

    def fill(session: Session) -> None:
        orders.record_order(session, order_view(ORDER, customer_id=CUSTOMER["id"]))
        held = shipment_view(SHIPMENT, order_id=ORDER, status=ShipmentStatus.HELD)
        orders.record_shipment(session, held)
        picking = shipment_view(PICKING, order_id=ORDER, status=ShipmentStatus.PICKING)
        orders.record_shipment(session, picking)
        subscriptions.record_subscription(session, _subscription())

    async with app_clients(migrated_sqlite_url, "support", "sales", "ops", fill=fill) as clients:
        yield clients


def _subscription() -> SubscriptionView:
    return SubscriptionView(
        subscription_id=SUBSCRIPTION,
        status=SubscriptionStatus.ACTIVE,
        customer=Customer.model_validate(CUSTOMER),
        currency="SEK",
        interval="P1M",
        lines=[SubscriptionLine(sku="TSHIRT-BLK-M", quantity=1)],
        ship_to=Address.model_validate(STOCKHOLM),
        anchor=T0,
        next_renewal_at=T0 + timedelta(days=28),
        created_at=T0,
        updated_at=T0,
        version=1,
    )


def _order(ship_to: dict[str, str], **more: Any) -> dict[str, Any]:
    return {
        "channel": "web",
        "customer": CUSTOMER,
        "currency": "SEK",
        "lines": LINES,
        "ship_to": ship_to,
        "payment": {"method": "card", "token": "tok_visa"},
        **more,
    }


def _subscribe(ship_to: dict[str, str]) -> dict[str, Any]:
    return {
        "customer": CUSTOMER,
        "currency": "SEK",
        "lines": LINES,
        "ship_to": ship_to,
        "interval": "P1M",
        "payment": {"method": "card", "token": "tok_visa"},
    }


def _quote(ship_to: dict[str, str]) -> dict[str, Any]:
    buyer = {**CUSTOMER, "id": "C-ACME-AB", "company_id": "ACME-AB"}
    return {"customer": buyer, "currency": "SEK", "lines": LINES, "ship_to": ship_to}


# (role, method, path, body for a ship_to): every route that accepts a destination.
ROUTES = {
    "POST /orders": ("support", "POST", "/orders", _order),
    "POST /subscriptions": ("support", "POST", "/subscriptions", _subscribe),
    "PATCH /subscriptions/{id}": (
        "support",
        "PATCH",
        f"/subscriptions/{SUBSCRIPTION}",
        lambda ship_to: {"ship_to": ship_to},
    ),
    "POST /orders/{id}/edits": (
        "support",
        "POST",
        f"/orders/{ORDER}/edits",
        lambda ship_to: {"ship_to": ship_to, "reason": "moved"},
    ),
    "POST /quotes": ("sales", "POST", "/quotes", _quote),
    "POST /shipments/{id}/address": (
        "ops",
        "POST",
        f"/shipments/{SHIPMENT}/address",
        lambda ship_to: {"ship_to": ship_to, "reason": "the customer's typo"},
    ),
}


def _refused_field(answer: httpx.Response) -> list[Any]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["title"] == "ValidationError", body
    loc: list[Any] = body["errors"][0]["loc"]
    return loc


@pytest.mark.parametrize("field", sorted(HELD))
@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_every_route_that_takes_a_ship_to_refuses_what_the_carrier_would_hold(
    api: dict[str, httpx.AsyncClient], route: str, field: str
) -> None:
    role, method, path, body = ROUTES[route]
    answer = await api[role].request(method, path, json=body(HELD[field]))
    assert _refused_field(answer) == ["body", "ship_to", field]


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_a_postal_code_not_of_its_countrys_format_is_refused_saying_the_format(
    api: dict[str, httpx.AsyncClient], route: str
) -> None:
    """Before, ``ABCDE`` to Sweden was taken (202, an edit 200) and the carrier refused it
    only after pick and pack: the shipment was held until the order was cancelled."""
    role, method, path, body = ROUTES[route]
    answer = await api[role].request(method, path, json=body(HELD["postal_code"]))
    assert _refused_field(answer) == ["body", "ship_to", "postal_code"]
    assert "NNN NN, e.g. 114 55" in answer.json()["errors"][0]["msg"]


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_one_422_names_every_field_of_the_address_the_carrier_would_refuse(
    api: dict[str, httpx.AsyncClient], route: str
) -> None:
    """Before, a US address with a bad ZIP, no state and no phone took three tries: each
    422 named only the first problem (docs/api.md: ``errors`` lists every invalid field)."""
    role, method, path, body = ROUTES[route]
    new_york = {**HELD["region"], "postal_code": "NY 10001"}
    answer = await api[role].request(method, path, json=body(new_york))
    assert answer.status_code == 422, answer.text
    named = [error["loc"] for error in answer.json()["errors"]]
    assert named == [["body", "ship_to", field] for field in ("postal_code", "region", "phone")]
    assert "(and 2 more)" in answer.json()["detail"]


async def test_a_held_shipments_address_is_corrected_within_its_country_only(
    api: dict[str, httpx.AsyncClient],
) -> None:
    """The order was priced (shipping, VAT) for the country it ships to: another is a new
    order, not a correction."""
    berlin = {**STOCKHOLM, "postal_code": "10117", "city": "Berlin", "country": "DE"}
    answer = await api["ops"].post(
        f"/shipments/{SHIPMENT}/address", json={"ship_to": berlin, "reason": "moved"}
    )
    assert _refused_field(answer) == ["body", "ship_to", "country"]
    assert "place it again to ship to DE" in answer.json()["detail"]
    assert f"shipment {SHIPMENT} (held) ships to SE" in answer.json()["detail"]
    # A shipment still picking takes a new address too, within its country; before, the
    # refusal called it "a held shipment".
    picking = await api["ops"].post(
        f"/shipments/{PICKING}/address", json={"ship_to": berlin, "reason": "moved"}
    )
    assert _refused_field(picking) == ["body", "ship_to", "country"]
    detail = picking.json()["detail"]
    assert f"shipment {PICKING} (picking) ships to SE" in detail and "held" not in detail
    assert "corrected within SE only" in detail
    unknown = await api["ops"].post(
        "/shipments/NOPE-S1/address", json={"ship_to": STOCKHOLM, "reason": "moved"}
    )
    assert unknown.status_code == 404, unknown.text


async def test_a_billing_address_in_no_country_is_refused_naming_it(
    api: dict[str, httpx.AsyncClient],
) -> None:
    answer = await api["support"].post("/orders", json=_order(STOCKHOLM, bill_to=HELD["country"]))
    assert _refused_field(answer) == ["body", "bill_to", "country"]


async def test_a_shipping_quote_refuses_no_country_but_not_a_missing_state_or_phone(
    api: dict[str, httpx.AsyncClient],
) -> None:
    def quote(ship_to: dict[str, str]) -> dict[str, Any]:
        return {"lines": LINES, "ship_to": ship_to, "currency": "SEK"}

    nowhere = await api["support"].post("/shipping/quotes", json=quote(HELD["country"]))
    assert _refused_field(nowhere) == ["body", "ship_to", "country"]
    # A checkout asks for the price before it has the state or the phone: both are checked
    # when the order is placed.
    for field in ("region", "phone"):
        priced = await api["support"].post("/shipping/quotes", json=quote(HELD[field]))
        assert priced.status_code == 200, priced.text
        assert {o["speed"] for o in priced.json()["options"]} == {"standard", "express"}


def test_a_destination_with_what_it_needs_passes_and_codes_are_iso_3166_alpha_2() -> None:
    for ship_to in (
        STOCKHOLM,
        {**STOCKHOLM, "postal_code": "11121"},  # kept as given, as the carrier takes it
        {**HELD["region"], "postal_code": "10001-1234", "region": "NY", "phone": "+1 212 555 0100"},
        {**HELD["region"], "region": "NY", "phone": "+1 212 555 0100"},
        {**HELD["phone"], "phone": "+47 22 00 00 00"},
        # A real country the carrier does not serve is the carrier's to refuse, as before.
        {**STOCKHOLM, "country": "JP", "postal_code": "100-0001"},
    ):
        check_destination(Address.model_validate(ship_to), ["ship_to"])
    assert {"SE", "NO", "US", "GB", "JP"} <= COUNTRIES
    assert not {"XX", "UK", "EU", "ZZ"} & COUNTRIES


async def test_every_route_refuses_a_parcel_through_customs_it_could_not_declare(
    api: dict[str, httpx.AsyncClient], migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """Before, only ``POST /orders`` refused a product without an HS code or country of
    origin for a destination abroad; a subscription, a quote or a move abroad was taken and
    its shipments held at the label."""
    db = Database(migrated_sqlite_url)
    try:
        with db.session() as session:
            row = session.get(ProductRow, "TSHIRT-BLK-M")
            assert row is not None
            row.hs_code = None
    finally:
        db.dispose()
    oslo = {**HELD["phone"], "phone": "+47 22 00 00 00"}
    # The line is named where the body carries it; where the body only moves what the order
    # or subscription already holds abroad, the new address's country is.
    expected = {
        "POST /orders": ["body", "lines", 0, "sku"],
        "POST /subscriptions": ["body", "lines", 0, "sku"],
        "POST /quotes": ["body", "lines", 0, "sku"],
        "PATCH /subscriptions/{id}": ["body", "ship_to", "country"],
        "POST /orders/{id}/edits": ["body", "ship_to", "country"],
    }
    for route, loc in expected.items():
        role, method, path, body = ROUTES[route]
        answer = await api[role].request(method, path, json=body(oslo))
        assert _refused_field(answer) == loc, route
        assert "HS code" in answer.json()["detail"], route
    # Within the EU no customs: nothing to declare, nothing refused (no store read either).
    # A store that is not there (in the test's own folder: the URL's folders get made).
    nowhere = Database(f"sqlite:///{tmp_path / 'nowhere' / 'at' / 'all.db'}")
    await check_customs(nowhere, "SE", ["TSHIRT-BLK-M"], ["lines"])
