"""Stock, reservations and backorders: the only code that changes how many units are free.

Every function runs inside the caller's transaction (``Database.session()``).
Locks are always taken in one order so concurrent callers queue instead of
deadlocking: reservations, then stock rows by ``(warehouse_id, sku)``, then
backorders by ``(placed_at, id)``. On PostgreSQL that is ``SELECT ... FOR
UPDATE``; on SQLite every transaction is ``BEGIN IMMEDIATE`` and already runs
alone. Available units are ``on_hand - reserved``, so a reservation can never
oversell.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, ScalarResult, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.domain.allocation import Source, demand, may_ship_from, plan_allocation
from oms.domain.geo import locate
from oms.models.common import Address, Page, SkuQuantity
from oms.models.inventory import (
    AllocateRequest,
    AllocationDecision,
    BackorderCheck,
    BackorderFill,
    ConsumeRequest,
    ConsumeResult,
    PlannedShipment,
    Product,
    ProductIn,
    ReleaseRequest,
    ReleaseResult,
    StockLevel,
    StockReceipt,
    Warehouse,
)
from oms.models.order_changes import (
    BackorderResult,
    BackorderUnits,
    Reallocate,
    Reallocation,
    TrimReservation,
)
from oms.models.returns import StockMovement
from oms.store import paging, prices
from oms.store.db import Bound, as_utc, get_or_insert, in_transaction, locked
from oms.store.errors import (
    IdempotencyMismatch,
    StockBelowReserved,
    UnknownSku,
    UnknownWarehouse,
)
from oms.store.tables import (
    AllocationRow,
    BackorderRow,
    ProductRow,
    ReservationRow,
    StockMovementRow,
    StockRow,
    WarehouseRow,
)

OPEN = "open"
RELEASED = "released"
CONSUMED = "consumed"


# --- allocation -----------------------------------------------------------------------------


def _replayed(stored: AllocationRow, req: AllocateRequest) -> AllocationDecision:
    """The decision stored under ``req.key``, for a retry of the same allocation.

    Raises ``IdempotencyMismatch`` when the key was first used for another order or other
    lines: the old decision's reservations are not this request's stock.
    """
    decision = AllocationDecision.model_validate(stored.decision)
    decided = [*(ln for s in decision.shipments for ln in s.lines), *decision.backordered]
    if stored.order_id != req.order_id or _units(decided) != _units(req.lines):
        raise IdempotencyMismatch(
            f"allocation key {req.key!r} was used for other lines or another order"
        )
    return decision


def _units(lines: Iterable[SkuQuantity]) -> dict[str, int]:
    return {sku: n for sku, n in demand(lines).items() if n}


def allocate(session: Session, req: AllocateRequest) -> AllocationDecision:
    """Reserve stock for an order's lines and backorder the rest; idempotent on ``req.key``.

    A retried call returns the stored decision unchanged. Raises ``UnknownSku``
    if a line names a product that does not exist, ``IdempotencyMismatch`` if the key was
    used for another order or other lines.
    """
    stored = session.get(AllocationRow, req.key)
    if stored is not None:
        return _replayed(stored, req)

    wanted = demand(req.lines)
    unknown = set(wanted) - known_skus(session, wanted)
    if unknown:
        raise UnknownSku(f"unknown SKU(s): {', '.join(sorted(unknown))}")

    warehouses = [
        w
        for w in session.scalars(
            select(WarehouseRow)
            .where(WarehouseRow.active.is_(True))
            .order_by(WarehouseRow.warehouse_id)
        )
        if may_ship_from(w.warehouse_id, req.exclude_warehouses, req.only_warehouses)
    ]
    stock = {
        (row.warehouse_id, row.sku): row
        for row in _lock_stock(session, [w.warehouse_id for w in warehouses], wanted)
    }
    # A concurrent call with this key may have committed while we waited for the locks.
    stored = session.get(AllocationRow, req.key, populate_existing=True)
    if stored is not None:
        return _replayed(stored, req)

    sources = [
        Source(
            warehouse_id=w.warehouse_id,
            location=(w.lat, w.lon),
            available={
                row.sku: row.on_hand - row.reserved
                for row in stock.values()
                if row.warehouse_id == w.warehouse_id
            },
        )
        for w in warehouses
    ]
    plan = plan_allocation(req.lines, sources, locate(req.postal_code, req.city, req.country))

    by_id = {w.warehouse_id: w for w in warehouses}
    shipments: list[PlannedShipment] = []
    for n, pick in enumerate(plan.picks, start=req.first_shipment_no):
        shipment_id = f"{req.order_id}-S{n}"
        for line in pick.lines:
            session.add(
                ReservationRow(
                    key=f"{req.key}:{pick.warehouse_id}:{line.sku}",
                    order_id=req.order_id,
                    warehouse_id=pick.warehouse_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    status=OPEN,
                    shipment_id=shipment_id,
                )
            )
            stock[(pick.warehouse_id, line.sku)].reserved += line.quantity
        shipments.append(
            PlannedShipment(
                shipment_id=shipment_id,
                warehouse_id=pick.warehouse_id,
                lines=pick.lines,
                ship_from=ship_from(by_id[pick.warehouse_id]),
                free=req.free,
            )
        )
    # A re-route's backorder keeps its choice of warehouses for when stock arrives; a
    # reship's is owed at no charge.
    owe(
        session,
        req.order_id,
        req.key,
        plan.backordered,
        req.placed_at,
        exclude=req.exclude_warehouses,
        only=req.only_warehouses,
        free=req.free,
    )

    decision = AllocationDecision(
        key=req.key,
        rule=plan.rule,
        decided_at=datetime.now(UTC),
        candidates=plan.candidates,
        shipments=shipments,
        backordered=plan.backordered,
    )
    stored_json = decision.model_dump(mode="json")
    session.add(AllocationRow(key=req.key, order_id=req.order_id, decision=stored_json))
    session.flush()
    # Return exactly what a retry will read back.
    return AllocationDecision.model_validate(stored_json)


def ship_from(warehouse: WarehouseRow) -> Address | None:
    """The warehouse's address as a sender, or ``None`` while its address is incomplete."""
    if not (warehouse.line1 and warehouse.postal_code and warehouse.city):
        return None
    return Address.model_validate(warehouse, from_attributes=True)


