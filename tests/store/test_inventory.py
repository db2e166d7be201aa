"""Stock, reservations and backorders in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from oms.models.common import SkuQuantity
from oms.models.inventory import (
    AllocationDecision,
    BackorderCheck,
    BackorderFill,
    ConsumeRequest,
    ProductIn,
    ReleaseRequest,
)
from oms.store import inventory
from oms.store.db import Database
from oms.store.errors import (
    IdempotencyMismatch,
    StockBelowReserved,
    UnknownSku,
    UnknownWarehouse,
)
from oms.store.tables import AllocationRow, BackorderRow, ReservationRow, WarehouseRow

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


def allocate(db: Database, order_id: str, lines: dict[str, int], **kw: Any) -> AllocationDecision:
    with db.session() as session:
        return inventory.allocate(session, allocate_request(order_id, lines, **kw))


def shipments_of(
    result: AllocationDecision | BackorderFill,
) -> list[tuple[str, str, dict[str, int]]]:
    return [
        (s.shipment_id, s.warehouse_id, {line.sku: line.quantity for line in s.lines})
        for s in result.shipments
    ]


# --- allocate -------------------------------------------------------------------------------


def test_allocate_reserves_everything_at_the_nearest_complete_warehouse(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    put_stock(net, "WH-GOT", "TSHIRT", 5)

    decision = allocate(net, "O-1", {"TSHIRT": 2}, city="Göteborg")

    assert decision.rule == "nearest_complete"
    assert shipments_of(decision) == [("O-1-S1", "WH-GOT", {"TSHIRT": 2})]
    assert decision.backordered == []
    ship_from = decision.shipments[0].ship_from
    assert ship_from is not None
    assert (ship_from.city, ship_from.postal_code, ship_from.line1) == (
        "Göteborg",
        "411 04",
        "Lagervägen 1",
    )
    assert stock_of(net, "WH-GOT", "TSHIRT") == (5, 2)
    assert stock_of(net, "WH-STO", "TSHIRT") == (5, 0)
    stored = {c.warehouse_id: c for c in decision.candidates}
    assert stored["WH-STO"].stock_seen == {"TSHIRT": 5}
    assert stored["WH-MMO"].stock_seen == {"TSHIRT": 0}
    assert stored["WH-GOT"].distance_km == 0.0


def test_allocate_is_idempotent_on_its_key(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    first = allocate(net, "O-1", {"TSHIRT": 2})
    put_stock(net, "WH-STO", "TSHIRT", 50)  # even if stock changed in between

    again = allocate(net, "O-1", {"TSHIRT": 2})

    assert again == first
    assert stock_of(net, "WH-STO", "TSHIRT") == (50, 2)
    assert open_reserved(net, "O-1") == 2
    with net.session() as session:
        assert session.scalar(select(func.count()).select_from(AllocationRow)) == 1


def test_an_allocation_key_replayed_with_other_lines_or_order_is_refused(net: Database) -> None:
    """The attack: a key replayed with other lines (or for another order) got the first
    decision back, and shipped the first order's reservations for something else."""
    put_stock(net, "WH-STO", "TSHIRT", 5)
    put_stock(net, "WH-STO", "JEANS", 5)
    first = allocate(net, "O-1", {"TSHIRT": 2}, key="O-1:allocate")
    for order_id, lines in (("O-1", {"TSHIRT": 3}), ("O-1", {"JEANS": 2}), ("O-2", {"TSHIRT": 2})):
        with pytest.raises(IdempotencyMismatch, match="O-1:allocate"):
            allocate(net, order_id, lines, key="O-1:allocate")
    assert allocate(net, "O-1", {"TSHIRT": 2}, key="O-1:allocate") == first
    assert stock_of(net, "WH-STO", "TSHIRT") == (5, 2)
    assert stock_of(net, "WH-STO", "JEANS") == (5, 0)


