"""What a quote shows: its Temporal UI details, its email contexts, and what its buyer sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money
from oms.domain.quotes import offered
from oms.models.common import HistoryEntry
from oms.models.quotes import (
    OPEN_QUOTE_STATES,
    ApprovalDecision,
    CounterOffer,
    QuoteStatus,
    QuoteView,
)
from oms.views.common import heading, when


def details(view: QuoteView, step: Step, since: datetime) -> str:
    """The quote's state in Markdown, as the Temporal UI shows it."""
    return "\n".join(heading(title(view), step, when(since)) + facts(view))


def title(view: QuoteView) -> str:
    return f"**Quote {view.quote_id}** · `{view.status}` · company {view.customer.company_id}"


def facts(view: QuoteView) -> list[str]:
    """The details' lines under the heading: expiry, proposal, approvals and order."""
    # An expiry matters while the quote is open; an ended one would read as still running.
    lines = [f"- expires: {when(view.expires_at)}"] if view.status in OPEN_QUOTE_STATES else []
    if view.proposal:
        p = view.proposal
        lines.append(
            f"- proposal round {p.round}: {p.total} {view.currency} "
            f"({p.discount_pct}% off {p.list_total})"
        )
    for req in view.approvals:
        state = req.decision or "waiting"
        started = req.escalated_at or req.requested_at
        who = f" by {req.decided_by}" if req.decided_by else f" since {when(started)}"
        escalated = (
            f" (escalated from {req.original_role})" if req.role != req.original_role else ""
        )
        lines.append(f"- approval **{req.role}**{escalated} — {req.rule_name}: {state}{who}")
    if view.order_id:
        lines.append(f"- order: {view.order_id}")
    return lines


# A buyer's history (docs/security.md, "What a buyer sees of a quote"): lines of these
# actions as recorded (the buyer's own steps, or a sales rep's for them) ...
_AS_RECORDED = frozenset({"submitted", "countered", "accepted", "ordered"})
# ... these without who did them ...
_WITHOUT_AUTHOR = frozenset({"withdrawn", "reopened", "expired"})
# ... these in the buyer's words (the seller's figures, roles and the approvers' names and
# comments are in the notes), and no line of any other action: approvals given one by one,
# reminders, escalations, operators' interventions, emails not sent.
BEING_PREPARED = "a proposal is being prepared"
PROPOSED = "prices proposed"
_REWORDED = {"approved": PROPOSED, "rejected": "the proposal could not be approved"}


def for_buyer(view: QuoteView) -> QuoteView:
    """The quote as its buyer sees it: the proposal only once it is offered to them
    (:func:`oms.domain.quotes.offered`), without who proposed it, the seller's comment or
    the reasons for overridden prices; no approvals; the history lines meant for the buyer.

    The status is the quote's own (``pending_approval`` says a proposal is being approved,
    not by whom, nor at which price). A copy: ``view`` is left as it was.
    """
    proposal = view.proposal if offered(view) else None
    if proposal is not None:
        lines = [line.model_copy(update={"override_reason": None}) for line in proposal.lines]
        proposal = proposal.model_copy(update={"by": None, "comment": None, "lines": lines})
    history = [line for entry in view.history if (line := _buyer_line(entry)) is not None]
    return view.model_copy(update={"proposal": proposal, "approvals": [], "history": history})


def _buyer_line(entry: HistoryEntry) -> HistoryEntry | None:
    """A history line as the buyer sees it, or ``None`` for one that is not theirs to see."""
    action = entry.action or ""
    if (entry.by or "").startswith("ops:"):
        return None  # an operator's intervention, whatever its action is called
    if action in _AS_RECORDED:
        return entry
    if action in _WITHOUT_AUTHOR:
        return entry.model_copy(update={"by": None})
    if action == "proposed":
        pending = entry.status == QuoteStatus.PENDING_APPROVAL
        note = BEING_PREPARED if pending else PROPOSED
    elif action in _REWORDED:
        note = _REWORDED[action]
    else:
        return None
    return entry.model_copy(update={"note": note, "by": None})


def email_context(view: QuoteView, **extra: Any) -> dict[str, Any]:
    """What every quote email template may use (amounts in the customer's locale)."""
    locale = view.customer.locale
    proposal = view.proposal
    return {
        "quote_id": view.quote_id,
        "customer_name": view.customer.name,
        "company_id": view.customer.company_id,
        "expires_at": when(view.expires_at),
        "total": format_money(proposal.total, view.currency, locale) if proposal else "",
        "discount_pct": str(proposal.discount_pct) if proposal else "0",
        "lines": [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price": format_money(ln.unit_price, view.currency, locale),
            }
            for ln in (proposal.lines if proposal else [])
        ],
        **extra,
    }


def pending_roles(view: QuoteView) -> str:
    return ", ".join(sorted({r.role for r in view.approvals if r.decision is None}))


def counter_note(offer: CounterOffer) -> str:
    """The history line of a counter-offer: the prices asked for and the buyer's comment."""
    targets = {ln.sku: ln.target_unit_price for ln in offer.lines}  # the last per SKU counts
    asked = ", ".join(f"{sku} at {price}" for sku, price in targets.items())
    return (asked or "no price changes") + (f" — {offer.comment}" if offer.comment else "")


def decision_note(decision: ApprovalDecision, rule_name: str) -> str:
    """The history line of an approver's decision on the rule ``rule_name`` asked for."""
    note = f"{decision.decision} as {decision.role} ({rule_name})"
    return note + (f": {decision.comment}" if decision.comment else "")
