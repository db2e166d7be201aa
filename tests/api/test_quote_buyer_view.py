"""What a buyer reads of a B2B quote: a proposal only once it is offered to them, never the
approvals (who approved, their comments, the roles awaited) nor the seller's internal notes;
staff read the whole quote (docs/security.md, "What a buyer sees of a quote").

The buyer used to get the seller's proposal (32.89% off) while it still waited for a sales
manager, and every approver's name and comment, from ``GET /quotes/{id}`` and ``GET /quotes``.

The app in this process on the read model (no Temporal): these answers come from the store.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from oms.models.common import HistoryEntry
from oms.models.quotes import (
    ApprovalRequirement,
    PricedLine,
    Proposal,
    QuoteLineRequest,
    QuoteStatus,
    QuoteView,
)
from oms.store import quotes

from app_fixtures import app_clients
from quote_fixtures import T0, quote_view

pytestmark = [pytest.mark.timeout(60)]

BUYER = "buyer-C-ACME-AB"  # dev-buyer-C-ACME-AB: the quotes' customer
SELLER = "sales"
# What only the seller's side may read: the approvers, their comments, the roles awaited,
# the proposer and the reasons for the overridden price.
APPROVERS = {"sales_manager": "Maria Manager", "finance": "Frida Finance"}
INTERNAL = (
    *APPROVERS.values(),
    "margin is thin, ok this once",
    "finance",
    "sales_manager",
    "Large discount",
    "Sven Sales",
    "beat Bolt's price",
    "match the competitor",
)


def _proposal() -> Proposal:
    """Sven's proposal: 100 T-shirts at 134.25 instead of 200.00 (32.89% off list)."""
    return Proposal(
        round=1,
        lines=[
            PricedLine(
                sku="TSHIRT-BLK-M",
                quantity=100,
                list_price=Decimal("200.00"),
                unit_price=Decimal("134.22"),
                discount_pct=Decimal("32.89"),
                override_reason="match the competitor",
            )
        ],
        list_total=Decimal("20000.00"),
        total=Decimal("13422.00"),
        discount_pct=Decimal("32.89"),
        by="Sven Sales",
        at=T0 + timedelta(hours=1),
        comment="beat Bolt's price",
    )


def _approval(role: str, rule: str, decided: bool) -> ApprovalRequirement:
    at = T0 + timedelta(hours=1)
    return ApprovalRequirement(
        rule_id=role,
        rule_name=rule,
        role=role,
        original_role=role,
        requested_at=at,
        decision="approve" if decided else None,
        decided_by=APPROVERS[role] if decided else None,
        decided_at=at + timedelta(hours=1) if decided else None,
        comment="margin is thin, ok this once" if role == "sales_manager" and decided else None,
    )


def _line(hours: int, status: str, action: str, note: str, by: str) -> HistoryEntry:
    return HistoryEntry(
        at=T0 + timedelta(hours=hours), status=status, note=note, by=by, action=action
    )


HISTORY = [
    _line(0, "submitted", "submitted", "1 line(s) requested by dev-buyer (buyer)", "dev-buyer"),
    _line(
        1,
        "pending_approval",
        "proposed",
        "round 1: 13422.00 SEK, 32.89% off list; needs approval by finance, sales_manager",
        "Sven Sales",
    ),
    _line(
        2,
        "pending_approval",
        "approval",
        "approve as sales_manager (Large discount): margin is thin, ok this once",
        "Maria Manager",
    ),
    _line(3, "pending_approval", "reminded", "reminded finance to decide", "system"),
]


def _pending(quote_id: str) -> QuoteView:
    """Waiting for finance: the sales manager has approved, with a comment."""
    view = quote_view(quote_id, status=QuoteStatus.PENDING_APPROVAL, version=5)
    view.proposal = _proposal()
    view.approvals = [
        _approval("sales_manager", "Large discount", decided=True),
        _approval("finance", "Large order", decided=False),
    ]
    view.history = list(HISTORY)
    view.lines = [QuoteLineRequest(sku="TSHIRT-BLK-M", quantity=100)]
    return view


