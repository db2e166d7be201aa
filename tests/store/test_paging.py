"""Cursor pagination over the store: every row once, in order, ties broken by the id, rows
inserted meanwhile neither repeated nor skipped, and a cursor from elsewhere refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from oms.store import orders
from oms.store.db import Database
from oms.store.paging import InvalidCursor, decode, encode
from oms.store.tables import OrderRow, ShipmentRow

from inventory_fixtures import T0, order_view


def _walk(db: Database, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        with db.session() as session:
            page = orders.list_orders(session, limit=limit, cursor=cursor)
        pages.append([v.order_id for v in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_pages_visit_every_order_once_newest_first_ties_by_id(db: Database) -> None:
    # Three orders share one placed_at: only the id orders them.
    placed = [T0, T0 + timedelta(1), T0 + timedelta(1), T0 + timedelta(1), T0 + timedelta(2)]
    with db.session() as session:
        for i, at in enumerate(placed):
            orders.record_order(session, order_view(f"P-{i}", placed_at=at))
    assert _walk(db, 2) == [["P-4", "P-3"], ["P-2", "P-1"], ["P-0"]]
    assert _walk(db, 5) == [["P-4", "P-3", "P-2", "P-1", "P-0"]]


def test_an_order_placed_between_pages_is_neither_repeated_nor_skipped(db: Database) -> None:
    with db.session() as session:
        for i in range(4):
            orders.record_order(session, order_view(f"N-{i}", placed_at=T0 + timedelta(i)))
        first = orders.list_orders(session, limit=2)
    assert [v.order_id for v in first.items] == ["N-3", "N-2"]
    with db.session() as session:
        # Newer than the cursor (an offset would shift and repeat N-2), and one older.
        orders.record_order(session, order_view("N-9", placed_at=T0 + timedelta(9)))
        orders.record_order(session, order_view("N-X", placed_at=T0 - timedelta(1)))
        rest = orders.list_orders(session, limit=10, cursor=first.next_cursor)
    assert [v.order_id for v in rest.items] == ["N-1", "N-0", "N-X"]


ORDER_KEYS = [OrderRow.placed_at, OrderRow.order_id]
_OLD_FORM = base64.urlsafe_b64encode(json.dumps([T0.isoformat(), "O-1"]).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "nope",
        "%%%",
        encode(["only one key"], ORDER_KEYS[1:]),
        encode([[1], "x"], ORDER_KEYS),
        # Another list's cursor of the same shape: shipments by when they changed, and id.
        encode([T0, "S-1"], [ShipmentRow.updated_at, ShipmentRow.shipment_id]),
        # The keys alone, as cursors were before they named their list.
        _OLD_FORM,
    ],
)
def test_a_cursor_this_list_did_not_hand_out_is_refused(db: Database, cursor: str) -> None:
    with db.session() as session, pytest.raises(InvalidCursor):
        orders.list_orders(session, cursor=cursor)


def test_a_cursor_round_trips_its_keys() -> None:
    assert decode(encode([T0, "O-1"], ORDER_KEYS), ORDER_KEYS) == [T0, "O-1"]