# --- backorders -----------------------------------------------------------------------------


def owe(
    session: Session,
    order_id: str,
    key: str,
    lines: Iterable[SkuQuantity],
    placed_at: datetime,
    *,
    exclude: Collection[str] = (),
    only: Collection[str] = (),
    free: bool = False,
) -> None:
    """Owe ``lines`` to the order: an open backorder for each, under the allocation or
    request ``key``, in the order's place in the queue (``placed_at``), to be filled by no
    warehouse of ``exclude`` and, when ``only`` names any, only by those (a re-route's);
    ``free``: at no charge (a claim's reship), shipped apart from paid units when filled."""
    session.add_all(
        BackorderRow(
            order_id=order_id,
            allocation_key=key,
            sku=line.sku,
            quantity=line.quantity,
            quantity_open=line.quantity,
            cancelled=False,
            placed_at=as_utc(placed_at),
            exclude_warehouses=sorted(exclude) or None,
            only_warehouses=sorted(only) or None,
            free=free,
        )
        for line in lines
    )


def fill_backorders_at(
    session: Session, places: Iterable[tuple[str, str]], freed_by: str | None = None
) -> list[str]:
    """``fill_backorders`` for each ``(warehouse_id, sku)`` of ``places``, in turn; the ids
    of the orders served, each once, in the order they were served, except ``freed_by``
    (the order that gave the units back)."""
    filled: list[str] = []
    for warehouse_id, sku in places:
        for order_id in fill_backorders(session, warehouse_id, sku):
            if order_id != freed_by and order_id not in filled:
                filled.append(order_id)
    return filled