def _approved(quote_id: str) -> QuoteView:
    """Both approvers approved: the proposal is offered to the buyer."""
    view = _pending(quote_id)
    view.status = QuoteStatus.APPROVED
    view.approvals = [
        _approval("sales_manager", "Large discount", decided=True),
        _approval("finance", "Large order", decided=True),
    ]
    approved = "approve as finance (Large order)"
    view.history = [*HISTORY, _line(4, "approved", "approved", approved, "Frida Finance")]
    view.version = 7
    return view


def _fill(*views: QuoteView) -> Any:
    def fill(session: Session) -> None:
        for view in views:
            assert quotes.record_quote(session, view)

    return fill


def _leaks(body: str) -> list[str]:
    return [secret for secret in INTERNAL if secret in body]


async def test_a_buyer_reads_no_proposal_or_approver_while_it_waits_for_approval(
    migrated_sqlite_url: str,
) -> None:
    fill = _fill(_pending("Q-PEND"))
    async with app_clients(migrated_sqlite_url, BUYER, SELLER, fill=fill) as clients:
        got = await clients[BUYER].get("/quotes/Q-PEND")
        assert got.status_code == 200, got.text
        quote = got.json()
        assert quote["status"] == "pending_approval"
        assert quote["proposal"] is None
        assert quote["approvals"] == []
        assert [(h["status"], h["action"], h["note"], h["by"]) for h in quote["history"]] == [
            ("submitted", "submitted", "1 line(s) requested by dev-buyer (buyer)", "dev-buyer"),
            ("pending_approval", "proposed", "a proposal is being prepared", None),
        ]
        assert _leaks(got.text) == []
        assert "13422" not in got.text and "32.89" not in got.text

        listed = await clients[BUYER].get("/quotes")
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == [quote]

        # The seller's side reads all of it, as before.
        staff = await clients[SELLER].get("/quotes/Q-PEND")
        assert staff.status_code == 200, staff.text
        full = staff.json()
        assert full["proposal"]["discount_pct"] == "32.89"
        assert full["proposal"]["by"] == "Sven Sales"
        assert [a["decided_by"] for a in full["approvals"]] == ["Maria Manager", None]
        assert len(full["history"]) == len(HISTORY)
        staff_list = await clients[SELLER].get("/quotes", params={"company_id": "ACME-AB"})
        assert staff_list.json()["items"] == [full]


async def test_a_buyer_reads_the_approved_proposal_but_not_who_approved_it(
    migrated_sqlite_url: str,
) -> None:
    fill = _fill(_approved("Q-APPR"))
    async with app_clients(migrated_sqlite_url, BUYER, SELLER, fill=fill) as clients:
        got = await clients[BUYER].get("/quotes/Q-APPR")
        assert got.status_code == 200, got.text
        quote = got.json()
        assert quote["status"] == "approved"
        proposal = quote["proposal"]
        assert (proposal["total"], proposal["discount_pct"]) == ("13422.00", "32.89")
        assert [(ln["sku"], ln["unit_price"]) for ln in proposal["lines"]] == [
            ("TSHIRT-BLK-M", "134.22")
        ]
        assert (proposal["by"], proposal["comment"]) == (None, None)
        assert proposal["lines"][0]["override_reason"] is None
        assert quote["approvals"] == []
        assert [(h["status"], h["note"], h["by"]) for h in quote["history"][1:]] == [
            ("pending_approval", "a proposal is being prepared", None),
            ("approved", "prices proposed", None),
        ]
        assert _leaks(got.text) == []
        listed = await clients[BUYER].get("/quotes", params={"status": "approved"})
        assert listed.json()["items"] == [quote]

        staff = (await clients[SELLER].get("/quotes/Q-APPR")).json()
        assert [a["decided_by"] for a in staff["approvals"]] == list(APPROVERS.values())
        assert staff["proposal"]["lines"][0]["override_reason"] == "match the competitor"
        assert staff["history"][-1]["by"] == "Frida Finance"