def test_a_replayed_backordered_allocation_still_matches_its_lines(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 1)
    first = allocate(net, "O-1", {"TSHIRT": 3}, key="O-1:allocate")
    assert first.backordered
    assert allocate(net, "O-1", {"TSHIRT": 3}, key="O-1:allocate") == first


def test_allocate_splits_nearest_first_and_numbers_shipments_from_the_request(
    net: Database,
) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 1)
    put_stock(net, "WH-GOT", "TSHIRT", 5)
    put_stock(net, "WH-GOT", "JEANS", 1)
    put_stock(net, "WH-MMO", "JEANS", 4)

    decision = allocate(net, "O-1", {"TSHIRT": 2, "JEANS": 2}, first_shipment_no=3)

    assert decision.rule == "split_by_distance"
    assert shipments_of(decision) == [
        ("O-1-S3", "WH-STO", {"TSHIRT": 1}),
        ("O-1-S4", "WH-GOT", {"TSHIRT": 1, "JEANS": 1}),
        ("O-1-S5", "WH-MMO", {"JEANS": 1}),
    ]
    assert stock_of(net, "WH-STO", "TSHIRT") == (1, 1)
    assert stock_of(net, "WH-GOT", "TSHIRT") == (5, 1)
    assert stock_of(net, "WH-MMO", "JEANS") == (4, 1)
    with net.session() as session:
        keys = set(session.scalars(select(ReservationRow.key)))
    assert "O-1:allocate:3:WH-GOT:JEANS" in keys
    assert len(keys) == 4


def test_allocate_backorders_what_no_warehouse_has(net: Database) -> None:
    put_stock(net, "WH-MMO", "TSHIRT", 1)

    decision = allocate(net, "O-1", {"TSHIRT": 3, "CAP": 1})

    assert shipments_of(decision) == [("O-1-S1", "WH-MMO", {"TSHIRT": 1})]
    assert decision.backordered == [
        SkuQuantity(sku="TSHIRT", quantity=2),
        SkuQuantity(sku="CAP", quantity=1),
    ]
    with net.session() as session:
        rows = session.scalars(select(BackorderRow).order_by(BackorderRow.sku)).all()
        assert [(r.sku, r.quantity, r.quantity_open, r.cancelled) for r in rows] == [
            ("CAP", 1, 1, False),
            ("TSHIRT", 2, 2, False),
        ]
        assert rows[0].placed_at.replace(tzinfo=None) == T0.replace(tzinfo=None)


def test_allocate_with_no_stock_anywhere_backorders_everything(net: Database) -> None:
    decision = allocate(net, "O-1", {"JEANS": 2})
    assert decision.rule == "backorder"
    assert decision.shipments == []
    assert open_backordered(net, "O-1") == 2