def fill_backorders(session: Session, warehouse_id: str, sku: str) -> list[str]:
    """Give the free units of ``sku`` in ``warehouse_id`` to open backorders, oldest first.

    Each fill becomes an open reservation tied to its backorder and waiting for
    the order to claim it (``claim_backorders``). A backorder a re-route keeps away from
    ``warehouse_id`` is passed over: it waits for stock where it may ship from. Returns
    the ids of the orders that received units, in the order they were served.
    """
    rows = _lock_stock(session, [warehouse_id], [sku])
    if not rows:
        return []
    stock = rows[0]
    warehouse = session.get(WarehouseRow, warehouse_id)
    available = stock.on_hand - stock.reserved
    if available <= 0 or warehouse is None or not warehouse.active:
        return []
    waiting = lock_backorders(
        session,
        BackorderRow.sku == sku,
        BackorderRow.cancelled.is_(False),
        BackorderRow.quantity_open > 0,
    )
    filled: list[str] = []
    for backorder in waiting:
        if available <= 0:
            break
        if not may_ship_from(warehouse_id, backorder.exclude_warehouses, backorder.only_warehouses):
            continue
        take = min(available, backorder.quantity_open)
        earlier = session.scalar(
            select(func.count())
            .select_from(ReservationRow)
            .where(
                ReservationRow.backorder_id == backorder.id,
                ReservationRow.warehouse_id == warehouse_id,
            )
        )
        session.add(
            ReservationRow(
                key=f"backorder:{backorder.id}:{warehouse_id}:{(earlier or 0) + 1}",
                order_id=backorder.order_id,
                warehouse_id=warehouse_id,
                sku=sku,
                quantity=take,
                status=OPEN,
                shipment_id=None,
                backorder_id=backorder.id,
            )
        )
        backorder.quantity_open -= take
        stock.reserved += take
        available -= take
        if backorder.order_id not in filled:
            filled.append(backorder.order_id)
    session.flush()
    return filled


def claim_backorders(session: Session, req: BackorderCheck) -> BackorderFill:
    """Turn the units filled for an order's backorders into shipments; idempotent on ``req.key``.

    One shipment per warehouse, numbered from ``req.first_shipment_no``, and one more per
    warehouse for units owed at no charge (a claim's reship, ``free``), never merged with
    paid units: the free parcel captures nothing, the paid one captures its units. A
    retried call returns the same shipments; ``still_backordered`` is what the order is
    still owed now.
    """
    claimed = list(
        session.scalars(
            select(ReservationRow)
            .where(ReservationRow.order_id == req.order_id, ReservationRow.claim_key == req.key)
            .order_by(ReservationRow.id)
        )
    )
    fresh = not claimed
    if fresh:
        claimed = lock_reservations(
            session,
            ReservationRow.order_id == req.order_id,
            ReservationRow.backorder_id.is_not(None),
            ReservationRow.claim_key.is_(None),
            ReservationRow.status == OPEN,
        )
    free = _owed_free(session, claimed)
    if fresh:
        # Paid before free in each warehouse: an order owed nothing free numbers as before.
        groups = sorted({(r.warehouse_id, r.id in free) for r in claimed})
        numbers = {group: req.first_shipment_no + i for i, group in enumerate(groups)}
        for reservation in claimed:
            reservation.claim_key = req.key
            n = numbers[(reservation.warehouse_id, reservation.id in free)]
            reservation.shipment_id = f"{req.order_id}-S{n}"
        session.flush()
    return BackorderFill(
        key=req.key,
        shipments=_shipments(session, claimed, free),
        still_backordered=still_backordered(session, req.order_id),
    )


def _owed_free(session: Session, reservations: list[ReservationRow]) -> set[int]:
    """The ids of ``reservations`` that fill backorders owed at no charge."""
    backorders = {r.backorder_id for r in reservations if r.backorder_id is not None}
    if not backorders:
        return set()
    free = set(
        session.scalars(
            select(BackorderRow.id).where(
                BackorderRow.id.in_(backorders), BackorderRow.free.is_(True)
            )
        )
    )
    return {r.id for r in reservations if r.backorder_id in free}


