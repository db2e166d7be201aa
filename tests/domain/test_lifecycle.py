"""The lifecycle declarations: one row per status, and the search attributes a step sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms.domain.lifecycle import (
    LIFECYCLES,
    ORDER,
    QUOTE,
    REPLENISHMENT,
    RETURN,
    SHIPMENT,
    Clock,
    Lifecycle,
    Step,
    attributes,
    limits_from,
)
from oms.models.orders import OrderStatus
from oms.models.quotes import QuoteStatus
from oms.models.replenishment import ReplenishmentStatus
from oms.models.returns import ReturnStatus
from oms.models.shipments import ShipmentStatus
from oms.settings import Settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMITS = limits_from(Settings())


@pytest.mark.parametrize(
    ("lifecycle", "statuses"),
    [
        (ORDER, OrderStatus),
        (SHIPMENT, ShipmentStatus),
        (QUOTE, QuoteStatus),
        (RETURN, ReturnStatus),
        (REPLENISHMENT, ReplenishmentStatus),
    ],
)
def test_every_status_of_every_kind_is_declared_and_nothing_else(
    lifecycle: Lifecycle, statuses: type
) -> None:
    assert set(lifecycle.statuses) == {s.value for s in statuses}


def test_a_status_declared_twice_in_one_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Lifecycle("x", (Step("a", "s", "w"), Step("a", "s", "w")))


def test_one_stage_and_party_cannot_have_two_clocks() -> None:
    # The stage query could not tell them apart.
    with pytest.raises(ValueError, match="two clocks"):
        Lifecycle("x", (Step("a", "s", "w", Clock(seconds=1)), Step("b", "s", "w", Clock())))


def test_the_first_step_of_a_status_is_its_default_and_stages_select_the_others() -> None:
    assert ORDER.step("on_hold").stage == "awaiting_payment"
    assert ORDER.step("on_hold", "awaiting_credit").waiting_for == "finance"
    with pytest.raises(KeyError, match="order has no step nope"):
        ORDER.step("nope")


def test_the_deadline_is_the_clock_start_plus_the_limit() -> None:
    # An escalated approval restarts its clock: since and deadline move together.
    escalated = NOW - timedelta(hours=5)
    values = attributes(QUOTE.step("pending_approval"), NOW, LIMITS, clock_start=escalated)
    assert values["OmsWaitingSince"] == escalated
    assert values["OmsDeadline"] == escalated + timedelta(
        seconds=LIMITS["quote_approver_reminder_s"]
    )


def test_a_step_with_its_own_deadline_needs_one_and_a_terminal_step_has_none() -> None:
    with pytest.raises(ValueError, match="own deadline"):
        attributes(REPLENISHMENT.step("awaiting_goods"), NOW, LIMITS)
    due = NOW + timedelta(days=3)
    assert (
        attributes(REPLENISHMENT.step("awaiting_goods"), NOW, LIMITS, deadline=due)["OmsDeadline"]
        == due
    )
    assert attributes(ORDER.step("completed"), NOW, LIMITS)["OmsDeadline"] is None
    # Shipments carry the clock of an order in the warehouse.
    assert attributes(ORDER.step("picking"), NOW, LIMITS)["OmsDeadline"] is None


def test_held_and_failed_refunds_are_overdue_at_once_and_need_a_person() -> None:
    for step in (SHIPMENT.step("held"), RETURN.step("refund_failed")):
        assert attributes(step, NOW, LIMITS)["OmsDeadline"] == NOW
        assert step.person


def test_find_reads_back_the_step_from_search_attributes() -> None:
    assert QUOTE.find("awaiting_approval", "approver:finance,cfo") == QUOTE.step("pending_approval")
    assert ORDER.find("awaiting_payment", "customer") == ORDER.step("on_hold")
    assert ORDER.find("awaiting_payment", "payment_provider") == ORDER.step("received")
    assert ORDER.find("nowhere", "nobody") is None


def test_every_kind_has_an_end() -> None:
    for lifecycle in LIFECYCLES.values():
        assert any(step.terminal for step in lifecycle.steps), lifecycle.kind
