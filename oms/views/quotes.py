"""What a quote shows: its Temporal UI details and its email contexts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money
from oms.models.quotes import ApprovalDecision, CounterOffer, QuoteView
from oms.views.common import heading, when


def details(view: QuoteView, step: Step, since: datetime) -> str:
    """The quote's state in Markdown, as the Temporal UI shows it."""
    return "\n".join(heading(title(view), step, when(since)) + facts(view))


def title(view: QuoteView) -> str:
    return f"**Quote {view.quote_id}** · `{view.status}` · company {view.customer.company_id}"


def facts(view: QuoteView) -> list[str]:
    """The details' lines under the heading: expiry, proposal, approvals and order."""
    lines = [f"- expires: {when(view.expires_at)}"]
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
