"""Builders for store and activity tests: a three-warehouse network, requests, views.

Reusable by any test module::

    from inventory_fixtures import add_network, allocate_request, put_stock
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import select

from oms.models.common import Address, Customer, SkuQuantity
from oms.models.inventory import AllocateRequest, StockReceipt
from oms.models.orders import OrderLine, OrderOrigin, OrderStatus, OrderView
from oms.models.shipments import ShipmentLine, ShipmentStatus, ShipmentView
from oms.store import inventory
from oms.store.db import Database
from oms.store.tables import BackorderRow, Base, ProductRow, ReservationRow, StockRow, WarehouseRow

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

# id, city, postcode, lat, lon: Stockholm, Gothenburg, Malmö.
WAREHOUSES = [
    ("WH-STO", "Stockholm", "111 57", 59.3326, 18.0649),
    ("WH-GOT", "Göteborg", "411 04", 57.7089, 11.9746),
    ("WH-MMO", "Malmö", "211 20", 55.6050, 13.0038),
]
SKUS = ["TSHIRT", "JEANS", "CAP"]


def add_network(db: Database) -> None:
    """Three active warehouses with full addresses and three products, no stock."""
    with db.session() as session:
        for warehouse_id, city, postal_code, lat, lon in WAREHOUSES:
            session.add(
                WarehouseRow(
                    warehouse_id=warehouse_id,
                    name=f"DC {city}",
                    line1="Lagervägen 1",
                    postal_code=postal_code,
                    city=city,
                    country="SE",
                    lat=lat,
                    lon=lon,
                    active=True,
                )
            )
        for sku in SKUS:
            session.add(ProductRow(sku=sku, name=sku.title(), unit_price=Decimal("100.00")))


def put_stock(db: Database, warehouse_id: str, sku: str, on_hand: int) -> StockReceipt:
    with db.session() as session:
        return inventory.set_stock(session, warehouse_id, sku, on_hand)


def allocate_request(
    order_id: str,
    lines: dict[str, int],
    *,
    city: str = "Stockholm",
    postal_code: str = "111 22",
    placed_at: datetime = T0,
    key: str | None = None,
    first_shipment_no: int = 1,
) -> AllocateRequest:
    return AllocateRequest(
        key=key or f"{order_id}:allocate:{first_shipment_no}",
        order_id=order_id,
        lines=[SkuQuantity(sku=sku, quantity=qty) for sku, qty in lines.items()],
        postal_code=postal_code,
        city=city,
        country="SE",
        placed_at=placed_at,
        first_shipment_no=first_shipment_no,
    )


def stock_of(db: Database, warehouse_id: str, sku: str) -> tuple[int, int]:
    """(on_hand, reserved) of one stock row."""
    with db.session() as session:
        row = session.get(StockRow, (warehouse_id, sku))
        assert row is not None
        return row.on_hand, row.reserved


def open_reserved(db: Database, order_id: str) -> int:
    """Units held in open reservations for ``order_id``."""
    with db.session() as session:
        rows = session.scalars(
            select(ReservationRow).where(
                ReservationRow.order_id == order_id, ReservationRow.status == "open"
            )
        )
        return sum(r.quantity for r in rows)


def open_backordered(db: Database, order_id: str) -> int:
    """Units ``order_id`` is still owed by non-cancelled backorders."""
    with db.session() as session:
        rows = session.scalars(
            select(BackorderRow).where(
                BackorderRow.order_id == order_id, BackorderRow.cancelled.is_(False)
            )
        )
        return sum(r.quantity_open for r in rows)


ADDRESS = Address(
    name="Astrid Lindgren",
    line1="Drottninggatan 1",
    postal_code="111 51",
    city="Stockholm",
    country="SE",
)


def order_view(
    order_id: str,
    *,
    version: int = 1,
    status: OrderStatus = OrderStatus.CONFIRMED,
    customer_id: str = "C-1",
    placed_at: datetime = T0,
    origin: OrderOrigin = "customer",
) -> OrderView:
    return OrderView(
        order_id=order_id,
        status=status,
        channel="web",
        origin=origin,
        customer=Customer(id=customer_id, name="Astrid", email="astrid@example.com"),
        currency="SEK",
        total=Decimal("498.00"),
        lines=[OrderLine(sku="TSHIRT", quantity=2, unit_price=Decimal("249.00"))],
        ship_to=ADDRESS,
        placed_at=placed_at,
        updated_at=placed_at + timedelta(minutes=version),
        version=version,
    )


def shipment_view(
    shipment_id: str,
    *,
    order_id: str = "O-1",
    warehouse_id: str = "WH-STO",
    version: int = 1,
    status: ShipmentStatus = ShipmentStatus.PICKING,
    tracking_number: str | None = None,
    updated_at: datetime = T0,
) -> ShipmentView:
    return ShipmentView(
        shipment_id=shipment_id,
        order_id=order_id,
        warehouse_id=warehouse_id,
        status=status,
        lines=[ShipmentLine(sku="TSHIRT", quantity=2, unit_price=Decimal("249.00"))],
        ship_to=ADDRESS,
        tracking_number=tracking_number,
        updated_at=updated_at,
        version=version,
    )


@cache
def _memory_store() -> Database:
    # In memory, one connection per thread: every session of a test sees the same store.
    db = Database("sqlite:///:memory:")
    Base.metadata.create_all(db.engine)
    return db


def empty_store() -> Database:
    """An in-memory SQLite store with every table and no rows, for property tests that
    need a fresh store per example (emptying is much cheaper than creating)."""
    db = _memory_store()
    with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    return db