def test_allocate_rejects_unknown_skus_and_writes_nothing(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    with pytest.raises(UnknownSku, match="NOPE"):
        allocate(net, "O-1", {"TSHIRT": 1, "NOPE": 1})
    assert stock_of(net, "WH-STO", "TSHIRT") == (5, 0)
    assert open_reserved(net, "O-1") == 0


def test_inactive_warehouses_are_not_allocated_from(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    put_stock(net, "WH-GOT", "TSHIRT", 5)
    with net.session() as session:
        row = session.get(WarehouseRow, "WH-STO")
        assert row is not None
        row.active = False

    decision = allocate(net, "O-1", {"TSHIRT": 1})
    assert shipments_of(decision) == [("O-1-S1", "WH-GOT", {"TSHIRT": 1})]
    assert "WH-STO" not in {c.warehouse_id for c in decision.candidates}


# --- backorders -----------------------------------------------------------------------------


def test_arriving_stock_fills_backorders_first_placed_first_served(net: Database) -> None:
    # Allocated in a different order from the one they were placed in.
    allocate(net, "LATE", {"TSHIRT": 2}, placed_at=T0 + timedelta(hours=2))
    allocate(net, "EARLY", {"TSHIRT": 2}, placed_at=T0)
    allocate(net, "MIDDLE", {"TSHIRT": 2}, placed_at=T0 + timedelta(hours=1))

    receipt = put_stock(net, "WH-STO", "TSHIRT", 3)

    assert receipt.filled_orders == ["EARLY", "MIDDLE"]
    assert (receipt.stock.on_hand, receipt.stock.reserved, receipt.stock.available) == (3, 3, 0)
    assert [open_backordered(net, o) for o in ("EARLY", "MIDDLE", "LATE")] == [0, 1, 2]
    assert [open_reserved(net, o) for o in ("EARLY", "MIDDLE", "LATE")] == [2, 1, 0]

    more = put_stock(net, "WH-STO", "TSHIRT", 6)
    assert more.filled_orders == ["MIDDLE", "LATE"]
    assert [open_backordered(net, o) for o in ("EARLY", "MIDDLE", "LATE")] == [0, 0, 0]
    with net.session() as session:
        keys = sorted(
            session.scalars(select(ReservationRow.key).where(ReservationRow.order_id == "MIDDLE"))
        )
    # Two fills of one backorder from one warehouse get distinct keys.
    assert len(keys) == 2
    assert len(set(keys)) == 2


def test_claim_turns_filled_backorders_into_one_shipment_per_warehouse(net: Database) -> None:
    allocate(net, "O-1", {"TSHIRT": 3, "JEANS": 1, "CAP": 2})
    put_stock(net, "WH-GOT", "TSHIRT", 2)
    put_stock(net, "WH-GOT", "JEANS", 1)
    put_stock(net, "WH-MMO", "TSHIRT", 5)

    with net.session() as session:
        fill = inventory.claim_backorders(
            session, BackorderCheck(key="O-1:claim:1", order_id="O-1", first_shipment_no=2)
        )

    assert shipments_of(fill) == [
        ("O-1-S2", "WH-GOT", {"TSHIRT": 2, "JEANS": 1}),
        ("O-1-S3", "WH-MMO", {"TSHIRT": 1}),
    ]
    assert fill.still_backordered == [SkuQuantity(sku="CAP", quantity=2)]
    assert all(s.ship_from is not None for s in fill.shipments)

    with net.session() as session:
        again = inventory.claim_backorders(
            session, BackorderCheck(key="O-1:claim:1", order_id="O-1", first_shipment_no=9)
        )
        other = inventory.claim_backorders(
            session, BackorderCheck(key="O-1:claim:2", order_id="O-1", first_shipment_no=4)
        )
    assert again.shipments == fill.shipments
    assert other.shipments == []


def test_claimed_shipments_can_be_consumed_like_allocated_ones(net: Database) -> None:
    allocate(net, "O-1", {"TSHIRT": 2})
    put_stock(net, "WH-STO", "TSHIRT", 2)
    with net.session() as session:
        fill = inventory.claim_backorders(
            session, BackorderCheck(key="k", order_id="O-1", first_shipment_no=1)
        )
        result = inventory.consume(
            session,
            ConsumeRequest(
                shipment_id=fill.shipments[0].shipment_id,
                order_id="O-1",
                warehouse_id="WH-STO",
                lines=fill.shipments[0].lines,
            ),
        )
    assert result.consumed_units == 2
    assert stock_of(net, "WH-STO", "TSHIRT") == (0, 0)


# --- release --------------------------------------------------------------------------------


def test_release_frees_stock_for_the_oldest_backorder(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 2)
    allocate(net, "FIRST", {"TSHIRT": 2}, placed_at=T0)
    allocate(net, "NEWER", {"TSHIRT": 2}, placed_at=T0 + timedelta(minutes=2))
    allocate(net, "OLDER", {"TSHIRT": 1}, placed_at=T0 + timedelta(minutes=1))

    with net.session() as session:
        result = inventory.release(session, ReleaseRequest(order_id="FIRST"))

    assert result.released_units == 2
    assert result.filled_orders == ["OLDER", "NEWER"]
    assert open_reserved(net, "OLDER") == 1
    assert open_reserved(net, "NEWER") == 1
    assert open_backordered(net, "NEWER") == 1
    assert stock_of(net, "WH-STO", "TSHIRT") == (2, 2)

    with net.session() as session:
        second = inventory.release(session, ReleaseRequest(order_id="FIRST"))
    assert second.released_units == 0
    assert second.filled_orders == []
    assert stock_of(net, "WH-STO", "TSHIRT") == (2, 2)


def test_releasing_an_order_cancels_its_backorders(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 1)
    allocate(net, "O-1", {"TSHIRT": 3})

    with net.session() as session:
        result = inventory.release(session, ReleaseRequest(order_id="O-1"))

    assert result.released_units == 1
    assert result.filled_orders == []  # its own backorder does not get the freed unit
    assert open_backordered(net, "O-1") == 0
    assert stock_of(net, "WH-STO", "TSHIRT") == (1, 0)
    assert put_stock(net, "WH-STO", "TSHIRT", 10).filled_orders == []
    assert open_reserved(net, "O-1") == 0


def test_releasing_one_shipment_keeps_the_rest_of_the_order(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 1)
    put_stock(net, "WH-GOT", "TSHIRT", 1)
    put_stock(net, "WH-GOT", "CAP", 1)
    decision = allocate(net, "O-1", {"TSHIRT": 2, "CAP": 1})
    assert [s.shipment_id for s in decision.shipments] == ["O-1-S1", "O-1-S2"]
    allocate(net, "O-2", {"TSHIRT": 1})

    with net.session() as session:
        result = inventory.release(session, ReleaseRequest(order_id="O-1", shipment_id="O-1-S2"))

    assert result.released_units == 2
    assert result.filled_orders == ["O-2"]
    assert stock_of(net, "WH-GOT", "TSHIRT") == (1, 1)  # now held for O-2
    assert stock_of(net, "WH-GOT", "CAP") == (1, 0)
    assert stock_of(net, "WH-STO", "TSHIRT") == (1, 1)
    assert open_reserved(net, "O-1") == 1


def test_a_shipment_release_can_fill_the_same_orders_backorder(net: Database) -> None:
    # Only a whole-order release cancels backorders; freed units may go to the order's own
    # older backorder, which filled_orders leaves out: the releasing workflow claims it itself.
    put_stock(net, "WH-STO", "TSHIRT", 1)
    put_stock(net, "WH-GOT", "CAP", 1)
    allocate(net, "O-1", {"TSHIRT": 1, "CAP": 2})  # S1 STO TSHIRT, S2 GOT CAP, 1 CAP owed

    with net.session() as session:
        result = inventory.release(session, ReleaseRequest(order_id="O-1", shipment_id="O-1-S2"))
        assert result.filled_orders == []
        fill = inventory.claim_backorders(
            session, BackorderCheck(key="O-1:claim:3", order_id="O-1", first_shipment_no=3)
        )

    assert shipments_of(fill) == [("O-1-S3", "WH-GOT", {"CAP": 1})]
    assert fill.still_backordered == []
    assert stock_of(net, "WH-GOT", "CAP") == (1, 1)


# --- re-routed backorders -------------------------------------------------------------------


def reroute(db: Database, order_id: str, lines: dict[str, int], **where: list[str]) -> None:
    """Allocate ``lines`` again as a re-route does: its own key, ``exclude_warehouses`` or
    ``only_warehouses``."""
    req = allocate_request(order_id, lines, key=f"{order_id}:reroute:1", first_shipment_no=2)
    with db.session() as session:
        inventory.allocate(session, req.model_copy(update=where))


def receive(db: Database, warehouse_id: str, sku: str, quantity: int) -> list[str]:
    """A delivery's units at ``warehouse_id``; the orders the fill served."""
    with db.session() as session:
        return inventory.receive_units(session, warehouse_id, sku, quantity).filled_orders


def claim(db: Database, order_id: str, key: str) -> BackorderFill:
    with db.session() as session:
        return inventory.claim_backorders(
            session, BackorderCheck(key=key, order_id=order_id, first_shipment_no=3)
        )


def test_a_backorder_rerouted_away_from_a_warehouse_is_never_filled_there(
    net: Database,
) -> None:
    reroute(net, "O-1", {"TSHIRT": 2}, exclude_warehouses=["WH-STO"])
    # Placed after O-1, and not re-routed: it may take what O-1 may not.
    allocate(net, "O-2", {"TSHIRT": 1}, placed_at=T0 + timedelta(hours=1))
    assert open_backordered(net, "O-1") == 2

    assert receive(net, "WH-STO", "TSHIRT", 5) == ["O-2"]
    assert (open_backordered(net, "O-1"), open_reserved(net, "O-1")) == (2, 0)
    assert stock_of(net, "WH-STO", "TSHIRT") == (5, 1)
    assert claim(net, "O-1", "O-1:claim:1").shipments == []

    assert receive(net, "WH-GOT", "TSHIRT", 2) == ["O-1"]
    assert shipments_of(claim(net, "O-1", "O-1:claim:2")) == [("O-1-S3", "WH-GOT", {"TSHIRT": 2})]


def test_a_backorder_rerouted_to_one_warehouse_is_filled_only_there(net: Database) -> None:
    reroute(net, "O-1", {"TSHIRT": 2}, only_warehouses=["WH-GOT"])

    assert receive(net, "WH-STO", "TSHIRT", 5) == []
    assert receive(net, "WH-MMO", "TSHIRT", 5) == []
    # A stock count and another order's release there fill it no more than a delivery.
    put_stock(net, "WH-MMO", "TSHIRT", 7)
    allocate(net, "O-2", {"TSHIRT": 3}, city="Malmö", postal_code="211 20")
    with net.session() as session:
        assert inventory.release(session, ReleaseRequest(order_id="O-2")).filled_orders == []
    assert open_backordered(net, "O-1") == 2

    assert receive(net, "WH-GOT", "TSHIRT", 1) == ["O-1"]
    assert (open_backordered(net, "O-1"), open_reserved(net, "O-1")) == (1, 1)


def test_a_rerouted_backorder_keeps_its_choice_beside_the_orders_other_backorder_of_the_sku(
    net: Database,
) -> None:
    # The workflow's view owes three of one SKU; the store keeps two backorders, and only
    # the re-routed one passes over the warehouse it was moved away from.
    allocate(net, "O-1", {"TSHIRT": 1})
    reroute(net, "O-1", {"TSHIRT": 2}, exclude_warehouses=["WH-STO"])
    with net.session() as session:
        assert inventory.still_backordered(session, "O-1") == [
            SkuQuantity(sku="TSHIRT", quantity=3)
        ]

    assert receive(net, "WH-STO", "TSHIRT", 5) == ["O-1"]
    fill = claim(net, "O-1", "O-1:claim:1")
    assert shipments_of(fill) == [("O-1-S3", "WH-STO", {"TSHIRT": 1})]
    assert fill.still_backordered == [SkuQuantity(sku="TSHIRT", quantity=2)]

    assert receive(net, "WH-MMO", "TSHIRT", 5) == ["O-1"]
    assert claim(net, "O-1", "O-1:claim:2").still_backordered == []


# --- a claim's reship, owed at no charge ----------------------------------------------------


def reship(db: Database, order_id: str, lines: dict[str, int]) -> AllocationDecision:
    """Allocate ``lines`` again as a claim's reship does: its own key, at no charge."""
    req = allocate_request(order_id, lines, key=f"{order_id}:claim:1", first_shipment_no=2)
    with db.session() as session:
        return inventory.allocate(session, req.model_copy(update={"free": True}))


def free_of(fill: BackorderFill | AllocationDecision) -> list[tuple[str, bool]]:
    return [(s.shipment_id, s.free) for s in fill.shipments]


def test_a_reship_is_free_and_so_is_what_it_owes_when_stock_fills_it(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 1)
    decision = reship(net, "O-1", {"TSHIRT": 3})
    assert free_of(decision) == [("O-1-S2", True)]
    assert decision.backordered == [SkuQuantity(sku="TSHIRT", quantity=2)]
    with net.session() as session:
        assert [r.free for r in session.scalars(select(BackorderRow))] == [True]

    receive(net, "WH-GOT", "TSHIRT", 2)
    fill = claim(net, "O-1", "O-1:claim:1")
    assert shipments_of(fill) == [("O-1-S3", "WH-GOT", {"TSHIRT": 2})]
    assert free_of(fill) == [("O-1-S3", True)]
    # A retry answers the same free parcel.
    assert claim(net, "O-1", "O-1:claim:1") == fill


def test_free_and_paid_units_of_one_sku_never_share_a_parcel(net: Database) -> None:
    # The order owes one paid unit (its allocation) and, for the same SKU, two free ones (a
    # reship of a lost parcel): one delivery at one warehouse fills all three.
    allocate(net, "O-1", {"TSHIRT": 1, "CAP": 1})
    reship(net, "O-1", {"TSHIRT": 2})
    receive(net, "WH-STO", "TSHIRT", 5)
    receive(net, "WH-STO", "CAP", 1)

    fill = claim(net, "O-1", "O-1:claim:1")
    # Paid first, then free, at each warehouse.
    assert shipments_of(fill) == [
        ("O-1-S3", "WH-STO", {"TSHIRT": 1, "CAP": 1}),
        ("O-1-S4", "WH-STO", {"TSHIRT": 2}),
    ]
    assert free_of(fill) == [("O-1-S3", False), ("O-1-S4", True)]
    assert fill.still_backordered == []
    assert claim(net, "O-1", "O-1:claim:1") == fill


def test_a_paid_backorder_fill_says_nothing_of_free_in_its_payload(net: Database) -> None:
    # Runs of the code before parse a paid parcel's payload as they always did.
    allocate(net, "O-1", {"TSHIRT": 1})
    receive(net, "WH-STO", "TSHIRT", 1)
    [shipment] = claim(net, "O-1", "O-1:claim:1").shipments
    assert not shipment.free and "free" not in shipment.model_dump(mode="json")


# --- consume --------------------------------------------------------------------------------


def test_consume_takes_shipped_units_out_of_stock_once(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    put_stock(net, "WH-STO", "CAP", 1)
    decision = allocate(net, "O-1", {"TSHIRT": 2, "CAP": 1})
    shipment = decision.shipments[0]
    request = ConsumeRequest(
        shipment_id=shipment.shipment_id,
        order_id="O-1",
        warehouse_id=shipment.warehouse_id,
        lines=shipment.lines,
    )

    with net.session() as session:
        assert inventory.consume(session, request).consumed_units == 3
    with net.session() as session:
        assert inventory.consume(session, request).consumed_units == 0
        # Shipped units cannot be released back into stock.
        assert inventory.release(session, ReleaseRequest(order_id="O-1")).released_units == 0

    assert stock_of(net, "WH-STO", "TSHIRT") == (3, 0)
    assert stock_of(net, "WH-STO", "CAP") == (0, 0)


# --- set_stock and catalogue ----------------------------------------------------------------


def test_set_stock_creates_and_replaces_the_level(net: Database) -> None:
    first = put_stock(net, "WH-MMO", "CAP", 7)
    assert (first.stock.on_hand, first.stock.reserved, first.stock.available) == (7, 0, 7)
    assert put_stock(net, "WH-MMO", "CAP", 3).stock.on_hand == 3
    assert put_stock(net, "WH-MMO", "CAP", -4).stock.on_hand == 0


def test_set_stock_rejects_unknown_warehouse_and_sku(net: Database) -> None:
    with pytest.raises(UnknownWarehouse):
        put_stock(net, "WH-XXX", "CAP", 1)
    with pytest.raises(UnknownSku):
        put_stock(net, "WH-STO", "NOPE", 1)
    with net.session() as session:
        assert inventory.stock_levels(session) == []


def test_set_stock_refuses_to_go_below_reserved_units(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    allocate(net, "O-1", {"TSHIRT": 3})
    with pytest.raises(StockBelowReserved):
        put_stock(net, "WH-STO", "TSHIRT", 2)
    assert stock_of(net, "WH-STO", "TSHIRT") == (5, 3)
    assert put_stock(net, "WH-STO", "TSHIRT", 3).stock.available == 0


def test_read_helpers(net: Database) -> None:
    put_stock(net, "WH-STO", "TSHIRT", 5)
    put_stock(net, "WH-GOT", "TSHIRT", 2)
    put_stock(net, "WH-GOT", "CAP", 1)
    with net.session() as session:
        assert [w.warehouse_id for w in inventory.list_warehouses(session).items] == [
            "WH-GOT",
            "WH-MMO",
            "WH-STO",
        ]
        assert [(s.warehouse_id, s.sku) for s in inventory.stock_levels(session)] == [
            ("WH-GOT", "CAP"),
            ("WH-GOT", "TSHIRT"),
            ("WH-STO", "TSHIRT"),
        ]
        assert [s.on_hand for s in inventory.stock_levels(session, sku="TSHIRT")] == [2, 5]
        assert len(inventory.stock_levels(session, warehouse_id="WH-GOT", sku="CAP")) == 1
        assert inventory.known_skus(session, ["CAP", "NOPE", "JEANS"]) == {"CAP", "JEANS"}
        assert inventory.known_skus(session, []) == set()


def test_upsert_product_creates_then_updates(net: Database) -> None:
    with net.session() as session:
        created = inventory.upsert_product(
            session, "SOCKS-3PK", ProductIn(name="Socks", unit_price="149", weight_grams=150)
        )
    assert created.unit_price == "149.00"
    with net.session() as session:
        inventory.upsert_product(
            session, "SOCKS-3PK", ProductIn(name="Merino socks", unit_price="159.50")
        )
    with net.session() as session:
        product = inventory.get_product(session, "SOCKS-3PK")
        assert product is not None
        assert (product.name, product.unit_price, product.weight_grams) == (
            "Merino socks",
            "159.50",
            500,
        )
        assert inventory.get_product(session, "NOPE") is None
        assert [p.sku for p in inventory.list_products(session).items] == [
            "CAP",
            "JEANS",
            "SOCKS-3PK",
            "TSHIRT",
        ]


def test_shortfall_at_names_each_sku_a_warehouse_lacks_net_of_reservations(
    net: Database,
) -> None:
    # A re-route to a named warehouse asks this first (409 naming what it lacks).
    put_stock(net, "WH-GOT", "TSHIRT", 3)
    put_stock(net, "WH-GOT", "CAP", 5)
    allocate(net, "O-OTHER", {"TSHIRT": 2}, city="Göteborg", postal_code="411 04")
    lines = [
        SkuQuantity(sku="TSHIRT", quantity=2),
        SkuQuantity(sku="JEANS", quantity=1),
        SkuQuantity(sku="CAP", quantity=4),
    ]
    with net.session() as session:
        assert inventory.shortfall_at(session, "WH-GOT", lines) == [
            ("JEANS", 1, 0),
            ("TSHIRT", 2, 1),
        ]
        assert inventory.shortfall_at(session, "WH-GOT", lines[2:]) == []