def still_backordered(session: Session, order_id: str) -> list[SkuQuantity]:
    """Units ``order_id`` is still owed, per SKU."""
    rows = session.execute(
        select(BackorderRow.sku, func.sum(BackorderRow.quantity_open))
        .where(
            BackorderRow.order_id == order_id,
            BackorderRow.cancelled.is_(False),
            BackorderRow.quantity_open > 0,
        )
        .group_by(BackorderRow.sku)
        .order_by(BackorderRow.sku)
    )
    return [SkuQuantity(sku=sku, quantity=int(qty)) for sku, qty in rows]


# --- release and consume --------------------------------------------------------------------


def release_reservations(
    session: Session, *where: ColumnElement[bool]
) -> tuple[list[tuple[str, str]], int]:
    """Release the open reservations matching ``where``, their stock rows locked in key
    order; the (warehouse, SKU) pairs that got units back, sorted, and how many units."""
    reservations = lock_reservations(session, *where)
    freed = sorted({(r.warehouse_id, r.sku) for r in reservations})
    stock = {
        (row.warehouse_id, row.sku): row
        for row in _lock_stock(session, {wh for wh, _ in freed}, {sku for _, sku in freed})
    }
    for reservation in reservations:
        reservation.status = RELEASED
        stock[(reservation.warehouse_id, reservation.sku)].reserved -= reservation.quantity
    return freed, sum(r.quantity for r in reservations)


def release(session: Session, req: ReleaseRequest) -> ReleaseResult:
    """Give back an order's open reservations (or one shipment's / one warehouse's).

    Releasing the whole order also cancels its backorders. Freed units go to
    other orders' backorders at once; their ids come back in ``filled_orders``.
    Idempotent: a second call releases nothing.
    """
    where = [ReservationRow.order_id == req.order_id, ReservationRow.status == OPEN]
    if req.shipment_id is not None:
        where.append(ReservationRow.shipment_id == req.shipment_id)
    if req.warehouse_id is not None:
        where.append(ReservationRow.warehouse_id == req.warehouse_id)
    freed, units = release_reservations(session, *where)

    if req.shipment_id is None and req.warehouse_id is None:
        _cancel_backorders(session, req.order_id, {sku for _, sku in freed})
    session.flush()

    filled = fill_backorders_at(session, freed, freed_by=req.order_id)
    return ReleaseResult(released_units=units, filled_orders=filled)


def _cancel_backorders(session: Session, order_id: str, freed_skus: set[str]) -> None:
    mine = BackorderRow.order_id == order_id
    skus = freed_skus | set(
        session.scalars(select(BackorderRow.sku).where(mine, BackorderRow.cancelled.is_(False)))
    )
    # Lock every backorder the fills below may touch, in fill order, in one statement.
    for backorder in lock_backorders(
        session, BackorderRow.sku.in_(skus), BackorderRow.cancelled.is_(False)
    ):
        if backorder.order_id == order_id:
            backorder.cancelled = True


def consume(session: Session, req: ConsumeRequest) -> ConsumeResult:
    """A shipment left the warehouse: its open reservations become shipped units.

    Lowers both on-hand and reserved stock. Idempotent: a second call consumes nothing.
    """
    reservations = lock_reservations(
        session,
        ReservationRow.order_id == req.order_id,
        ReservationRow.shipment_id == req.shipment_id,
        ReservationRow.warehouse_id == req.warehouse_id,
        ReservationRow.status == OPEN,
    )
    stock = {
        (row.warehouse_id, row.sku): row
        for row in _lock_stock(session, [req.warehouse_id], {r.sku for r in reservations})
    }
    for reservation in reservations:
        row = stock[(reservation.warehouse_id, reservation.sku)]
        row.on_hand -= reservation.quantity
        row.reserved -= reservation.quantity
        reservation.status = CONSUMED
    session.flush()
    return ConsumeResult(consumed_units=sum(r.quantity for r in reservations))


# --- stock ----------------------------------------------------------------------------------


