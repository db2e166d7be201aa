"""Pure rules for an order's overall status, derived from its shipments and backorders."""

from __future__ import annotations

from collections.abc import Iterable

from oms.models.orders import OrderStatus
from oms.models.shipments import SHIPPED_STATES, ShipmentStatus

_STAGE_ORDER = {
    ShipmentStatus.PICKING: 0,
    ShipmentStatus.PACKED: 1,
    ShipmentStatus.HELD: 1,
    ShipmentStatus.SHIPPED: 2,
    ShipmentStatus.IN_TRANSIT: 2,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.EXCEPTION: 2,
    ShipmentStatus.DELIVERED: 3,
}


def progress(status: ShipmentStatus | str) -> int:
    """How far along a shipment in ``status`` is (cancelled counts as finished)."""
    if status in (ShipmentStatus.CANCELLED, ShipmentStatus.CLAIMED):
        return 4
    return _STAGE_ORDER[ShipmentStatus(status)]


def order_status(shipments: Iterable[ShipmentStatus], has_backorder: bool) -> OrderStatus:
    """The status an order shows for its shipments' states and whether units are still owed.

    Cancelled and claimed shipments are ignored (a claim's reship stands for a lost
    parcel); an order with nothing active and nothing owed is ``cancelled`` (it never
    reads ``completed`` when nothing shipped).
    """
    active = [s for s in shipments if s not in (ShipmentStatus.CANCELLED, ShipmentStatus.CLAIMED)]
    if not active:
        return OrderStatus.BACKORDERED if has_backorder else OrderStatus.CANCELLED
    stages = [_STAGE_ORDER[s] for s in active]
    any_shipped = any(s in SHIPPED_STATES for s in active)
    if any_shipped and (has_backorder or min(stages) < 2):
        return OrderStatus.PARTIALLY_SHIPPED
    if has_backorder:
        return OrderStatus.BACKORDERED
    lowest = min(stages)
    if lowest == 0:
        return OrderStatus.PICKING
    if lowest == 1:
        return OrderStatus.PACKED
    if lowest == 2:
        return OrderStatus.SHIPPED
    return OrderStatus.DELIVERED


def is_finished(shipments: Iterable[ShipmentStatus], has_backorder: bool) -> bool:
    """True when nothing more will happen: every shipment delivered, cancelled or settled by a
    claim, none owed, and something delivered or claimed (an order whose shipments were all
    cancelled is not done)."""
    states = list(shipments)
    ended = (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED, ShipmentStatus.CLAIMED)
    return (
        not has_backorder
        and all(s in ended for s in states)
        and (ShipmentStatus.DELIVERED in states or ShipmentStatus.CLAIMED in states)
    )
