"""Low-stock episodes, purchase orders and goods receipts in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from devtools.demo.catalogue import seed_demo
from oms.models.common import SkuQuantity
from oms.models.inventory import AllocateRequest
from oms.models.replenishment import (
    CloseEpisode,
    GoodsReceiptRequest,
    PurchaseOrderRequest,
    RecordConfirmation,
    ReorderPolicyIn,
)
from oms.store import inventory, replenishment
from oms.store.db import Database
from oms.store.errors import NoSupplier, OverDelivery, UnknownSupplier
from oms.store.tables import ProductSupplierRow, ReplenishmentRow

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
JACKET = "JACKET-WOOL-M"


def allocate(db: Database, order_id: str, sku: str, qty: int, minutes: int = 0) -> None:
    request = AllocateRequest(
        key=f"{order_id}:allocate:1",
        order_id=order_id,
        lines=[SkuQuantity(sku=sku, quantity=qty)],
        postal_code="111 21",
        city="Stockholm",
        country="SE",
        placed_at=T0 + timedelta(minutes=minutes),
    )
    with db.session() as session:
        inventory.allocate(session, request)


@pytest.fixture
def demo(db: Database) -> Database:
    with db.session() as session:
        seed_demo(session)
    return db


def po_request(n: int = 1) -> PurchaseOrderRequest:
    return PurchaseOrderRequest(
        po_id=f"PO-WH-STO-{JACKET}-{n}", warehouse_id="WH-STO", sku=JACKET, n=n
    )


def test_an_episode_opens_once_when_the_sku_reaches_its_point(demo: Database) -> None:
    with demo.session() as session:
        assert replenishment.low_stock(session, [JACKET]) == []
        assert replenishment.open_episode(session, "WH-STO", JACKET) is None
    allocate(demo, "O-1", JACKET, 1)  # the last Stockholm jacket: 0 available, point 0
    with demo.session() as session:
        assert replenishment.low_stock(session, [JACKET]) == [("WH-STO", JACKET)]
        first = replenishment.open_episode(session, "WH-STO", JACKET)
    with demo.session() as session:
        again = replenishment.open_episode(session, "WH-STO", JACKET)
    assert first is not None and again is not None
    assert (first.n, first.opened, first.available, first.reorder_point) == (1, True, 0, 0)
    assert (again.n, again.opened) == (1, False)


def test_after_closing_the_next_low_spell_opens_episode_two(demo: Database) -> None:
    allocate(demo, "O-1", JACKET, 1)
    with demo.session() as session:
        assert replenishment.open_episode(session, "WH-STO", JACKET) is not None
    with demo.session() as session:
        assert replenishment.close_episode(
            session, CloseEpisode(warehouse_id="WH-STO", sku=JACKET, n=1)
        ).closed
        assert not replenishment.close_episode(
            session, CloseEpisode(warehouse_id="WH-STO", sku=JACKET, n=1)
        ).closed
        second = replenishment.open_episode(session, "WH-STO", JACKET)
    assert second is not None and (second.n, second.opened) == (2, True)


def test_concurrent_triggers_open_exactly_one_episode(demo: Database) -> None:
    allocate(demo, "O-1", JACKET, 1)
    callers = 12
    start = threading.Barrier(callers)

    def trigger(_: int) -> tuple[int, bool] | None:
        start.wait(timeout=30)
        with demo.session() as session:
            episode = replenishment.open_episode(session, "WH-STO", JACKET)
        return None if episode is None else (episode.n, episode.opened)

    with ThreadPoolExecutor(max_workers=callers) as pool:
        results = list(pool.map(trigger, range(callers)))
    assert sorted(r for r in results if r is not None) == [(1, False)] * (callers - 1) + [(1, True)]
    with demo.session() as session:
        assert session.scalar(select(func.count()).select_from(ReplenishmentRow)) == 1


def test_purchase_order_covers_backorders_and_is_raised_once(demo: Database) -> None:
    for i in range(4):  # two jackets in the network: two orders backorder
        allocate(demo, f"O-{i}", JACKET, 1, minutes=i)
    with demo.session() as session:
        replenishment.open_episode(session, "WH-STO", JACKET)
    with demo.session() as session:
        po = replenishment.create_purchase_order(session, po_request())
    with demo.session() as session:
        again = replenishment.create_purchase_order(session, po_request())
    assert po == again
    assert po.supplier.supplier_id == "WOOLWORKS"
    assert [(ln.sku, ln.quantity) for ln in po.lines] == [(JACKET, 12)]  # 10 + 2 backordered
    assert (po.available, po.reorder_point, po.backordered) == (0, 0, 2)


def test_purchase_order_leaves_out_backorders_a_reroute_keeps_away_from_its_warehouse(
    demo: Database,
) -> None:
    for i in range(3):  # two jackets in the network: one order backorders
        allocate(demo, f"O-{i}", JACKET, 1, minutes=i)
    rerouted = AllocateRequest(
        key="O-9:reroute:1",
        order_id="O-9",
        lines=[SkuQuantity(sku=JACKET, quantity=4)],
        postal_code="111 21",
        city="Stockholm",
        country="SE",
        placed_at=T0,
        exclude_warehouses=["WH-STO"],
    )
    with demo.session() as session:
        inventory.allocate(session, rerouted)
        replenishment.open_episode(session, "WH-STO", JACKET)
    with demo.session() as session:
        po = replenishment.create_purchase_order(session, po_request())
    # A delivery to Stockholm would not fill O-9's four: ordering them there would not help.
    assert [(ln.sku, ln.quantity) for ln in po.lines] == [(JACKET, 11)]  # 10 + 1 backordered
    assert po.backordered == 1


def test_no_purchase_order_for_a_sku_without_supplier(demo: Database) -> None:
    with demo.session() as session:
        replenishment.set_policy(
            session, "WH-STO", "CAP-NVY", ReorderPolicyIn(reorder_point=50, reorder_qty=5)
        )
        # The demo links every SKU to a supplier: unlink this one.
        session.delete(session.get(ProductSupplierRow, "CAP-NVY"))
    with demo.session() as session:
        episode = replenishment.open_episode(session, "WH-STO", "CAP-NVY")
        assert episode is not None
    with pytest.raises(NoSupplier), demo.session() as session:
        replenishment.create_purchase_order(
            session,
            PurchaseOrderRequest(
                po_id="PO-WH-STO-CAP-NVY-1", warehouse_id="WH-STO", sku="CAP-NVY", n=1
            ),
        )
    with pytest.raises(UnknownSupplier), demo.session() as session:
        replenishment.set_policy(
            session,
            "WH-STO",
            "CAP-NVY",
            ReorderPolicyIn(reorder_point=5, reorder_qty=5, supplier_id="NOPE"),
        )


def test_deliveries_fill_backorders_oldest_first_once_per_receipt(demo: Database) -> None:
    for i in range(5):  # two allocate, three backorder (O-2 oldest of those)
        allocate(demo, f"O-{i}", JACKET, 1, minutes=i)
    with demo.session() as session:
        replenishment.open_episode(session, "WH-STO", JACKET)
    with demo.session() as session:
        po = replenishment.create_purchase_order(session, po_request())
        replenishment.confirm_purchase_order(
            session, RecordConfirmation(po_id=po.po_id, by="Woolworks", supplier_reference="W-77")
        )
    assert po.lines[0].quantity == 13

    def receipt(k: int, qty: int) -> GoodsReceiptRequest:
        return GoodsReceiptRequest(
            key=f"{po.po_id}:receipt:{k}",
            po_id=po.po_id,
            warehouse_id="WH-STO",
            sku=JACKET,
            quantity=qty,
        )

    with demo.session() as session:
        first = replenishment.receive_goods(session, receipt(1, 2))
    with demo.session() as session:
        repeat = replenishment.receive_goods(session, receipt(1, 2))
    assert first.filled_orders == ["O-2", "O-3"]
    assert repeat == first
    assert (first.ordered, first.received, first.on_hand, first.available) == (13, 2, 3, 0)
    with pytest.raises(OverDelivery), demo.session() as session:
        replenishment.receive_goods(session, receipt(2, 12))
    with demo.session() as session:
        rest = replenishment.receive_goods(session, receipt(2, 11))
    assert rest.filled_orders == ["O-4"]
    assert (rest.received, rest.on_hand, rest.available) == (13, 14, 10)
    with demo.session() as session:
        [summary] = replenishment.list_replenishments(session, sku=JACKET).items
        assert inventory.still_backordered(session, "O-4") == []
    assert (summary.po_status, summary.ordered, summary.received, summary.status) == (
        "received",
        13,
        13,
        "open",
    )
    assert summary.workflow_id == f"replenish-WH-STO-{JACKET}-1"


def test_a_page_of_episodes_costs_the_same_queries_however_many_it_holds(demo: Database) -> None:
    """The list reads a page's purchase orders together, not one query per episode."""

    def open_with_po(sku: str, warehouse: str = "WH-STO") -> None:
        with demo.session() as session:
            replenishment.set_policy(
                session, warehouse, sku, ReorderPolicyIn(reorder_point=10_000, reorder_qty=5)
            )
            episode = replenishment.open_episode(session, warehouse, sku)
            assert episode is not None
        with demo.session() as session:
            replenishment.create_purchase_order(
                session,
                PurchaseOrderRequest(
                    po_id=f"PO-{warehouse}-{sku}-1", warehouse_id=warehouse, sku=sku, n=1
                ),
            )

    def selects_to_list() -> tuple[int, int]:
        statements: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        event.listen(demo.engine, "before_cursor_execute", count)
        try:
            with demo.session() as session:
                items = replenishment.list_replenishments(session).items
        finally:
            event.remove(demo.engine, "before_cursor_execute", count)
        return len(items), len(statements)

    open_with_po(JACKET)
    one, queries_for_one = selects_to_list()
    for sku in ("CAP-NVY", "SOCKS-3PK"):
        open_with_po(sku)
    three, queries_for_three = selects_to_list()
    assert (one, three) == (1, 3)
    assert queries_for_three == queries_for_one
