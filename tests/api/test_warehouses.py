"""``PUT /warehouses/{id}`` and ``GET /warehouses/{id}``: a store migrated without the demo
catalogue (``oms db --no-seed``, what production runs) gets its warehouses through the API,
then stock, and an order's allocation ships from the nearest of them.

The real app on a migrated, unseeded store (SQLite, and PostgreSQL with
``OMS_TEST_POSTGRES_URL``), no Temporal: allocation is the store's, asked as the inventory
activity asks it. ``tests/e2e/test_unseeded_store.py`` runs an order through a whole stack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from oms.models.common import SkuQuantity
from oms.models.inventory import AllocateRequest
from oms.store import inventory
from oms.store.db import Database

from app_fixtures import app_clients

UMEA = {
    "name": "North DC",
    "line1": "Förrådsvägen 3",
    "postal_code": "906 20",
    "city": "Umeå",
    "country": "SE",
}
LUND = {"name": "South DC", "line1": "Annedalsvägen 9", "postal_code": "227 64", "city": "Lund"}


@pytest.fixture
async def clients(database_url: str) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with app_clients(database_url, "admin", "warehouse", "buyer", seed=False) as clients:
        yield clients


async def test_an_unseeded_store_gets_warehouses_stock_and_allocates_from_the_nearest(
    clients: dict[str, httpx.AsyncClient], database_url: str
) -> None:
    admin = clients["admin"]
    assert (await admin.get("/warehouses")).json()["items"] == []
    refused = await admin.put("/warehouses/WH-N/stock/TEE", json={"on_hand": 10})
    assert refused.status_code == 404 and refused.json()["title"] == "UnknownWarehouse"

    # Placed by its city when no coordinates are given; by the coordinates given otherwise.
    north = await admin.put("/warehouses/WH-N", json=UMEA)
    assert north.status_code == 200, north.text
    assert north.json() == {
        "warehouse_id": "WH-N",
        **UMEA,
        "lat": 63.8258,
        "lon": 20.263,
        "active": True,
    }
    south = {**LUND, "country": "SE", "lat": 55.7, "lon": 13.19}
    assert (await admin.put("/warehouses/WH-S", json=south)).status_code == 200
    got = await clients["warehouse"].get("/warehouses/WH-S")
    assert got.status_code == 200 and got.json() == {
        "warehouse_id": "WH-S",
        **south,
        "active": True,
    }
    listed = (await admin.get("/warehouses")).json()["items"]
    assert [w["warehouse_id"] for w in listed] == ["WH-N", "WH-S"]

    product = {"name": "Tee", "unit_price": "249.00", "currency": "SEK"}
    assert (await admin.put("/products/TEE", json=product)).status_code == 200
    for warehouse_id in ("WH-N", "WH-S"):
        stocked = await admin.put(f"/warehouses/{warehouse_id}/stock/TEE", json={"on_hand": 10})
        assert stocked.status_code == 200, stocked.text
        assert stocked.json()["stock"]["available"] == 10

    db = Database(database_url)
    try:
        with db.session() as session:
            to_malmo = inventory.allocate(session, _allocation("O-1", "211 20", "Malmö"))
            to_lulea = inventory.allocate(session, _allocation("O-2", "972 31", "Luleå"))
    finally:
        db.dispose()
    assert to_malmo.rule == "nearest_complete"
    [shipment] = to_malmo.shipments
    assert shipment.warehouse_id == "WH-S"
    # The warehouse's address is the parcel's sender, as the shipment needs it.
    assert shipment.ship_from is not None
    assert (shipment.ship_from.name, shipment.ship_from.line1) == ("South DC", "Annedalsvägen 9")
    assert [s.warehouse_id for s in to_lulea.shipments] == ["WH-N"]
    stock = (await admin.get("/stock", params={"sku": "TEE"})).json()["items"]
    assert [(s["warehouse_id"], s["reserved"]) for s in stock] == [("WH-N", 1), ("WH-S", 1)]


async def test_a_replaced_warehouse_keeps_its_stock_and_an_inactive_one_ships_nothing(
    clients: dict[str, httpx.AsyncClient], database_url: str
) -> None:
    admin = clients["admin"]
    assert (await admin.put("/warehouses/WH-N", json=UMEA)).status_code == 200
    assert (await admin.put("/products/TEE", json={"name": "Tee", "unit_price": "1.00"})).is_success
    assert (await admin.put("/warehouses/WH-N/stock/TEE", json={"on_hand": 4})).is_success

    moved = {**UMEA, "line1": "Nya vägen 1", "lat": 63.83, "lon": 20.26, "active": False}
    replaced = await admin.put("/warehouses/WH-N", json=moved)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"warehouse_id": "WH-N", **moved}
    assert (await admin.get("/warehouses")).json()["items"] == []
    assert (await admin.get("/warehouses/WH-N")).json()["active"] is False
    stock = (await admin.get("/warehouses/WH-N/stock")).json()["items"]
    assert [(s["sku"], s["on_hand"]) for s in stock] == [("TEE", 4)]

    db = Database(database_url)
    try:
        with db.session() as session:
            decision = inventory.allocate(session, _allocation("O-3", "903 26", "Umeå"))
    finally:
        db.dispose()
    assert decision.shipments == [] and decision.rule == "backorder"


async def test_a_warehouse_that_cannot_be_placed_or_addressed_is_a_422_naming_each_field(
    clients: dict[str, httpx.AsyncClient],
) -> None:
    admin = clients["admin"]
    cases = [
        ({**UMEA, "country": "XX"}, {("body", "country")}),
        ({**UMEA, "postal_code": "ABC"}, {("body", "postal_code")}),
        ({**UMEA, "lat": 63.8}, {("body", "lon")}),
        # Porto is not a place the OMS knows, nor are Portuguese postcodes: give coordinates.
        (
            {**UMEA, "city": "Porto", "postal_code": "4000-001", "country": "PT"},
            {("body", "lat"), ("body", "lon")},
        ),
        ({**UMEA, "line1": ""}, {("body", "line1")}),
        ({**UMEA, "lat": 91, "lon": 0}, {("body", "lat")}),
        (
            {"name": "No address"},
            {("body", f) for f in ("line1", "postal_code", "city", "country")},
        ),
    ]
    for body, fields in cases:
        answer = await admin.put("/warehouses/WH-X", json=body)
        assert answer.status_code == 422, (body, answer.text)
        named = {tuple(e["loc"]) for e in answer.json()["errors"]}
        assert named == fields, (body, answer.json())
    assert (await admin.get("/warehouses/WH-X")).status_code == 404

    placed = {**UMEA, "city": "Porto", "postal_code": "4000-001", "country": "PT"}
    given = await admin.put("/warehouses/WH-X", json={**placed, "lat": 41.15, "lon": -8.61})
    assert given.status_code == 200, given.text
    assert (given.json()["lat"], given.json()["lon"]) == (41.15, -8.61)


async def test_only_an_admin_sets_a_warehouse_and_an_unknown_one_is_a_404(
    clients: dict[str, httpx.AsyncClient],
) -> None:
    assert (await clients["warehouse"].put("/warehouses/WH-N", json=UMEA)).status_code == 403
    assert (await clients["buyer"].get("/warehouses/WH-N")).status_code == 403
    missing = await clients["warehouse"].get("/warehouses/WH-N")
    assert missing.status_code == 404 and missing.json()["title"] == "UnknownWarehouse"
    bad_id = await clients["admin"].put("/warehouses/WH N!", json=UMEA)
    assert bad_id.status_code == 422


def _allocation(order_id: str, postal_code: str, city: str) -> AllocateRequest:
    return AllocateRequest(
        key=f"{order_id}:allocate",
        order_id=order_id,
        lines=[SkuQuantity(sku="TEE", quantity=1)],
        postal_code=postal_code,
        city=city,
        country="SE",
        placed_at=datetime.now(UTC),
    )