def set_stock(
    session: Session,
    warehouse_id: str,
    sku: str,
    on_hand: int,
    by: str | None = None,
    reason: str = "stock count",
) -> StockReceipt:
    """Set the units on hand of ``sku`` in ``warehouse_id`` and fill waiting backorders.

    A change made by someone (``by``: every ``PUT .../stock``) is recorded as an
    ``adjust`` movement: the signed difference, the level set, who and why (``reason``);
    a store being seeded passes no ``by``. Raises ``UnknownWarehouse``, ``UnknownSku``,
    or ``StockBelowReserved`` when ``on_hand`` is below the units already reserved there.
    """
    on_hand = max(on_hand, 0)
    stock = _stock_row(session, warehouse_id, sku)
    if on_hand < stock.reserved:
        raise StockBelowReserved(
            f"{sku} in {warehouse_id}: {stock.reserved} units are reserved, cannot set {on_hand}"
        )
    if by is not None and on_hand != stock.on_hand:
        session.add(
            StockMovementRow(
                key=f"adjust:{uuid.uuid4().hex}",
                kind="adjust",
                warehouse_id=warehouse_id,
                sku=sku,
                quantity=on_hand - stock.on_hand,
                reference=f"set by {by}"[:80],
                filled_orders={"orders": []},
                actor=by[:100],
                reason=reason[:200],
                on_hand_after=on_hand,
            )
        )
    stock.on_hand = on_hand
    session.flush()
    filled = fill_backorders(session, warehouse_id, sku)
    return StockReceipt(stock=_level(stock), filled_orders=filled)


def restock(
    session: Session, warehouse_id: str, sku: str, quantity: int, key: str, reference: str = ""
) -> StockReceipt:
    """Put ``quantity`` returned units of ``sku`` back on hand and fill backorders there.

    Idempotent on ``key``: a repeated call changes nothing and answers the
    orders the first call filled, so the caller can (re)wake them. Raises
    ``UnknownWarehouse`` or ``UnknownSku``.
    """
    done = session.get(StockMovementRow, key)
    if done is not None:
        return _movement_receipt(session, done)
    stock = _stock_row(session, warehouse_id, sku)
    # The movement first: a concurrent call with this key fails on it and retries.
    movement = _returned_units(session, "restock", warehouse_id, sku, quantity, key, reference)
    stock.on_hand += quantity
    session.flush()
    filled = fill_backorders(session, warehouse_id, sku)
    movement.filled_orders = {"orders": filled}
    session.flush()
    return StockReceipt(stock=_level(stock), filled_orders=filled)


def receive_units(session: Session, warehouse_id: str, sku: str, quantity: int) -> StockReceipt:
    """Add ``quantity`` delivered units of ``sku`` to ``warehouse_id`` and fill backorders there.

    The same fill as ``set_stock``: oldest backorder first. Not idempotent by
    itself; the caller records the delivery under its own business key in the
    same transaction. Raises ``UnknownWarehouse`` or ``UnknownSku``.
    """
    stock = _stock_row(session, warehouse_id, sku)
    stock.on_hand += quantity
    session.flush()
    filled = fill_backorders(session, warehouse_id, sku)
    return StockReceipt(stock=_level(stock), filled_orders=filled)


def open_backorder_units(session: Session, sku: str, warehouse_id: str) -> int:
    """Units of ``sku`` that customers wait for and a delivery to ``warehouse_id`` would
    fill: every open backorder's but those a re-route keeps away from it."""
    rows = session.execute(
        select(
            BackorderRow.quantity_open,
            BackorderRow.exclude_warehouses,
            BackorderRow.only_warehouses,
        ).where(
            BackorderRow.sku == sku,
            BackorderRow.cancelled.is_(False),
            BackorderRow.quantity_open > 0,
        )
    )
    return sum(n for n, exclude, only in rows if may_ship_from(warehouse_id, exclude, only))


def write_off(
    session: Session, warehouse_id: str, sku: str, quantity: int, key: str, reference: str = ""
) -> StockReceipt:
    """Record returned units that will not be sold again (they never reach on-hand stock).

    Idempotent on ``key``. Raises ``UnknownWarehouse`` or ``UnknownSku``.
    """
    done = session.get(StockMovementRow, key)
    if done is None:
        _stock_row(session, warehouse_id, sku)
        done = _returned_units(session, "write_off", warehouse_id, sku, quantity, key, reference)
    return _movement_receipt(session, done)


