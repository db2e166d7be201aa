"""A quote's pure negotiation rules: the clock each status runs on, the lines a counter-offer
asks for, one decision answering every approval of its role, and their history lines."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from oms.domain.quotes import countered_lines, order_summary, record_decision, status_clock
from oms.models.common import Customer
from oms.models.money import OrderTotals
from oms.models.orders import OrderInput, OrderLine
from oms.models.quotes import (
    ApprovalDecision,
    ApprovalRequirement,
    CounterLine,
    CounterOffer,
    QuoteLineRequest,
    QuoteStatus,
    QuoteView,
)
from oms.views.quotes import counter_note, decision_note

from quote_fixtures import T0, quote_view


def requirement(role: str, rule: str, requested_at: datetime = T0) -> ApprovalRequirement:
    return ApprovalRequirement(
        rule_id=rule, rule_name=rule, role=role, original_role=role, requested_at=requested_at
    )


def quote(status: QuoteStatus, approvals: list[ApprovalRequirement] | None = None) -> QuoteView:
    lines = [
        QuoteLineRequest(sku="CAP-NVY", quantity=10),
        QuoteLineRequest(sku="MUG-WHT", quantity=5, target_unit_price=Decimal("40.00")),
    ]
    return quote_view("Q-1", status=status, lines=lines, approvals=approvals)


def test_pending_approval_runs_on_the_oldest_pending_approval_and_names_its_roles() -> None:
    later = requirement("sales_manager", "discount", T0 + timedelta(hours=2))
    decided = requirement("cfo", "big", T0 - timedelta(days=1))
    decided.decision = "approve"
    view = quote(QuoteStatus.PENDING_APPROVAL, [later, requirement("finance", "total"), decided])

    assert status_clock(view, QuoteStatus.PENDING_APPROVAL) == {
        "clock_start": T0,
        "waiting_for": "approver:finance,sales_manager",
    }


def test_open_statuses_run_to_the_quote_expiry_and_ended_ones_on_no_clock() -> None:
    view = quote(QuoteStatus.PROPOSED)
    assert status_clock(view, QuoteStatus.PROPOSED) == {"deadline": view.expires_at}
    assert status_clock(view, QuoteStatus.COUNTERED) == {"deadline": view.expires_at}
    assert status_clock(view, QuoteStatus.ORDERED) == {}


def test_a_counter_offer_sets_the_asked_prices_and_keeps_the_other_lines() -> None:
    offer = CounterOffer(
        by="anna",
        lines=[
            CounterLine(sku="CAP-NVY", target_unit_price=Decimal("90.00")),
            CounterLine(sku="CAP-NVY", target_unit_price=Decimal("85.00")),
        ],
        comment="volume order",
    )
    lines = countered_lines(quote(QuoteStatus.PROPOSED).lines, offer)

    assert [(ln.sku, ln.quantity, ln.target_unit_price) for ln in lines] == [
        ("CAP-NVY", 10, Decimal("85.00")),  # the last price asked for a SKU counts
        ("MUG-WHT", 5, Decimal("40.00")),
    ]
    assert counter_note(offer) == "CAP-NVY at 85.00 — volume order"
    assert counter_note(CounterOffer(by="anna")) == "no price changes"


def test_one_decision_answers_every_pending_approval_of_its_role_only() -> None:
    approvals = [
        requirement("finance", "total"),
        requirement("finance", "credit"),
        requirement("sales_manager", "discount"),
    ]
    decision = ApprovalDecision(
        approver="Eva", role="finance", decision="approve", comment="within budget"
    )
    record_decision(approvals, "finance", decision, T0 + timedelta(hours=1))

    assert [(a.decision, a.decided_by, a.decided_at) for a in approvals] == [
        ("approve", "Eva", T0 + timedelta(hours=1)),
        ("approve", "Eva", T0 + timedelta(hours=1)),
        (None, None, None),
    ]
    assert approvals[0].comment == "within budget"
    assert decision_note(decision, "total") == "approve as finance (total): within budget"
    plain = ApprovalDecision(approver="Eva", role="finance", decision="reject")
    assert decision_note(plain, "total") == "reject as finance (total)"


def test_an_accepted_quotes_order_summary_shows_its_total_or_labels_the_net_sum() -> None:
    lines = [OrderLine(sku="RACK", quantity=150, unit_price=Decimal("850.00"))]
    order = OrderInput.model_construct(
        order_id="Q-1-O",
        channel="b2b",
        customer=Customer(id="C-9", name="Karin Ek", email="k@acme.example", locale="sv"),
        currency="SEK",
        lines=lines,
        totals=None,
    )
    assert order_summary(order, "Q-1") == (
        "Order Q-1-O · b2b · placed with 1 line(s), 127 500,00 SEK net · from quote Q-1"
    )
    # With shipping and VAT: what the order is charged, in the buyer's locale.
    priced = order.model_copy(
        update={"totals": OrderTotals.model_construct(total=Decimal("159436.25"))}
    )
    assert order_summary(priced, "Q-1") == (
        "Order Q-1-O · b2b · placed with 1 line(s), 159 436,25 SEK · from quote Q-1"
    )
