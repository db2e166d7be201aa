"""What a buyer sees of a quote at each status (``oms.views.quotes.for_buyer``): a proposal
only once it is offered to them, never an approval, and the history lines meant for them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from oms.domain.quotes import offered
from oms.models.common import HistoryEntry
from oms.models.quotes import ApprovalRequirement, PricedLine, Proposal, QuoteStatus
from oms.views.quotes import facts, for_buyer

from quote_fixtures import T0, quote_view


def _proposal() -> Proposal:
    line = PricedLine(
        sku="TSHIRT-BLK-M",
        quantity=100,
        list_price=Decimal("200"),
        unit_price=Decimal("150"),
        discount_pct=Decimal("25"),
        override_reason="match the competitor",
    )
    return Proposal(
        round=1,
        lines=[line],
        list_total=Decimal("20000"),
        total=Decimal("15000"),
        discount_pct=Decimal("25"),
        by="Sven Sales",
        at=T0,
        comment="for the approvers",
    )


def _approval(decision: Any) -> ApprovalRequirement:
    return ApprovalRequirement(
        rule_id="r1",
        rule_name="Large discount",
        role="sales_manager",
        original_role="sales_manager",
        requested_at=T0,
        decision=decision,
        decided_by="Maria Manager" if decision else None,
        comment="thin margin" if decision else None,
    )


def _line(status: str, action: str | None, by: str = "someone", note: str = "n") -> HistoryEntry:
    return HistoryEntry(at=T0 + timedelta(hours=1), status=status, note=note, by=by, action=action)


@pytest.mark.parametrize(
    ("status", "decisions", "shown"),
    [
        (QuoteStatus.PROPOSED, [], True),  # needed no approval
        (QuoteStatus.PENDING_APPROVAL, [None], False),
        (QuoteStatus.APPROVED, ["approve"], True),
        (QuoteStatus.REJECTED, ["reject"], False),
        (QuoteStatus.COUNTERED, [None], False),  # countered while it waited for approval
        (QuoteStatus.COUNTERED, ["approve"], True),  # countered once offered
        (QuoteStatus.EXPIRED, [None], False),
        (QuoteStatus.ORDERED, ["approve"], True),
    ],
)
def test_a_buyer_sees_a_proposal_only_once_offered_and_never_the_approvals(
    status: QuoteStatus, decisions: list[Any], shown: bool
) -> None:
    view = quote_view("Q-1", status=status, approvals=[_approval(d) for d in decisions])
    view.proposal = _proposal()
    seen = for_buyer(view)
    assert offered(view) is shown
    assert seen.status == status and seen.approvals == []
    if not shown:
        assert seen.proposal is None
        return
    assert seen.proposal is not None
    assert (seen.proposal.total, seen.proposal.discount_pct) == (Decimal("15000"), Decimal("25"))
    assert (seen.proposal.by, seen.proposal.comment) == (None, None)
    assert [ln.override_reason for ln in seen.proposal.lines] == [None]
    # A copy: the workflow's and the read model's view keep everything.
    assert view.proposal is not None and view.proposal.by == "Sven Sales"
    assert len(view.approvals) == len(decisions)
    assert view.proposal.lines[0].override_reason == "match the competitor"


def test_a_quote_without_a_proposal_offers_nothing() -> None:
    assert not offered(quote_view("Q-1"))
    assert for_buyer(quote_view("Q-1")).proposal is None


def test_a_buyer_reads_their_own_steps_and_the_sellers_in_their_words_only() -> None:
    view = quote_view("Q-1", status=QuoteStatus.ORDERED)
    view.history = [
        _line("submitted", "submitted", "dev-buyer", "1 line(s) requested by dev-buyer (buyer)"),
        _line("pending_approval", "proposed", "Sven Sales", "round 1: 15000, 25% off list"),
        _line("pending_approval", "reminded", "system", "reminded sales_manager to decide"),
        _line("pending_approval", "escalated", "system", "escalated to sales_director"),
        _line("pending_approval", "approval", "Maria Manager", "approve as sales_manager"),
        _line("pending_approval", "retry_now", "ops:dev-ops", "Operations (dev-ops): ..."),
        _line("pending_approval", None, "system", "Email quote_proposed not sent: refused"),
        _line("rejected", "rejected", "Dora Director", "reject as sales_director: no"),
        _line("expired", "expired", "system", "not ordered within 30 days"),
        _line("submitted", "reopened", "dev-sales", "re-opened after expiry"),
        _line("proposed", "proposed", "Sven Sales", "round 2: 20000; no approval needed"),
        _line("countered", "countered", "dev-buyer", "TSHIRT-BLK-M at 180 — budget"),
        _line("approved", "approved", "Maria Manager", "approve as sales_manager: fine"),
        _line("accepted", "accepted", "dev-buyer", "PO PO-1"),
        _line("ordered", "ordered", "dev-buyer", "order Q-1-O started"),
        _line("withdrawn", "withdrawn", "Sven Sales", "customer went elsewhere"),
    ]
    seen = [(h.status, h.action, h.note, h.by) for h in for_buyer(view).history]
    assert seen == [
        ("submitted", "submitted", "1 line(s) requested by dev-buyer (buyer)", "dev-buyer"),
        ("pending_approval", "proposed", "a proposal is being prepared", None),
        ("rejected", "rejected", "the proposal could not be approved", None),
        ("expired", "expired", "not ordered within 30 days", None),
        ("submitted", "reopened", "re-opened after expiry", None),
        ("proposed", "proposed", "prices proposed", None),
        ("countered", "countered", "TSHIRT-BLK-M at 180 — budget", "dev-buyer"),
        ("approved", "approved", "prices proposed", None),
        ("accepted", "accepted", "PO PO-1", "dev-buyer"),
        ("ordered", "ordered", "order Q-1-O started", "dev-buyer"),
        ("withdrawn", "withdrawn", "customer went elsewhere", None),
    ]


@pytest.mark.parametrize(
    ("status", "shows_expiry"),
    [
        (QuoteStatus.SUBMITTED, True),
        (QuoteStatus.PENDING_APPROVAL, True),
        (QuoteStatus.APPROVED, True),
        (QuoteStatus.ACCEPTED, False),
        (QuoteStatus.ORDERED, False),
        (QuoteStatus.EXPIRED, False),
        (QuoteStatus.WITHDRAWN, False),
    ],
)
def test_the_ui_details_give_an_expiry_only_while_the_quote_is_open(
    status: QuoteStatus, shows_expiry: bool
) -> None:
    """An accepted quote that still said "expires: <date>" read as if it could lapse."""
    shown = any(line.startswith("- expires:") for line in facts(quote_view("Q-1", status=status)))
    assert shown is shows_expiry