def _returned_units(
    session: Session,
    kind: str,
    warehouse_id: str,
    sku: str,
    quantity: int,
    key: str,
    reference: str,
) -> StockMovementRow:
    """The movement of returned units (``restock`` or ``write_off``) under ``key``, written
    (flushed: a second writer of ``key`` fails here), with no filled orders yet (a restock
    sets them once it has filled backorders)."""
    movement = StockMovementRow(
        key=key,
        kind=kind,
        warehouse_id=warehouse_id,
        sku=sku,
        quantity=quantity,
        reference=reference,
        filled_orders={"orders": []},
    )
    session.add(movement)
    session.flush()
    return movement


def _movement_receipt(session: Session, movement: StockMovementRow) -> StockReceipt:
    stock = session.get(StockRow, (movement.warehouse_id, movement.sku))
    assert stock is not None  # made before the movement was recorded
    return StockReceipt(
        stock=_level(stock), filled_orders=list(movement.filled_orders.get("orders", []))
    )


def _stock_row(session: Session, warehouse_id: str, sku: str) -> StockRow:
    """The locked stock row of ``sku`` in ``warehouse_id``, created empty when missing."""
    if session.get(WarehouseRow, warehouse_id) is None:
        raise UnknownWarehouse(f"unknown warehouse {warehouse_id!r}")
    if session.get(ProductRow, sku) is None:
        raise UnknownSku(f"unknown SKU {sku!r}")
    rows = _lock_stock(session, [warehouse_id], [sku])
    if not rows:
        try:
            with session.begin_nested():
                session.add(StockRow(warehouse_id=warehouse_id, sku=sku, on_hand=0, reserved=0))
        except IntegrityError:
            pass  # Another transaction created it first; lock theirs below.
        rows = _lock_stock(session, [warehouse_id], [sku])
    return rows[0]


def stock_levels(
    session: Session, warehouse_id: str | None = None, sku: str | None = None
) -> list[StockLevel]:
    """Stock per warehouse and SKU, optionally for one of each, by (warehouse, sku)."""
    query = _stock_query(warehouse_id, sku).order_by(StockRow.warehouse_id, StockRow.sku)
    return [_level(row) for row in session.scalars(query)]


