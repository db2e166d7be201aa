"""A parcel settled by a claim: done for its order, like a delivered one, but never shown
as the order's progress (its reship stands for it)."""

from __future__ import annotations

from oms.domain.fulfilment import is_finished, order_status, progress
from oms.models.orders import OrderStatus
from oms.models.shipments import ShipmentStatus as S


def test_a_claimed_parcel_and_its_delivered_reship_finish_the_order() -> None:
    assert is_finished([S.CLAIMED, S.DELIVERED], has_backorder=False)
    assert order_status([S.CLAIMED, S.DELIVERED], has_backorder=False) == OrderStatus.DELIVERED


def test_a_claimed_parcel_whose_reship_is_picking_is_not_finished() -> None:
    assert not is_finished([S.CLAIMED, S.PICKING], has_backorder=False)
    assert order_status([S.CLAIMED, S.PICKING], has_backorder=False) == OrderStatus.PICKING


def test_a_refunded_claim_alone_finishes_the_order_but_owed_units_do_not() -> None:
    assert is_finished([S.CLAIMED], has_backorder=False)
    assert not is_finished([S.CLAIMED], has_backorder=True)
    assert not is_finished([S.CANCELLED], has_backorder=False)


def test_claimed_counts_as_finished_progress() -> None:
    assert progress(S.CLAIMED) == progress(S.CANCELLED) > progress(S.DELIVERED)
