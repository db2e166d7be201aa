"""Read model of returns, and the facts about an order that return eligibility needs.

Like the orders read model, ``returns`` keeps each return's whole view as JSON,
written only by its workflow with a ``version`` so an older view never
overwrites a newer one. ``return_lines`` repeats each line's SKU, reason and
outcome as columns, so reports can group returns by reason without JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from oms.domain.returns import exchange_value, money_moved, returned_so_far
from oms.models.common import HistoryEntry, Page, SkuQuantity
from oms.models.orders import ExchangeOrigin, OrderRefund, OrderView, ReturnSummary
from oms.models.returns import DeliveredLine, RefundRoom, ReturnFacts, ReturnView
from oms.models.shipments import ShipmentStatus, ShipmentView
from oms.store import orders, paging, refunds
from oms.store.db import Bound, as_utc, in_transaction
from oms.store.inventory import ship_from
from oms.store.tables import ProductRow, ReturnLineRow, ReturnRow, WarehouseRow
from oms.store.versioned import record_view, stored_view, view_columns


def return_values(view: ReturnView) -> dict[str, Any]:
    """The ``returns`` row for ``view``: its filter columns and the whole view as JSON."""
    return {
        "rma_id": view.rma_id,
        "order_id": view.order_id,
        "status": view.status.value,
        "resolution": view.resolution,
        "customer_id": view.customer.id,
        "requested_at": view.requested_at,
        **view_columns(view),
    }


def return_line_values(view: ReturnView) -> list[dict[str, Any]]:
    """The ``return_lines`` rows for ``view``: one per line, what the reports count."""
    return [
        {
            "rma_id": view.rma_id,
            "sku": line.sku,
            "order_id": view.order_id,
            "quantity": line.quantity,
            "reason": line.reason,
            "received_resellable": line.received_resellable,
            "received_damaged": line.received_damaged,
            "received_wrong_item": line.received_wrong_item,
            "refunded": line.refunded,
        }
        for line in view.lines
    ]


def record_return(session: Session, view: ReturnView) -> bool:
    """Store ``view`` and its lines unless a newer or equal version is stored."""
    if not record_view(session, ReturnRow, "return", view.rma_id, view, return_values(view)):
        return False
    session.execute(delete(ReturnLineRow).where(ReturnLineRow.rma_id == view.rma_id))
    session.add_all(ReturnLineRow(**values) for values in return_line_values(view))
    session.flush()
    return True


def get_return(session: Session, rma_id: str) -> ReturnView | None:
    return stored_view(session, ReturnRow, rma_id, ReturnView)


def list_returns(
    session: Session,
    order_id: str | None = None,
    status: str | None = None,
    reason: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    customer_id: str | None = None,
    cursor: str | None = None,
) -> Page[ReturnView]:
    """Returns newest first, optionally of one order, status, line reason or customer.

    Raises ``InvalidCursor`` for a foreign cursor.
    """
    query = paging.where_given(
        select(ReturnRow),
        {
            ReturnRow.order_id: order_id,
            ReturnRow.status: status,
            ReturnRow.customer_id: customer_id,
        },
    )
    if reason is not None:
        with_reason = select(ReturnLineRow.rma_id).where(ReturnLineRow.reason == reason)
        query = query.where(ReturnRow.rma_id.in_(with_reason))
    keys = [(ReturnRow.requested_at, True), (ReturnRow.rma_id, True)]
    return paging.page(session, query, keys, _return_view, cursor=cursor, limit=limit)


def _return_view(row: ReturnRow) -> ReturnView:
    return ReturnView.model_validate(row.view)


def returns_of(session: Session, order_id: str) -> list[ReturnView]:
    """Every return of one order, oldest first."""
    query = select(ReturnRow).where(ReturnRow.order_id == order_id)
    rows = session.scalars(query.order_by(ReturnRow.requested_at, ReturnRow.rma_id))
    return [_return_view(row) for row in rows]


def count_returns(session: Session, order_id: str) -> int:
    return len(
        list(session.scalars(select(ReturnRow.rma_id).where(ReturnRow.order_id == order_id)))
    )


def summaries(views: list[ReturnView]) -> list[ReturnSummary]:
    """An order's returns (``returns_of``), oldest first, as ``GET /orders/{order_id}``
    shows them."""
    return [
        ReturnSummary(
            rma_id=v.rma_id,
            status=v.status.value,
            resolution=v.resolution,
            lines=[SkuQuantity(sku=line.sku, quantity=line.quantity) for line in v.lines],
            refunded=v.refund_total,
            exchange_order_id=v.exchange_order_id,
            exchange_value=None if v.exchange_order_id is None else exchange_value(v),
            exchange_difference=v.exchange_difference,
            updated_at=v.updated_at,
        )
        for v in views
    ]


def exchange_of(session: Session, order_id: str) -> ExchangeOrigin | None:
    """What the replacement order ``order_id`` replaces: its return (the one whose
    replacement it is, ``<rma>-X``), the order returned to and the exchange's money; None
    for any other order."""
    if not order_id.endswith("-X"):
        return None
    view = get_return(session, order_id.removesuffix("-X"))
    if view is None or view.exchange_order_id != order_id:
        return None
    return ExchangeOrigin(
        rma_id=view.rma_id,
        order_id=view.order_id,
        value=exchange_value(view),
        difference=view.exchange_difference,
    )


def eligibility_facts(
    session: Session, order_id: str, exclude_rma: str | None = None
) -> ReturnFacts:
    """What the customer received of each SKU of the order, when, and what is already returned.

    Delivered units and times come from the shipments read model; a SKU's
    delivery time is its latest delivered shipment's. Returns already made
    (except ``exclude_rma``) hold back their units, see ``returned_so_far``.
    """
    order = orders.get_order(session, order_id)
    if order is None:
        return ReturnFacts(order_id=order_id, found=False)
    delivered: dict[str, int] = {}
    delivered_at: dict[str, datetime] = {}
    warehouse_id: str | None = None
    for summary in order.shipments:
        shipment = orders.get_shipment(session, summary.shipment_id)
        if shipment is None or shipment.status != ShipmentStatus.DELIVERED:
            continue
        warehouse_id = warehouse_id or shipment.warehouse_id
        when = _delivered_at(shipment.history) or shipment.updated_at
        for line in shipment.lines:
            delivered[line.sku] = delivered.get(line.sku, 0) + line.quantity
            if line.sku not in delivered_at or when > delivered_at[line.sku]:
                delivered_at[line.sku] = when
    returned: dict[str, int] = {}
    for prior in returns_of(session, order_id):
        if prior.rma_id == exclude_rma:
            continue
        for prior_line in prior.lines:
            sku = prior_line.sku
            returned[sku] = returned.get(sku, 0) + returned_so_far(prior.status, prior_line)
    skus = [line.sku for line in order.lines]
    returnable = dict(
        session.execute(
            select(ProductRow.sku, ProductRow.returnable).where(ProductRow.sku.in_(skus))
        )
        .tuples()
        .all()
    )
    warehouse = session.get(WarehouseRow, warehouse_id) if warehouse_id else None
    return ReturnFacts(
        order_id=order_id,
        lines=[
            DeliveredLine(
                sku=line.sku,
                ordered=line.quantity,
                delivered=delivered.get(line.sku, 0),
                unit_price=line.unit_price,
                delivered_at=delivered_at.get(line.sku),
                returnable=returnable.get(line.sku, True),
                already_returned=returned.get(line.sku, 0),
            )
            for line in order.lines
        ],
        return_warehouse_id=warehouse_id,
        return_to=ship_from(warehouse) if warehouse is not None else None,
    )


def refund_room(session: Session, order_id: str, exclude_rma: str) -> RefundRoom:
    """What the order captured and what was refunded on it but by ``exclude_rma``
    (:func:`money_of`); nothing known for an order not found."""
    order = orders.get_order(session, order_id)
    if order is None:
        return RefundRoom(order_id=order_id)
    return money_of(session, order, exclude_rma)


def money_of(session: Session, order: OrderView, exclude_rma: str | None = None) -> RefundRoom:
    """What ``order`` captured and what was refunded on it but by ``exclude_rma``, read
    from the store (:func:`money_from`)."""
    order_id = order.order_id
    shipments = [orders.get_shipment(session, s.shipment_id) for s in order.shipments]
    others = [r for r in returns_of(session, order_id) if r.rma_id != exclude_rma]
    return money_from(order, shipments, refunds.for_order(session, order_id), others)


def money_from(
    order: OrderView,
    shipments: Iterable[ShipmentView | None],
    order_refunds: Iterable[OrderRefund],
    other_returns: Iterable[ReturnView],
) -> RefundRoom:
    """What ``order`` captured and what was refunded on it, from its stored shipments, its
    refunds without a return and its returns (all but the asking one).

    Captured: its shipments' captures and the exchange differences its returns charged.
    Refunded: its refunds without a return that the provider refunded (a pending one is
    not counted: it may yet be declined), its claims' and its line cancels' refunds (units
    a claim's reshipment owed, paid by the claimed parcel), and its returns' refunds and
    refunded exchange differences. No capture known (no shipment keeps one):
    ``captured`` None, nothing caps.
    """
    captured: Decimal | None = None
    for shipment in shipments:
        if shipment is not None and shipment.captured is not None:
            captured = (captured or Decimal("0.00")) + shipment.captured
    refunded = sum((r.amount for r in order_refunds if r.status == "refunded"), Decimal("0.00"))
    refunded += sum((claim.refunded for claim in order.claims), Decimal("0.00"))
    refunded += sum((c.refunded for c in order.line_cancellations), Decimal("0.00"))
    for other in other_returns:
        took, gave = money_moved(other)
        refunded += gave
        if captured is not None:
            captured += took
    return RefundRoom(order_id=order.order_id, captured=captured, refunded=refunded)


def _delivered_at(history: list[HistoryEntry]) -> datetime | None:
    for entry in reversed(history):
        if entry.status == ShipmentStatus.DELIVERED.value:
            return as_utc(entry.at)
    return None


class ReturnStore(Bound):
    """What the return activities read and write."""

    def eligibility_facts(self, order_id: str, rma_id: str | None = None) -> ReturnFacts:
        """``eligibility_facts`` in a transaction of its own."""
        return self._tx(lambda s: eligibility_facts(s, order_id, rma_id))

    def refund_room(self, order_id: str, rma_id: str) -> RefundRoom:
        """``refund_room`` in a transaction of its own."""
        return self._tx(lambda s: refund_room(s, order_id, rma_id))

    record_return = in_transaction(record_return)
