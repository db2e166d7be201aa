"""Inventory and read-model activities against the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.inventory import InventoryActivities
from activities.orders import ReadModelActivities
from devtools.demo.catalogue import seed_demo
from oms.models.common import SkuQuantity
from oms.models.inventory import (
    AllocateRequest,
    BackorderCheck,
    ConsumeRequest,
    ReleaseRequest,
)
from oms.models.orders import RecordResult
from oms.store import inventory, orders
from oms.store.db import Database
from oms.store.inventory import StockStore
from oms.store.orders import ReadModelStore

from inventory_fixtures import order_view, shipment_view

PLACED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def acts(db: Database) -> InventoryActivities:
    with db.session() as session:
        seed_demo(session)
    return InventoryActivities(StockStore(db))


def order(order_id: str, **lines: int) -> AllocateRequest:
    """An order shipped to Malmö; SKU dashes are spelled as underscores in the keywords."""
    return AllocateRequest(
        key=f"{order_id}:allocate:1",
        order_id=order_id,
        lines=[SkuQuantity(sku=sku.replace("_", "-"), quantity=q) for sku, q in lines.items()],
        postal_code="211 20",
        city="Malmö",
        country="SE",
        placed_at=PLACED,
    )


def test_allocate_ships_from_the_nearest_warehouse_and_is_idempotent(
    acts: InventoryActivities,
) -> None:
    env = ActivityEnvironment()
    request = order("A-1", TSHIRT_BLK_M=2, SOCKS_3PK=1)

    decision = env.run(acts.allocate, request)
    again = env.run(acts.allocate, request)

    assert decision.rule == "nearest_complete"
    assert [s.warehouse_id for s in decision.shipments] == ["WH-MMO"]
    assert decision.shipments[0].ship_from is not None
    assert again == decision


def test_unknown_sku_is_a_non_retryable_business_error(acts: InventoryActivities) -> None:
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as caught:
        env.run(acts.allocate, order("A-1", NO_SUCH_SKU=1))
    assert caught.value.type == "UnknownSku"
    assert caught.value.non_retryable is True
    assert "NO-SUCH-SKU" in caught.value.message


def test_release_consume_and_claim_through_activities(
    db: Database, acts: InventoryActivities
) -> None:
    env = ActivityEnvironment()
    # The wool jacket has two units in the network: the third order waits.
    first = env.run(acts.allocate, order("J-1", JACKET_WOOL_M=1))
    second = env.run(acts.allocate, order("J-2", JACKET_WOOL_M=1))
    third = env.run(acts.allocate, order("J-3", JACKET_WOOL_M=1))
    assert first.shipments and second.shipments
    assert third.backordered == [SkuQuantity(sku="JACKET-WOOL-M", quantity=1)]

    shipment = first.shipments[0]
    consumed = env.run(
        acts.consume,
        ConsumeRequest(
            shipment_id=shipment.shipment_id,
            order_id="J-1",
            warehouse_id=shipment.warehouse_id,
            lines=shipment.lines,
        ),
    )
    assert consumed.consumed_units == 1

    released = env.run(acts.release, ReleaseRequest(order_id="J-2"))
    assert released.released_units == 1
    assert released.filled_orders == ["J-3"]

    fill = env.run(
        acts.claim_backorders,
        BackorderCheck(key="J-3:claim:1", order_id="J-3", first_shipment_no=1),
    )
    assert [(s.shipment_id, s.warehouse_id) for s in fill.shipments] == [
        ("J-3-S1", second.shipments[0].warehouse_id)
    ]
    assert fill.still_backordered == []
    with db.session() as session:
        levels = inventory.stock_levels(session, sku="JACKET-WOOL-M")
    assert sum(level.on_hand for level in levels) == 1
    assert sum(level.reserved for level in levels) == 1


def test_read_model_activities_write_only_newer_versions(db: Database) -> None:
    env = ActivityEnvironment()
    acts = ReadModelActivities(ReadModelStore(db))

    assert env.run(acts.record_order, order_view("O-1", version=2)) == RecordResult(written=True)
    assert env.run(acts.record_order, order_view("O-1", version=1)) == RecordResult(written=False)
    assert env.run(acts.record_shipment, shipment_view("O-1-S1")) == RecordResult(written=True)
    assert env.run(acts.record_shipment, shipment_view("O-1-S1")) == RecordResult(written=False)
    with db.session() as session:
        stored = orders.get_order(session, "O-1")
        assert stored is not None
        assert stored.version == 2
        assert orders.get_shipment(session, "O-1-S1") is not None
