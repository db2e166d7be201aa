"""Giving back stock when part of a line is cancelled, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from oms.models.common import SkuQuantity
from oms.models.inventory import BackorderCheck, ReleaseResult
from oms.models.order_changes import BackorderUnits, TrimReservation
from oms.store import inventory
from oms.store.db import Database
from oms.store.line_cancels import backorder, trim
from oms.store.tables import BackorderRow

from inventory_fixtures import (
    T0,
    add_network,
    allocate_request,
    open_backordered,
    open_reserved,
    put_stock,
    stock_of,
)


@pytest.fixture
def net(db: Database) -> Database:
    add_network(db)
    return db


def _allocate(db: Database, order_id: str, qty: int, hours: int = 0) -> None:
    with db.session() as session:
        req = allocate_request(order_id, {"TSHIRT": qty}, placed_at=T0 + timedelta(hours=hours))
        inventory.allocate(session, req)


def _trim(db: Database, order_id: str, keep: int, shipment_id: str | None = None) -> ReleaseResult:
    with db.session() as session:
        req = TrimReservation(order_id=order_id, sku="TSHIRT", keep=keep, shipment_id=shipment_id)
        return trim(session, req)


def test_a_shipment_keeps_what_it_is_told_and_the_rest_goes_to_the_oldest_backorder(
    net: Database,
) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 3)
    _allocate(net, "O-1", 3)
    _allocate(net, "O-2", 2, hours=1)  # nothing left: owed 2

    freed = _trim(net, "O-1", keep=1, shipment_id="O-1-S1")

    assert (freed.released_units, freed.filled_orders) == (2, ["O-2"])
    assert open_reserved(net, "O-1") == 1
    assert (open_reserved(net, "O-2"), open_backordered(net, "O-2")) == (2, 0)
    assert stock_of(net, "WH-STO", "TSHIRT") == (3, 3)
    # A target, not a delta: the same call again frees nothing more.
    assert _trim(net, "O-1", keep=1, shipment_id="O-1-S1").released_units == 0
    assert open_reserved(net, "O-1") == 1


def test_owed_units_shrink_before_filled_ones_are_freed(net: Database) -> None:
    _allocate(net, "O-1", 4)  # nothing in stock: owed 4
    put_stock(net, "WH-STO", "TSHIRT", 1)  # fills one of them, not yet claimed
    assert (open_backordered(net, "O-1"), open_reserved(net, "O-1")) == (3, 1)

    assert _trim(net, "O-1", keep=2).released_units == 0  # 4 owed -> 2: open ones go first
    assert (open_backordered(net, "O-1"), open_reserved(net, "O-1")) == (1, 1)

    freed = _trim(net, "O-1", keep=0)
    assert freed.released_units == 1
    assert (open_backordered(net, "O-1"), open_reserved(net, "O-1")) == (0, 0)
    assert stock_of(net, "WH-STO", "TSHIRT") == (1, 0)
    assert _trim(net, "O-1", keep=0).released_units == 0


def test_keeping_more_than_is_held_changes_nothing(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    _allocate(net, "O-1", 2)
    assert _trim(net, "O-1", keep=5, shipment_id="O-1-S1").released_units == 0
    assert stock_of(net, "WH-STO", "TSHIRT") == (5, 2)


def _owed(db: Database, order_id: str, *, free: bool) -> int:
    with db.session() as session:
        rows = session.scalars(
            select(BackorderRow).where(
                BackorderRow.order_id == order_id,
                BackorderRow.cancelled.is_(False),
                BackorderRow.free.is_(free),
            )
        )
        return sum(r.quantity_open for r in rows)


def test_units_owed_at_no_charge_go_before_paid_ones_however_new_they_are(
    net: Database,
) -> None:
    # A claim's reship owes 3 free (paid once already), then a later re-allocation owes 2 paid.
    with net.session() as session:
        reship = allocate_request("O-1", {"TSHIRT": 3}, key="O-1:claim:1")
        inventory.allocate(session, reship.model_copy(update={"free": True}))
        inventory.allocate(session, allocate_request("O-1", {"TSHIRT": 2}, key="O-1:reroute:1"))
    put_stock(net, "WH-STO", "TSHIRT", 1)  # fills the oldest (free) one, not yet claimed
    assert (_owed(net, "O-1", free=True), _owed(net, "O-1", free=False)) == (2, 2)

    # The order refunds the units it cancels of those owed free: the store takes those.
    assert _trim(net, "O-1", keep=3).released_units == 0
    assert (_owed(net, "O-1", free=True), _owed(net, "O-1", free=False)) == (0, 2)
    assert open_reserved(net, "O-1") == 1  # the filled free unit, not yet taken

    freed = _trim(net, "O-1", keep=2)
    assert freed.released_units == 1  # the filled free unit goes before the paid owed ones
    assert _owed(net, "O-1", free=True) == 0
    # Freed, it fills the order's own paid backorder (the oldest open one there): 2 paid left.
    assert _owed(net, "O-1", free=False) + open_reserved(net, "O-1") == 2


@pytest.mark.parametrize("free", [False, True])
def test_a_short_picks_units_owed_again_are_free_only_when_its_parcel_was(
    net: Database, free: bool
) -> None:
    # Units missing from a claim's reship (sent at no charge) are owed at no charge: filled,
    # they ship in a parcel that captures nothing. Before, they were owed (and shipped) paid.
    short = BackorderUnits(
        key="O-1:short:1",
        order_id="O-1",
        lines=[SkuQuantity(sku="TSHIRT", quantity=1)],
        placed_at=T0,
        free=free,
    )
    assert ("free" in short.model_dump()) is free  # a paid one's payload is as it was
    with net.session() as session:
        assert backorder(session, short).filled_orders == []  # nothing in stock
    assert (_owed(net, "O-1", free=free), _owed(net, "O-1", free=not free)) == (1, 0)

    put_stock(net, "WH-STO", "TSHIRT", 1)
    with net.session() as session:
        check = BackorderCheck(key="O-1:claim:1", order_id="O-1", first_shipment_no=3)
        fill = inventory.claim_backorders(session, check)
    [parcel] = fill.shipments
    assert (parcel.shipment_id, parcel.lines, parcel.free) == (
        "O-1-S3",
        [SkuQuantity(sku="TSHIRT", quantity=1)],
        free,
    )
