"""Give back part of an order's stock when part of a line is cancelled or a warehouse
could not pick it, owe a short pick's missing units again, and allocate an edited order anew.

Runs inside the caller's transaction and takes locks in the order ``oms.store.inventory``
documents (reservations, stock rows, backorders). A trim names how many units to
*keep*, never how many to drop, so a retried call changes nothing more.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from oms.models.inventory import AllocationDecision, ReleaseResult
from oms.models.order_changes import (
    BackorderResult,
    BackorderUnits,
    Reallocate,
    Reallocation,
    TrimReservation,
)
from oms.store.inventory import (
    OPEN,
    RELEASED,
    _lock_stock,
    allocate,
    fill_backorders_at,
    lock_backorders,
    lock_reservations,
    owe,
    release_reservations,
)
from oms.store.tables import AllocationRow, BackorderRow, ReservationRow, StockRow


def trim(session: Session, req: TrimReservation) -> ReleaseResult:
    """Keep at most ``req.keep`` units of ``req.sku`` for the order and free the rest.

    With ``shipment_id``: that shipment's open reservations shrink (newest first). Without:
    what the order is owed shrinks, units owed at no charge (a claim's reship: the customer
    paid for them once, the order refunds them) before paid ones, and in each its open
    backorders first (newest first), then units already filled for them but not yet claimed
    (those are freed). Freed units go to other orders' backorders at once; their ids come
    back in ``filled_orders`` for the caller to wake.
    With ``lost`` (a short pick: the units are not on the shelf) they leave stock instead.
    """
    mine = (ReservationRow.order_id == req.order_id, ReservationRow.sku == req.sku)
    where: tuple[ColumnElement[bool], ...]
    if req.shipment_id is not None:
        where = (*mine, ReservationRow.shipment_id == req.shipment_id)
    else:
        where = (
            *mine,
            ReservationRow.backorder_id.is_not(None),
            ReservationRow.claim_key.is_(None),
        )
    # Locked in id order like every other taker of reservations (no lock cycle with a
    # concurrent claim or release on PostgreSQL), then shrunk newest first.
    reservations = lock_reservations(session, *where, ReservationRow.status == OPEN)[::-1]
    stock = {
        (row.warehouse_id, row.sku): row
        for row in _lock_stock(session, {r.warehouse_id for r in reservations}, {req.sku})
    }
    if req.shipment_id is None:
        taken = _shrink_backorders(session, req, reservations)
    else:
        taken = _newest_first(reservations, sum(r.quantity for r in reservations) - req.keep)
    if not taken:
        return ReleaseResult(released_units=0)
    freed: set[str] = set()
    released = 0
    for reservation, take in taken:
        if take == reservation.quantity:
            reservation.status = RELEASED  # the row keeps its quantity: what it held
        else:
            reservation.quantity -= take
        row = stock[(reservation.warehouse_id, reservation.sku)]
        row.reserved -= take
        if req.lost:
            row.on_hand -= take
        else:
            freed.add(reservation.warehouse_id)
        released += take
    session.flush()
    filled = fill_backorders_at(
        session, [(warehouse_id, req.sku) for warehouse_id in sorted(freed)], freed_by=req.order_id
    )
    return ReleaseResult(released_units=released, filled_orders=filled)


def _newest_first(
    reservations: list[ReservationRow], drop: int
) -> list[tuple[ReservationRow, int]]:
    """How many units each of ``reservations`` (newest first) gives up for ``drop`` to go."""
    out = []
    for reservation in reservations:
        if drop <= 0:
            break
        take = min(drop, reservation.quantity)
        out.append((reservation, take))
        drop -= take
    return out


def _shrink_backorders(
    session: Session, req: TrimReservation, filled: list[ReservationRow]
) -> list[tuple[ReservationRow, int]]:
    """Lower what the order is owed of the SKU toward ``req.keep``, counting the ``filled``
    unclaimed units (newest first) as owed too; the filled units that must go, and how many
    of each. Units owed at no charge go first: the order refunds what they were paid for
    (``workflows/order_lines.py`` takes them first too); in each kind the open backorders go
    first (newest first), then the filled units."""
    rows = list(
        lock_backorders(
            session,
            BackorderRow.order_id == req.order_id,
            BackorderRow.sku == req.sku,
            BackorderRow.cancelled.is_(False),
        )
    )
    free = {b.id for b in rows if b.free}
    drop = sum(b.quantity_open for b in rows) + sum(r.quantity for r in filled) - req.keep
    out: list[tuple[ReservationRow, int]] = []
    for kind in (True, False):
        for backorder in reversed([b for b in rows if b.free is kind]):
            if drop <= 0:
                break
            take = min(drop, backorder.quantity_open)
            backorder.quantity_open -= take
            drop -= take
        mine = [r for r in filled if (r.backorder_id in free) is kind]
        taken = _newest_first(mine, drop)
        drop -= sum(take for _, take in taken)
        out += taken
    session.flush()
    return out


def backorder(session: Session, req: BackorderUnits) -> BackorderResult:
    """Owe ``req.lines`` to the order again, in its place in the queue (``placed_at``), and
    fill them at once from any warehouse's free units; idempotent on ``req.key``. With
    ``req.free`` (missing from a claim's reship) they are owed at no charge, as the reship's
    own backorders are: filled, they ship in a parcel that captures nothing.

    ``filled_orders`` lists the orders the fills served (this one when it got units).
    """
    done = session.scalar(select(BackorderRow.id).where(BackorderRow.allocation_key == req.key))
    if done is not None:
        return BackorderResult()
    owe(session, req.order_id, req.key, req.lines, req.placed_at, free=req.free)
    session.flush()
    skus = sorted({line.sku for line in req.lines})
    warehouses = session.scalars(
        select(StockRow.warehouse_id)
        .where(StockRow.sku.in_(skus), StockRow.on_hand > StockRow.reserved)
        .distinct()
        .order_by(StockRow.warehouse_id)
    )
    places = [(warehouse_id, sku) for warehouse_id in warehouses for sku in skus]
    return BackorderResult(filled_orders=fill_backorders_at(session, places))


def reallocate(session: Session, req: Reallocate) -> Reallocation:
    """Release every open reservation of the order and cancel what it is owed, then allocate
    ``req.lines`` nearest ``req``'s address, in this one transaction: the freed units are
    the order's to take again before any other order's backorders get what is left (their
    ids come back for the caller to wake). Idempotent on ``req.key`` (the stored decision).
    """
    stored = session.get(AllocationRow, req.key)
    if stored is not None:
        return Reallocation(decision=AllocationDecision.model_validate(stored.decision))
    freed, _ = release_reservations(
        session, ReservationRow.order_id == req.order_id, ReservationRow.status == OPEN
    )
    owed = lock_backorders(
        session, BackorderRow.order_id == req.order_id, BackorderRow.cancelled.is_(False)
    )
    for backorder in owed:
        backorder.cancelled = True
    session.flush()
    decision = allocate(session, req.as_allocation())
    filled = fill_backorders_at(session, freed, freed_by=req.order_id)
    return Reallocation(decision=decision, filled_orders=filled)
