"""``POST /ops/shipments/{id}/reroute`` to a named warehouse is refused when that warehouse
lacks the shipment's units, naming each SKU, before the order is asked to change.

Before, the re-route was accepted, the shipment was cancelled and its lines allocated only
at the named warehouse, which had none: an order that other warehouses could fill became a
backorder. The real app on a migrated, seeded SQLite store, no Temporal: the refusal comes
first (a request that got past it would answer 500 here, the app having no client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.models.shipments import ShipmentLine
from oms.store import inventory, orders
from oms.store.db import Database
from oms.store.tables import StockRow

from app_fixtures import app_clients
from inventory_fixtures import shipment_view


def _fill(session: Session) -> None:
    lines = [
        ShipmentLine(sku="SNEAKER-WHT-42", quantity=2, unit_price=Decimal("899.00")),
        ShipmentLine(sku="CAP-NVY", quantity=1, unit_price=Decimal("199.00")),
    ]
    view = shipment_view("O-RR-S1", order_id="O-RR", warehouse_id="WH-STO")
    orders.record_shipment(session, view.model_copy(update={"lines": lines}))
    # WH-MMO has 6 sneakers on hand, 5 of them reserved for other orders.
    stock = session.get(StockRow, ("WH-MMO", "SNEAKER-WHT-42"))
    assert stock is not None and stock.on_hand == 6
    stock.reserved = 5


@pytest.fixture
async def ops(migrated_sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_clients(migrated_sqlite_url, "ops", fill=_fill) as clients:
        yield clients["ops"]


def _reroute(warehouse_id: str) -> dict[str, str]:
    return {"shipment_id": "O-RR-S1", "reason": "WH-STO flooded", "warehouse_id": warehouse_id}


async def test_a_warehouse_without_the_units_is_refused_naming_what_it_lacks(
    ops: httpx.AsyncClient,
) -> None:
    answer = await ops.post("/ops/shipments/O-RR-S1/reroute", json=_reroute("WH-GOT"))
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["title"] == "NotInStock"
    assert "SNEAKER-WHT-42 (needs 2, has 0)" in body["detail"]
    assert "CAP-NVY (needs 1, has 0)" in body["detail"]
    # Units reserved for other orders are not available.
    answer = await ops.post("/ops/shipments/O-RR-S1/reroute", json=_reroute("WH-MMO"))
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert "SNEAKER-WHT-42 (needs 2, has 1)" in detail and "CAP-NVY (needs 1, has 0)" in detail


async def test_a_warehouse_that_does_not_exist_is_a_422_naming_the_field(
    ops: httpx.AsyncClient,
) -> None:
    answer = await ops.post("/ops/shipments/O-RR-S1/reroute", json=_reroute("WH-NOPE"))
    assert answer.status_code == 422, answer.text
    assert "warehouse_id" in answer.text


async def test_a_warehouse_with_every_unit_goes_on_to_the_order(
    ops: httpx.AsyncClient, migrated_sqlite_url: str
) -> None:
    db = Database(migrated_sqlite_url)
    with db.session() as session:
        inventory.set_stock(session, "WH-GOT", "SNEAKER-WHT-42", 2)
        inventory.set_stock(session, "WH-GOT", "CAP-NVY", 5)
    db.dispose()
    answer = await ops.post("/ops/shipments/O-RR-S1/reroute", json=_reroute("WH-GOT"))
    # Past the check: the order's update is asked (no Temporal client here: a 500).
    assert answer.status_code == 500, answer.text
