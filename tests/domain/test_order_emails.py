"""Which of an order's emails it has sent, so an operator may send them again."""

from __future__ import annotations

from typing import get_args

from oms.domain.order_emails import PAYMENT_HELD, SENT_AFTER, not_sent
from oms.models.ops import ResendNotification


def test_a_notification_is_resent_only_once_the_order_sent_it() -> None:
    assert set(SENT_AFTER) == set(
        get_args(ResendNotification.model_fields["notification"].annotation)
    )
    assert not_sent("order_confirmed", {"received", "on_hold", PAYMENT_HELD}) == (
        "the order never sent order_confirmed: it is sent once it is confirmed"
    )
    assert not_sent("order_confirmed", {"received", "confirmed", "allocated"}) is None
    # An order on hold for review was told nothing: only a payment hold sends it.
    assert not_sent("order_on_hold", {"received", "on_hold"}) is not None
    assert not_sent("order_on_hold", {"received", "on_hold", PAYMENT_HELD}) is None
    assert not_sent("order_completed", {"confirmed", "shipped"}) is not None
