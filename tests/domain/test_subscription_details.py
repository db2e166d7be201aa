"""The subscription's Temporal UI details say which retry of a declined renewal is next.

Before: "1 retries so far" right after the first decline, when none had run yet (the
count is the number of the retry scheduled, not of those made).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms.domain.lifecycle import SUBSCRIPTION
from oms.models.common import Address, Customer
from oms.models.subscriptions import (
    Dunning,
    SubscriptionLine,
    SubscriptionStatus,
    SubscriptionView,
)
from oms.views.subscriptions import details

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _view(dunning: Dunning) -> SubscriptionView:
    return SubscriptionView(
        subscription_id="S-1",
        status=SubscriptionStatus.ACTIVE,
        customer=Customer(id="C-1", name="Anna", email="anna@example.com"),
        currency="SEK",
        interval="P1W",
        lines=[SubscriptionLine(sku="TSHIRT-BLK-M", quantity=1)],
        ship_to=Address(
            name="Anna",
            line1="Drottninggatan 53",
            postal_code="111 21",
            city="Stockholm",
            country="SE",
        ),
        anchor=T0,
        dunning=dunning,
        created_at=T0,
        updated_at=T0,
    )


def test_a_scheduled_retry_is_named_by_its_number_and_time() -> None:
    due = T0 + timedelta(days=1)
    first = Dunning(order_id="SUB-S-1-2", first_declined_at=T0, retries=1, next_retry_at=due)
    text = details(_view(first), SUBSCRIPTION.step("active"), T0)
    assert "payment declined** for SUB-S-1-2: retry 1 " in text
    assert "retries so far" not in text


def test_past_due_says_every_retry_was_declined() -> None:
    done = Dunning(order_id="SUB-S-1-2", first_declined_at=T0, retries=3)
    text = details(_view(done), SUBSCRIPTION.step("past_due"), T0)
    assert "SUB-S-1-2: 3 retries made, all declined" in text
