"""Concurrent allocations never oversell, and late stock goes to the oldest backorders."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from oms.models.inventory import AllocationDecision, ReleaseRequest
from oms.store import inventory
from oms.store.db import Database
from oms.store.tables import BackorderRow, ReservationRow

from inventory_fixtures import T0, add_network, allocate_request, put_stock, stock_of

ORDERS = 50
UNITS = 20


def test_fifty_concurrent_orders_share_twenty_units_exactly(db: Database) -> None:
    add_network(db)
    put_stock(db, "WH-STO", "TSHIRT", UNITS)
    put_stock(db, "WH-GOT", "TSHIRT", 0)
    put_stock(db, "WH-MMO", "TSHIRT", 0)
    start = threading.Barrier(ORDERS)

    def place(i: int) -> AllocationDecision:
        # Placed times are unrelated to who wins the race for the lock.
        request = allocate_request(
            f"O-{i:02d}", {"TSHIRT": 1}, placed_at=T0 + timedelta(seconds=(i * 17) % ORDERS)
        )
        start.wait(timeout=60)
        with db.session() as session:
            return inventory.allocate(session, request)

    with ThreadPoolExecutor(max_workers=ORDERS) as pool:
        decisions = list(pool.map(place, range(ORDERS)))

    shipped = [d for d in decisions if d.shipments]
    backordered = [d for d in decisions if d.backordered]
    assert len(shipped) == UNITS
    assert len(backordered) == ORDERS - UNITS
    assert all(d.shipments[0].warehouse_id == "WH-STO" for d in shipped)
    assert stock_of(db, "WH-STO", "TSHIRT") == (UNITS, UNITS)
    assert stock_of(db, "WH-GOT", "TSHIRT") == (0, 0)
    with db.session() as session:
        reservations = session.scalars(select(ReservationRow)).all()
        assert sum(r.quantity for r in reservations) == UNITS
        waiting = session.scalars(
            select(BackorderRow).order_by(BackorderRow.placed_at, BackorderRow.id)
        ).all()
        assert len(waiting) == ORDERS - UNITS
        oldest_ten = [b.order_id for b in waiting[:10]]

    receipt = put_stock(db, "WH-GOT", "TSHIRT", 10)

    assert receipt.filled_orders == oldest_ten
    assert (receipt.stock.reserved, receipt.stock.available) == (10, 0)
    with db.session() as session:
        filled = {
            r.order_id
            for r in session.scalars(
                select(ReservationRow).where(ReservationRow.backorder_id.is_not(None))
            )
        }
        still_open = session.scalars(
            select(BackorderRow.order_id).where(BackorderRow.quantity_open > 0)
        ).all()
    assert filled == set(oldest_ten)
    assert len(still_open) == ORDERS - UNITS - 10
    assert not filled & set(still_open)


def test_concurrent_stock_updates_and_releases_keep_counts_consistent(db: Database) -> None:
    """Releases, refills and new orders racing on one SKU never lose or double a unit."""
    add_network(db)
    put_stock(db, "WH-STO", "TSHIRT", 10)
    for i in range(10):
        with db.session() as session:
            inventory.allocate(session, allocate_request(f"HOLD-{i}", {"TSHIRT": 1}))
    start = threading.Barrier(20)

    def release(i: int) -> None:
        start.wait(timeout=60)
        with db.session() as session:
            inventory.release(session, ReleaseRequest(order_id=f"HOLD-{i}"))

    def order(i: int) -> None:
        request = allocate_request(f"NEW-{i}", {"TSHIRT": 1}, placed_at=T0 + timedelta(minutes=i))
        start.wait(timeout=60)
        with db.session() as session:
            inventory.allocate(session, request)

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(release, i) for i in range(10)]
        futures += [pool.submit(order, i) for i in range(10)]
        for future in futures:
            future.result()

    # All ten held units were freed, and every new order got one either at
    # allocation time or from the backorder fill that a release triggered.
    assert stock_of(db, "WH-STO", "TSHIRT") == (10, 10)
    with db.session() as session:
        open_rows = session.scalars(
            select(ReservationRow).where(ReservationRow.status == "open")
        ).all()
        owed = session.scalars(select(BackorderRow).where(BackorderRow.quantity_open > 0)).all()
    assert sorted(r.order_id for r in open_rows) == sorted(f"NEW-{i}" for i in range(10))
    assert owed == []


def test_concurrent_retries_of_one_allocation_reserve_once(db: Database) -> None:
    add_network(db)
    put_stock(db, "WH-STO", "TSHIRT", 5)
    attempts = 10
    start = threading.Barrier(attempts)
    request = allocate_request("O-1", {"TSHIRT": 2})

    def attempt(_: int) -> AllocationDecision:
        start.wait(timeout=60)
        with db.session() as session:
            return inventory.allocate(session, request)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        decisions = list(pool.map(attempt, range(attempts)))

    assert all(d == decisions[0] for d in decisions)
    assert stock_of(db, "WH-STO", "TSHIRT") == (5, 2)
