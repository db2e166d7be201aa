"""The order's status as its shipments and backorders make it."""

from __future__ import annotations

from oms.domain.fulfilment import is_finished, order_status
from oms.models.orders import OrderStatus
from oms.models.shipments import ShipmentStatus as S


def test_status_follows_the_slowest_shipment_until_one_ships() -> None:
    assert order_status([S.PICKING, S.PACKED], False) == OrderStatus.PICKING
    assert order_status([S.PACKED, S.PACKED], False) == OrderStatus.PACKED
    assert order_status([S.SHIPPED, S.PICKING], False) == OrderStatus.PARTIALLY_SHIPPED
    assert order_status([S.IN_TRANSIT, S.DELIVERED], False) == OrderStatus.SHIPPED
    assert order_status([S.DELIVERED, S.CANCELLED], False) == OrderStatus.DELIVERED


def test_owed_units_keep_an_order_backordered_until_something_ships() -> None:
    assert order_status([S.PICKING], True) == OrderStatus.BACKORDERED
    assert order_status([S.DELIVERED], True) == OrderStatus.PARTIALLY_SHIPPED
    assert order_status([], True) == OrderStatus.BACKORDERED


def test_an_order_whose_shipments_were_all_cancelled_is_never_finished() -> None:
    assert is_finished([S.DELIVERED, S.CANCELLED], False)
    assert not is_finished([S.CANCELLED], False)
    assert not is_finished([S.DELIVERED], True)
    assert not is_finished([S.DELIVERED, S.SHIPPED], False)
    assert order_status([S.CANCELLED], False) == OrderStatus.CANCELLED
