"""Properties of allocation, for any stock and any orders (Hypothesis).

The pure plan never takes more than a warehouse has and accounts for every unit
wanted; the store, driven through random allocations, restocks and releases on
SQLite, never oversells, never goes negative, keeps ``reserved`` equal to the
open reservations, and fills backorders first placed, first served.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from oms.domain.allocation import (
    RULE_NEAREST_COMPLETE,
    Source,
    demand,
    plan_allocation,
)
from oms.domain.geo import LatLon
from oms.models.common import SkuQuantity
from oms.models.inventory import ReleaseRequest
from oms.store import inventory
from oms.store.db import Database
from oms.store.tables import BackorderRow, ReservationRow, StockRow

from inventory_fixtures import SKUS, T0, WAREHOUSES, add_network, allocate_request, empty_store

skus = st.sampled_from(SKUS)
lines = st.lists(
    st.builds(SkuQuantity, sku=skus, quantity=st.integers(1, 6)), min_size=1, max_size=4
)
sources = st.lists(
    st.builds(
        Source,
        warehouse_id=st.sampled_from(["A", "B", "C", "D"]),
        location=st.none() | st.tuples(st.floats(55, 69), st.floats(11, 24)),
        available=st.dictionaries(skus, st.integers(-3, 8), max_size=3),
    ),
    max_size=4,
    unique_by=lambda s: s.warehouse_id,
)
destination = st.none() | st.tuples(st.floats(55, 69), st.floats(11, 24))


@given(lines=lines, sources=sources, destination=destination)
@settings(max_examples=150, deadline=None)
def test_a_plan_never_takes_more_than_a_warehouse_has_and_accounts_for_every_unit(
    lines: list[SkuQuantity], sources: list[Source], destination: LatLon | None
) -> None:
    plan = plan_allocation(lines, sources, destination)
    have = {s.warehouse_id: s.available for s in sources}
    taken: Counter[str] = Counter()
    for pick in plan.picks:
        for line in pick.lines:
            assert line.quantity > 0
            assert line.quantity <= max(have[pick.warehouse_id].get(line.sku, 0), 0)
            taken[line.sku] += line.quantity
    owed = Counter({b.sku: b.quantity for b in plan.backordered})
    assert all(b.quantity > 0 for b in plan.backordered)
    # Every unit wanted is either shipped from somewhere or backordered, never both, never lost.
    assert taken + owed == Counter(demand(lines))
    if plan.rule == RULE_NEAREST_COMPLETE:
        assert len(plan.picks) == 1 and not plan.backordered


# --- the store ------------------------------------------------------------------------------

ORDERS = [f"P-{n}" for n in range(6)]
allocate_op = st.tuples(
    st.just("allocate"),
    st.sampled_from(ORDERS),
    st.dictionaries(skus, st.integers(1, 5), min_size=1, max_size=3),
)
restock_op = st.tuples(
    st.just("restock"), st.sampled_from([w[0] for w in WAREHOUSES]), skus, st.integers(0, 6)
)
release_op = st.tuples(st.just("release"), st.sampled_from(ORDERS))
operations = st.lists(st.one_of(allocate_op, restock_op, release_op), min_size=1, max_size=14)
# When each order was placed: a permutation, so allocation order differs from placement order.
placements = st.permutations(range(len(ORDERS)))


@given(ops=operations, placed=placements)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_store_never_oversells_never_goes_negative_and_serves_backorders_in_placement_order(
    ops: list[tuple[object, ...]], placed: list[int]
) -> None:
    db = empty_store()
    add_network(db)
    _run(db, ops, {o: T0 + timedelta(minutes=placed[i]) for i, o in enumerate(ORDERS)})


def _run(db: Database, ops: list[tuple[object, ...]], placed_at: dict[str, object]) -> None:
    allocated: set[str] = set()
    released: set[str] = set()
    for op in ops:
        if op[0] == "allocate":
            order_id, wanted = str(op[1]), dict(op[2])  # type: ignore[call-overload]
            if order_id in allocated:
                continue  # one allocation per order, as the workflow does
            allocated.add(order_id)
            with db.session() as session:
                inventory.allocate(
                    session,
                    allocate_request(order_id, wanted, placed_at=placed_at[order_id]),  # type: ignore[arg-type]
                )
        elif op[0] == "restock":
            warehouse_id, sku, more = str(op[1]), str(op[2]), int(op[3])  # type: ignore[call-overload]
            with db.session() as session:
                row = session.get(StockRow, (warehouse_id, sku))
                level = row.on_hand if row is not None else 0
            waiting_before = _open_backorders(db, sku)
            with db.session() as session:
                receipt = inventory.set_stock(session, warehouse_id, sku, level + more)
            _assert_first_placed_first_served(db, sku, waiting_before, receipt.filled_orders)
        else:
            order_id = str(op[1])
            if order_id not in allocated or order_id in released:
                continue
            released.add(order_id)
            with db.session() as session:
                inventory.release(session, ReleaseRequest(order_id=order_id))
        _assert_stock_invariants(db)


def _open_backorders(db: Database, sku: str) -> list[tuple[object, int, str]]:
    with db.session() as session:
        rows = session.scalars(
            select(BackorderRow).where(
                BackorderRow.sku == sku,
                BackorderRow.cancelled.is_(False),
                BackorderRow.quantity_open > 0,
            )
        )
        return [(r.placed_at, r.id, r.order_id) for r in rows]


def _assert_first_placed_first_served(
    db: Database, sku: str, before: list[tuple[object, int, str]], filled: list[str]
) -> None:
    queue = [order for _, _, order in sorted(before)]  # type: ignore[type-var]
    # Units go to the oldest waiting orders: the filled ones are a prefix of the queue ...
    assert filled == queue[: len(filled)]
    # ... and nobody still waits for this SKU while a later-placed order got some.
    still = {order for _, _, order in _open_backorders(db, sku)}
    if filled and still:
        last_served = queue.index(filled[-1])
        assert all(queue.index(o) >= last_served for o in still if o in queue)


def _assert_stock_invariants(db: Database) -> None:
    with db.session() as session:
        stock = list(session.scalars(select(StockRow)))
        open_rows = session.scalars(select(ReservationRow).where(ReservationRow.status == "open"))
        held: Counter[tuple[str, str]] = Counter()
        for r in open_rows:
            held[(r.warehouse_id, r.sku)] += r.quantity
    for row in stock:
        assert row.on_hand >= 0 and row.reserved >= 0  # never negative
        assert row.reserved <= row.on_hand  # never oversold
        assert row.reserved == held[(row.warehouse_id, row.sku)]