def page_stock(
    session: Session,
    warehouse_id: str | None = None,
    sku: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[StockLevel]:
    """:func:`stock_levels` a page at a time. Raises ``InvalidCursor`` for a foreign cursor
    and ``UnknownWarehouse`` for a warehouse the store does not have (an empty page would
    read as "nothing in stock there")."""
    if warehouse_id is not None and session.get(WarehouseRow, warehouse_id) is None:
        raise UnknownWarehouse(f"unknown warehouse {warehouse_id!r}")
    keys = [(StockRow.warehouse_id, False), (StockRow.sku, False)]
    query = _stock_query(warehouse_id, sku)
    return paging.page(session, query, keys, _level, cursor=cursor, limit=limit)


def _stock_query(warehouse_id: str | None, sku: str | None) -> Select[tuple[StockRow]]:
    return paging.where_given(
        select(StockRow), {StockRow.warehouse_id: warehouse_id, StockRow.sku: sku}
    )


def list_warehouses(
    session: Session, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Warehouse]:
    """Active warehouses by id. Raises ``InvalidCursor`` for a foreign cursor."""
    query = select(WarehouseRow).where(WarehouseRow.active.is_(True))
    keys = [(WarehouseRow.warehouse_id, False)]
    return paging.page(session, query, keys, _warehouse, cursor=cursor, limit=limit)


def get_warehouse(session: Session, warehouse_id: str) -> Warehouse | None:
    """The warehouse ``warehouse_id``, active or not; ``None`` when the store has none."""
    row = session.get(WarehouseRow, warehouse_id)
    return None if row is None else _warehouse(row)


def put_warehouse(session: Session, warehouse: Warehouse) -> Warehouse:
    """Create or replace the warehouse ``warehouse.warehouse_id``: its address (the sender of
    every parcel it ships from now on) and location (what allocation ranks it by). Its stock,
    reservations and backorders stay as they are."""
    values = warehouse.model_dump(exclude={"warehouse_id"})
    row, inserted = get_or_insert(
        session,
        WarehouseRow,
        warehouse.warehouse_id,
        lambda: WarehouseRow(warehouse_id=warehouse.warehouse_id, **values),
        with_for_update=True,
    )
    if not inserted:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return _warehouse(row)


def _warehouse(row: WarehouseRow) -> Warehouse:
    return Warehouse.model_validate(row, from_attributes=True)


# --- catalogue ------------------------------------------------------------------------------


def list_products(
    session: Session, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Product]:
    """Products by SKU. Raises ``InvalidCursor`` for a foreign cursor."""
    keys = [(ProductRow.sku, False)]
    return paging.page(session, select(ProductRow), keys, _product, cursor=cursor, limit=limit)


def get_product(session: Session, sku: str) -> Product | None:
    row = session.get(ProductRow, sku)
    return None if row is None else _product(row)


def upsert_product(session: Session, sku: str, product: ProductIn) -> Product:
    """Create or replace the product ``sku``."""
    values = {
        "name": product.name,
        "unit_price": Decimal(product.unit_price),
        "currency": product.currency,
        "weight_grams": product.weight_grams,
        "active": product.active,
        "returnable": product.returnable,
        "hs_code": product.hs_code,
        "origin_country": product.origin_country,
        "tax_class": product.tax_class,
    }
    row, inserted = get_or_insert(
        session, ProductRow, sku, lambda: ProductRow(sku=sku, **values), with_for_update=True
    )
    if not inserted:
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
    prices.home_price(session, row)
    return _product(row)


def products_by_sku(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    """The products of ``skus`` that exist, by SKU (customs reads their master data)."""
    wanted = set(skus)
    if not wanted:
        return {}
    rows = session.scalars(select(ProductRow).where(ProductRow.sku.in_(wanted)))
    return {row.sku: _product(row) for row in rows}


def known_skus(session: Session, skus: Iterable[str]) -> set[str]:
    """The subset of ``skus`` that name existing products."""
    wanted = set(skus)
    if not wanted:
        return set()
    return set(session.scalars(select(ProductRow.sku).where(ProductRow.sku.in_(wanted))))


# --- helpers --------------------------------------------------------------------------------


def _lock_stock(
    session: Session, warehouse_ids: Collection[str], skus: Collection[str]
) -> list[StockRow]:
    """Stock rows of ``skus`` in ``warehouse_ids``, locked, in deadlock-free key order."""
    if not warehouse_ids or not skus:
        return []
    return list(
        session.scalars(
            locked(
                select(StockRow)
                .where(StockRow.warehouse_id.in_(set(warehouse_ids)), StockRow.sku.in_(set(skus)))
                .order_by(StockRow.warehouse_id, StockRow.sku)
            )
        )
    )


def lock_reservations(session: Session, *where: ColumnElement[bool]) -> list[ReservationRow]:
    """The reservations matching ``where``, locked in id order: the order a claim, a
    release and a consumption lock them in, so none of them waits on another in a cycle."""
    return list(
        session.scalars(locked(select(ReservationRow).where(*where).order_by(ReservationRow.id)))
    )


def lock_backorders(session: Session, *where: ColumnElement[bool]) -> ScalarResult[BackorderRow]:
    """The backorders matching ``where``, locked oldest first (``placed_at``, then id): the
    order every caller locks backorders in, so two transactions never wait on each other."""
    return session.scalars(
        locked(select(BackorderRow).where(*where).order_by(BackorderRow.placed_at, BackorderRow.id))
    )


def _shipments(
    session: Session, reservations: list[ReservationRow], free: Collection[int] = ()
) -> list[PlannedShipment]:
    """Reservations grouped into one planned shipment per shipment id, by warehouse; a
    shipment of the reservations ``free`` names (by id) is free."""
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    free_ids: set[str] = set()
    for r in reservations:
        lines = groups[(r.warehouse_id, r.shipment_id or "")]
        lines[r.sku] = lines.get(r.sku, 0) + r.quantity
        if r.id in free:
            free_ids.add(r.shipment_id or "")
    shipments = []
    for (warehouse_id, shipment_id), lines in sorted(groups.items()):
        warehouse = session.get(WarehouseRow, warehouse_id)
        shipments.append(
            PlannedShipment(
                shipment_id=shipment_id,
                warehouse_id=warehouse_id,
                lines=[SkuQuantity(sku=sku, quantity=qty) for sku, qty in lines.items()],
                ship_from=None if warehouse is None else ship_from(warehouse),
                free=shipment_id in free_ids,
            )
        )
    return shipments


def _level(row: StockRow) -> StockLevel:
    return StockLevel(
        warehouse_id=row.warehouse_id,
        sku=row.sku,
        on_hand=row.on_hand,
        reserved=row.reserved,
        available=row.on_hand - row.reserved,
    )


def _product(row: ProductRow) -> Product:
    return Product(
        sku=row.sku,
        name=row.name,
        unit_price=f"{row.unit_price:.2f}",
        currency=row.currency,
        weight_grams=row.weight_grams,
        active=row.active,
        returnable=row.returnable,
        hs_code=row.hs_code,
        origin_country=row.origin_country,
        tax_class=row.tax_class,
    )


class StockStore(Bound):
    """The stock tables as the inventory activities use them; each call one transaction.

    Raises what the functions above raise (``UnknownSku``, ``UnknownWarehouse``,
    ``StockBelowReserved``).
    """

    allocate = in_transaction(allocate)
    release = in_transaction(release)
    consume = in_transaction(consume)
    claim_backorders = in_transaction(claim_backorders)

    def trim(self, req: TrimReservation) -> ReleaseResult:
        from oms.store.line_cancels import trim  # it builds on this module's functions

        return self._tx(lambda s: trim(s, req))

    def backorder(self, req: BackorderUnits) -> BackorderResult:
        from oms.store.line_cancels import backorder

        return self._tx(lambda s: backorder(s, req))

    def reallocate(self, req: Reallocate) -> Reallocation:
        from oms.store.line_cancels import reallocate

        return self._tx(lambda s: reallocate(s, req))

    def products(self, skus: list[str]) -> dict[str, Product]:
        """The catalogue's products of ``skus`` (customs declarations read them)."""
        return self._tx(lambda s: products_by_sku(s, skus))

    def restock(self, move: StockMovement) -> StockReceipt:
        return self._tx(
            lambda s: restock(s, move.warehouse_id, move.sku, move.quantity, move.key, move.rma_id)
        )

    def write_off(self, move: StockMovement) -> StockReceipt:
        return self._tx(
            lambda s: write_off(
                s, move.warehouse_id, move.sku, move.quantity, move.key, move.rma_id
            )
        )


def shortfall_at(
    session: Session, warehouse_id: str, lines: Iterable[SkuQuantity]
) -> list[tuple[str, int, int]]:
    """What ``warehouse_id`` lacks of ``lines`` right now: ``(sku, wanted, available)`` for
    each SKU with fewer units available (on hand less reserved) than wanted, by SKU. A read,
    not a reservation: stock may change before anything reserves it."""
    wanted = demand(lines)
    rows = session.scalars(
        select(StockRow).where(StockRow.warehouse_id == warehouse_id, StockRow.sku.in_(wanted))
    )
    available = {row.sku: max(0, row.on_hand - row.reserved) for row in rows}
    return [
        (sku, n, available.get(sku, 0))
        for sku, n in sorted(wanted.items())
        if available.get(sku, 0) < n
    ]


def warehouse_exists(session: Session, warehouse_id: str) -> bool:
    """Whether ``warehouse_id`` names an active warehouse."""
    row = session.get(WarehouseRow, warehouse_id)
    return row is not None and row.active
