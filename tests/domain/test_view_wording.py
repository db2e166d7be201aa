"""Wording of the Temporal UI details and history notes that operations read.

Before: a cancelled order's details did not say why it was cancelled, and a return's
receipt timeout under a day read "nothing received within 0 days".
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms.domain.lifecycle import ORDER
from oms.models.order_changes import LineCancellation
from oms.models.orders import OrderPayment, OrderStatus
from oms.views.common import span
from oms.views.orders import details

from inventory_fixtures import order_view

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_cancelled_orders_details_say_why() -> None:
    view = order_view("O-WORD-1", status=OrderStatus.CANCELLED)
    view.cancel_reason = "changed my mind"
    text = details(view, ORDER.step("cancelled"), T0)
    assert "- cancelled: changed my mind" in text
    view.cancel_reason = None
    assert "cancelled:" not in details(view, ORDER.step("cancelled"), T0)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (30 * 86400, "30 days"),
        (86400, "1 day"),
        (12 * 3600, "12 hours"),
        (90 * 60, "90 minutes"),
        (20, "20 seconds"),
        (86400 + 1, "86401 seconds"),
    ],
)
def test_a_configured_span_is_said_in_its_largest_whole_unit(seconds: int, said: str) -> None:
    assert span(seconds) == said


def test_an_invoice_orders_line_cancel_says_credit_note_not_card_refund() -> None:
    refused = LineCancellation(
        at=T0, by="support", sku="TSHIRT", quantity=1, reason="not wanted",
        amount=Decimal("199.00"), refund_error="CreditNoteRefused: more than invoiced",
    )  # fmt: skip
    view = order_view("O-WORD-2", status=OrderStatus.SHIPPED)
    view.payment = OrderPayment(method="invoice", company_id="ACME-AB")
    view.line_cancellations.append(refused)
    text = details(view, ORDER.step("shipped"), T0)
    assert "the credit note for what was invoiced for them was refused" in text
    assert "credit it with POST /orders/{id}/refunds" in text and "declined" not in text
    view.payment = OrderPayment(method="card")
    text = details(view, ORDER.step("shipped"), T0)
    assert "the refund of what was paid for them was declined" in text
    assert "credit note" not in text
