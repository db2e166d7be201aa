"""The demo catalogue (devtools.demo.catalogue): idempotent, stocked for every allocation rule."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from devtools.demo.catalogue import (
    COMPANIES,
    MEMBERS,
    PRODUCTS,
    REORDER_POLICIES,
    STOCK,
    SUPPLIER_LINKS,
    SUPPLIERS,
    WAREHOUSES,
    seed_demo,
)
from oms.models.common import SkuQuantity
from oms.models.inventory import AllocateRequest
from oms.store import inventory
from oms.store.db import Database
from oms.store.tables import ProductRow, StockRow, WarehouseRow


def request(order_id: str, city: str, postal_code: str, **lines: int) -> AllocateRequest:
    return AllocateRequest(
        key=f"{order_id}:allocate:1",
        order_id=order_id,
        lines=[SkuQuantity(sku=sku.replace("_", "-"), quantity=q) for sku, q in lines.items()],
        postal_code=postal_code,
        city=city,
        country="SE",
        placed_at=datetime(2025, 3, 1, tzinfo=UTC),
    )


def test_seeding_twice_changes_nothing_and_keeps_moved_stock(db: Database) -> None:
    with db.session() as session:
        assert seed_demo(session) == (
            len(PRODUCTS)
            + len(PRODUCTS) * 6  # a list price in SEK, EUR, NOK, DKK, GBP and USD
            + len(WAREHOUSES)
            + len(STOCK)
            + len(COMPANIES)
            + len(MEMBERS)
            + len(SUPPLIERS)
            + len(SUPPLIER_LINKS)
            + len(REORDER_POLICIES)
        )
    with db.session() as session:
        inventory.set_stock(session, "WH-STO", "CAP-NVY", 3)
    with db.session() as session:
        assert seed_demo(session) == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ProductRow)) == len(PRODUCTS)
        assert session.scalar(select(func.count()).select_from(WarehouseRow)) == len(WAREHOUSES)
        assert session.scalar(select(func.count()).select_from(StockRow)) == len(STOCK)
        assert inventory.stock_levels(session, "WH-STO", "CAP-NVY")[0].on_hand == 3


def test_demo_stock_shows_single_warehouse_split_and_backorder(db: Database) -> None:
    with db.session() as session:
        seed_demo(session)
        single = inventory.allocate(
            session, request("D-1", "Göteborg", "411 04", TSHIRT_BLK_M=2, JEANS_IND_32=1)
        )
        split = inventory.allocate(
            session, request("D-2", "Stockholm", "111 22", CAP_NVY=1, JEANS_IND_32=1)
        )
        first = inventory.allocate(session, request("D-3", "Uppsala", "753 20", JACKET_WOOL_M=1))
        second = inventory.allocate(session, request("D-4", "Lund", "223 50", JACKET_WOOL_M=1))
        third = inventory.allocate(session, request("D-5", "Umeå", "903 26", JACKET_WOOL_M=1))

    assert (single.rule, [s.warehouse_id for s in single.shipments]) == (
        "nearest_complete",
        ["WH-GOT"],
    )
    assert (split.rule, [s.warehouse_id for s in split.shipments]) == (
        "split_by_distance",
        ["WH-STO", "WH-GOT"],
    )
    assert [s.warehouse_id for s in first.shipments] == ["WH-STO"]
    assert [s.warehouse_id for s in second.shipments] == ["WH-MMO"]
    assert third.rule == "backorder"
    assert third.backordered == [SkuQuantity(sku="JACKET-WOOL-M", quantity=1)]
    for decision in (single, split, first, second):
        for shipment in decision.shipments:
            assert shipment.ship_from is not None
