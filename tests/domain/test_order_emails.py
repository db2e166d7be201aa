"""Which of an order's emails it has sent, so an operator may send them again."""

from __future__ import annotations

from typing import get_args

from oms.domain.order_emails import (
    CANCEL_WHY,
    CREDIT_HOLD_TEMPLATE,
    CREDIT_REFUSED,
    PAYMENT_HELD,
    PAYMENT_NOT_COMPLETED,
    SENT_AFTER,
    SYSTEM,
    cancel_why,
    happened,
    not_sent,
    note_for_customer,
    template_for,
    told_why,
)
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


def test_the_backorder_email_is_resent_only_when_it_went_out_not_when_the_status_came() -> None:
    # A re-route once backordered units without the email: the status is in the history,
    # the email was never sent, and a "resend" would have sent it for the first time.
    rerouted = ["received", "confirmed", "allocated", "backordered", "picking"]
    facts = happened(rerouted, backorder_emailed=False)
    assert not_sent("order_backordered", facts) == (
        "the order never sent order_backordered: it is sent once units of it are backordered "
        "(an older re-route that backordered some did not)"
    )
    assert not_sent("order_backordered", happened(rerouted, backorder_emailed=True)) is None
    # An order from before the OMS kept it: its history is all there is.
    assert not_sent("order_backordered", happened(rerouted, backorder_emailed=None)) is None
    assert not_sent("order_backordered", happened(["allocated"], backorder_emailed=None))
    assert PAYMENT_HELD in happened(["on_hold"], payment_held=True, backorder_emailed=None)


def test_an_invoice_orders_on_hold_email_is_the_credit_hold() -> None:
    assert template_for("order_on_hold", "invoice") == CREDIT_HOLD_TEMPLATE
    assert template_for("order_on_hold", "card") == "order_on_hold"
    assert template_for("order_confirmed", "invoice") == "order_confirmed"


def test_each_reason_the_oms_cancels_for_has_a_code_and_a_persons_reason_has_none() -> None:
    assert len(set(CANCEL_WHY.values())) == len(CANCEL_WHY)
    for reason, code in CANCEL_WHY.items():
        assert cancel_why(reason, SYSTEM) == {"why": code}
    assert cancel_why(CREDIT_REFUSED, SYSTEM) == {"why": "credit_refused"}
    # A person who typed the same words wrote their own reason: shown as written.
    assert cancel_why(CREDIT_REFUSED, "support-1") == {}
    assert cancel_why("address looks wrong", SYSTEM) == {}


def test_a_cancel_email_tells_the_oms_own_reason_or_the_note_never_a_persons_reason() -> None:
    assert told_why(PAYMENT_NOT_COMPLETED, "system", None) == {
        "why": "payment_not_completed",
        "customer_note": PAYMENT_NOT_COMPLETED,
    }
    assert told_why("fraud suspected", "ops:dev-ops", None) == {}
    assert told_why("fraud suspected", "ops:dev-ops", "sorry") == {"customer_note": "sorry"}
    # The OMS's words as a person's reason are still theirs: not worded as the OMS's.
    assert told_why(PAYMENT_NOT_COMPLETED, "support-1", None) == {}


def test_a_buyers_own_reason_is_their_note_and_staffs_is_internal() -> None:
    assert note_for_customer(True, "ordered too many", None) == "ordered too many"
    assert note_for_customer(False, "fraud suspected", None) is None
    assert note_for_customer(False, "fraud suspected", "sorry") == "sorry"
    assert note_for_customer(True, "too many", "see you") == "see you"
