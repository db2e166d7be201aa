"""Read model of orders and shipments: versioned upserts and the lists the API serves."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from oms.models.common import Customer
from oms.models.orders import NoteEntry, OrderLine, OrderSearch, OrderStatus, OrderView
from oms.models.risk import CustomerOrders, RiskCheck
from oms.models.shipments import ShipmentStatus
from oms.store import orders
from oms.store.db import Database

from inventory_fixtures import T0, order_view, shipment_view


def test_a_new_order_is_written_and_read_back_whole(db: Database) -> None:
    view = order_view("O-1", version=1)
    with db.session() as session:
        assert orders.record_order(session, view) is True
    with db.session() as session:
        assert orders.get_order(session, "O-1") == view
        assert orders.get_order(session, "O-404") is None


def test_only_a_newer_version_overwrites(db: Database) -> None:
    with db.session() as session:
        orders.record_order(session, order_view("O-1", version=3, status=OrderStatus.ALLOCATED))
    with db.session() as session:
        assert orders.record_order(session, order_view("O-1", version=2)) is False
        assert orders.record_order(session, order_view("O-1", version=3)) is False
    with db.session() as session:
        stored = orders.get_order(session, "O-1")
        assert stored is not None
        assert (stored.version, stored.status) == (3, OrderStatus.ALLOCATED)
        newer = order_view("O-1", version=4, status=OrderStatus.SHIPPED)
        assert orders.record_order(session, newer) is True
    with db.session() as session:
        assert orders.get_order(session, "O-1") == newer
        assert orders.list_orders(session, status="shipped").items == [newer]
        assert orders.list_orders(session, status=OrderStatus.ALLOCATED).items == []


def test_list_orders_newest_first_with_filters_and_paging(db: Database) -> None:
    views = [
        order_view(f"O-{i}", customer_id="C-A" if i % 2 else "C-B", placed_at=T0 + timedelta(i))
        for i in range(5)
    ]
    with db.session() as session:
        for view in views:
            orders.record_order(session, view)
    with db.session() as session:
        assert [v.order_id for v in orders.list_orders(session).items] == [
            "O-4",
            "O-3",
            "O-2",
            "O-1",
            "O-0",
        ]
        assert [v.order_id for v in orders.list_orders(session, customer_id="C-A").items] == [
            "O-3",
            "O-1",
        ]
        first = orders.list_orders(session, limit=2)
        assert [v.order_id for v in first.items] == ["O-4", "O-3"]
        second = orders.list_orders(session, limit=2, cursor=first.next_cursor)
        assert [v.order_id for v in second.items] == ["O-2", "O-1"]
        last = orders.list_orders(session, limit=2, cursor=second.next_cursor)
        assert [v.order_id for v in last.items] == ["O-0"] and last.next_cursor is None


def test_concurrent_first_writes_of_one_order_keep_the_newest(db: Database) -> None:
    writers = 8
    start = threading.Barrier(writers)

    def write(version: int) -> bool:
        start.wait(timeout=60)
        with db.session() as session:
            return orders.record_order(session, order_view("O-RACE", version=version))

    with ThreadPoolExecutor(max_workers=writers) as pool:
        results = list(pool.map(write, range(1, writers + 1)))

    assert any(results)
    with db.session() as session:
        stored = orders.get_order(session, "O-RACE")
        assert stored is not None
        assert stored.version == writers


def test_shipments_are_versioned_listed_and_found_by_tracking_number(db: Database) -> None:
    picking = shipment_view("O-1-S1", warehouse_id="WH-STO", updated_at=T0)
    other = shipment_view("O-2-S1", warehouse_id="WH-GOT", updated_at=T0 + timedelta(hours=1))
    later = shipment_view("O-3-S1", warehouse_id="WH-STO", updated_at=T0 + timedelta(hours=2))
    with db.session() as session:
        for view in (later, picking, other):
            assert orders.record_shipment(session, view) is True

    shipped = shipment_view(
        "O-1-S1",
        version=2,
        status=ShipmentStatus.SHIPPED,
        tracking_number="SBX123",
        updated_at=T0 + timedelta(hours=3),
    )
    with db.session() as session:
        assert orders.record_shipment(session, shipped) is True
        assert orders.record_shipment(session, picking) is False
    with db.session() as session:
        assert orders.get_shipment(session, "O-1-S1") == shipped
        assert orders.shipment_by_tracking(session, "SBX123") == shipped
        assert orders.shipment_by_tracking(session, "NOPE") is None
        assert [
            s.shipment_id for s in orders.list_shipments(session, warehouse_id="WH-STO").items
        ] == [
            "O-3-S1",
            "O-1-S1",
        ]
        assert [
            s.shipment_id
            for s in orders.list_shipments(session, warehouse_id="WH-STO", status="picking").items
        ] == ["O-3-S1"]
        assert [s.shipment_id for s in orders.list_shipments(session).items] == [
            "O-2-S1",
            "O-3-S1",
            "O-1-S1",
        ]


def test_an_unknown_status_filter_is_an_error(db: Database) -> None:
    with db.session() as session, pytest.raises(ValueError):
        orders.list_orders(session, status="lost")


def test_a_label_names_its_shipment_before_the_read_model_has_its_tracking_number(
    db: Database,
) -> None:
    from decimal import Decimal

    from oms.store.tables import LabelRow

    def label(key: str, shipment_id: str, tracking: str, voided: bool) -> LabelRow:
        return LabelRow(
            idempotency_key=key,
            shipment_id=shipment_id,
            label_id=f"L-{key}",
            tracking_number=tracking,
            carrier="sandbox",
            service="standard",
            price=Decimal("49.00"),
            currency="SEK",
            voided=voided,
        )

    with db.session() as session:
        session.add(label("O-1-S1:label", "O-1-S1", "SBX1", voided=False))
        session.add(label("O-2-S1:label", "O-2-S1", "SBX2", voided=True))
    with db.session() as session:
        assert orders.shipment_by_tracking(session, "SBX1") is None
        assert orders.shipment_id_by_label(session, "SBX1") == "O-1-S1"
        # A voided label's tracking number no longer moves its shipment.
        assert orders.shipment_id_by_label(session, "SBX2") is None
        assert orders.shipment_id_by_label(session, "NOPE") is None


def test_a_note_on_a_finished_order_goes_into_its_notes_and_history(db: Database) -> None:
    with db.session() as session:
        orders.record_order(session, order_view("O-1", version=7, status=OrderStatus.COMPLETED))
    note = NoteEntry(at=T0 + timedelta(days=3), by="support-1", text="Refund sent", tags=["late"])
    with db.session() as session:
        noted = orders.add_note(session, "O-1", note)
        assert orders.add_note(session, "O-404", note) is None
    with db.session() as session:
        stored = orders.get_order(session, "O-1")
    assert stored is not None and stored == noted
    assert stored.notes == [note] and stored.version == 8
    assert stored.history[-1].note == "Note by support-1: Refund sent [late]"
    assert (stored.history[-1].status, stored.history[-1].by) == ("completed", "support-1")


def test_customer_orders_counts_earlier_orders_and_the_last_hour(db: Database) -> None:
    placed = [T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=50), T0 + timedelta(hours=2)]
    with db.session() as session:
        for i, at in enumerate(placed):
            orders.record_order(session, order_view(f"O-{i}", placed_at=at))
        orders.record_order(session, order_view("O-X", customer_id="C-OTHER", placed_at=T0))

    def counts(order_id: str, at: datetime) -> CustomerOrders:
        check = RiskCheck(
            order_id=order_id,
            customer_id="C-1",
            currency="SEK",
            total=Decimal("1"),
            ship_country="SE",
            placed_at=at,
        )
        with db.session() as session:
            return orders.customer_orders(session, check)

    # O-2 (its own row is there): O-0 and O-1 before it, both within its hour.
    assert counts("O-2", placed[2]) == CustomerOrders(earlier=2, last_hour=3)
    # A new order not yet written, 70 minutes after T0: O-0 is older than an hour, O-1
    # placed exactly an hour before counts.
    assert counts("O-NEW", T0 + timedelta(minutes=70)) == CustomerOrders(earlier=3, last_hour=3)
    assert counts("O-FIRST", T0 - timedelta(days=1)) == CustomerOrders(earlier=0, last_hour=1)


def test_customer_orders_count_only_the_orders_the_customer_placed(db: Database) -> None:
    # C-42 placed two orders; the OMS placed four more for them in the same hour (three
    # exchange replacements and a subscription's renewal). Only the two are the customer's:
    # neither "orders within an hour" nor "first order" may count the OMS's.
    placed = [
        order_view("W-0", customer_id="C-42", placed_at=T0),
        order_view("W-1", customer_id="C-42", placed_at=T0 + timedelta(minutes=5)),
        *(
            order_view(f"RMA-{i}-X", customer_id="C-42", placed_at=T0, origin="replacement")
            for i in (1, 2, 3)
        ),
        order_view("SUB-S-1", customer_id="C-42", placed_at=T0, origin="renewal"),
        order_view("SUB-T-1", customer_id="C-NEW", placed_at=T0, origin="renewal"),
    ]
    with db.session() as session:
        for view in placed:
            orders.record_order(session, view)

    def counts(customer_id: str) -> CustomerOrders:
        check = RiskCheck(
            order_id="W-NEXT",
            customer_id=customer_id,
            currency="SEK",
            total=Decimal("1"),
            ship_country="SE",
            placed_at=T0 + timedelta(minutes=10),
        )
        with db.session() as session:
            return orders.customer_orders(session, check)

    assert counts("C-42") == CustomerOrders(earlier=2, last_hour=3)
    # Only a renewal before: the first order the customer places themselves.
    assert counts("C-NEW") == CustomerOrders(earlier=0, last_hour=1)
    with db.session() as session:
        stored = orders.get_order(session, "SUB-S-1")
    assert stored is not None and stored.origin == "renewal"


def test_search_by_id_email_name_sku_tracking_channel_and_placed_range(db: Database) -> None:
    def view(order_id: str, name: str, email: str, sku: str, channel: str, day: int) -> OrderView:
        v = order_view(order_id, placed_at=T0 + timedelta(days=day))
        v.customer = Customer(id=f"C-{order_id}", name=name, email=email)
        v.channel = channel
        v.lines = [OrderLine(sku=sku, quantity=1, unit_price=Decimal("10.00"))]
        return v

    with db.session() as session:
        orders.record_order(session, view("O-1", "Anna Lind", "Anna@Ex.com", "TSHIRT", "web", 0))
        orders.record_order(
            session, view("O-2", "Annika Berg", "ab@example.com", "SOCKS", "pos", 1)
        )
        orders.record_order(session, view("O-3", "Bo 100%", "bo@example.com", "TSHIRT", "web", 2))
        orders.record_shipment(session, shipment_view("S-2", order_id="O-2", tracking_number="TN9"))
        # A new version with another SKU: the search follows the order's lines.
        changed = view("O-3", "Bo 100%", "bo@example.com", "CAP", "web", 2)
        changed.version = 2
        orders.record_order(session, changed)

    def ids(**filters: Any) -> list[str]:
        with db.session() as session:
            page = orders.list_orders(session, search=OrderSearch(**filters))
        return [v.order_id for v in page.items]

    assert ids(q="O-2") == ["O-2"]
    assert ids(q="anna@ex.COM") == ["O-1"]  # an email, any case
    assert ids(q="ann") == ["O-2", "O-1"]  # the start of a name, newest first
    assert ids(q="lind") == []  # not the middle of a name
    assert ids(q="bo 100%") == ["O-3"] and ids(q="bo 1000") == []  # % is a character
    assert ids(email="ANNA@ex.com") == ["O-1"]
    assert ids(sku="TSHIRT") == ["O-1"] and ids(sku="CAP") == ["O-3"]
    assert ids(tracking_number="TN9") == ["O-2"] and ids(tracking_number="TN0") == []
    assert ids(channel="web") == ["O-3", "O-1"]
    assert ids(placed_from=T0 + timedelta(days=1)) == ["O-3", "O-2"]
    assert ids(placed_from=T0, placed_to=T0 + timedelta(days=2)) == ["O-2", "O-1"]
    assert ids(channel="web", sku="TSHIRT", q="anna") == ["O-1"]  # every filter must match
    with db.session() as session:
        first = orders.list_orders(session, limit=1, search=OrderSearch(channel="web"))
        rest = orders.list_orders(
            session, limit=1, cursor=first.next_cursor, search=OrderSearch(channel="web")
        )
    assert [v.order_id for v in first.items + rest.items] == ["O-3", "O-1"]
