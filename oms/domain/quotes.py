"""Pure rules of a quote: when its next timer fires, what is due then (expiry, reminders,
escalations), which clock each status runs on, how a counter-offer and an approver's
decision change it, and the order it becomes once accepted.

The workflow sleeps until :func:`next_timer` and carries out what :func:`due` returns
(emails, history, a restarted approval clock).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from oms.domain import lifecycle
from oms.domain.approval import escalate_role
from oms.domain.money import format_money, order_total
from oms.domain.tax import NoVatRate, order_totals
from oms.models.money import OrderTotals, TaxableLine
from oms.models.orders import OrderInput, OrderLine, OrderOptions, PaymentDetails
from oms.models.quotes import (
    AcceptQuote,
    ApprovalDecision,
    ApprovalRequirement,
    CounterOffer,
    QuoteInput,
    QuoteLineRequest,
    QuoteOptions,
    QuoteStatus,
    QuoteView,
)

DueKind = Literal["expire", "remind_seller", "remind_buyer", "remind", "escalate", "remind_again"]


@dataclass(frozen=True)
class Due:
    """One thing due on a quote; ``requirement`` for the approval ones, ``higher`` for an
    escalation (the role the approval moves to)."""

    kind: DueKind
    requirement: ApprovalRequirement | None = None
    higher: str | None = None


def reminder_key(audience: str, opening: int) -> str:
    """The key of the expiry reminder to ``audience`` in the quote's ``opening``-th life."""
    return f"expiry_reminder:{audience}:{opening}"


def _pending(view: QuoteView) -> list[ApprovalRequirement]:
    if view.status != QuoteStatus.PENDING_APPROVAL:
        return []
    return [r for r in view.approvals if r.decision is None]


def offered(view: QuoteView) -> bool:
    """Whether the quote's current proposal has been offered to the buyer: it needed no
    approval, or every approval it needed was given. A proposal still waiting for an
    approver, or one an approver rejected, is the seller's own business."""
    if view.proposal is None:
        return False
    return all(r.decision == "approve" for r in view.approvals)


def approval_clock(approvals: Collection[ApprovalRequirement]) -> datetime | None:
    """When the oldest pending approval's clock started (requested, or escalated since)."""
    pending = [r for r in approvals if r.decision is None]
    return min((r.escalated_at or r.requested_at for r in pending), default=None)


def status_clock(view: QuoteView, status: QuoteStatus) -> dict[str, Any]:
    """The clock of ``status`` (the tracker's keyword arguments): the oldest pending
    approval's and who it waits for, else the quote's expiry, else none."""
    if status == QuoteStatus.PENDING_APPROVAL:
        approvals = view.approvals
        roles = ",".join(sorted({r.role for r in approvals if r.decision is None}))
        return {"clock_start": approval_clock(approvals), "waiting_for": f"approver:{roles}"}
    if lifecycle.QUOTE.step(status).clock == lifecycle.OWN_DEADLINE:
        return {"deadline": view.expires_at}
    return {}


def countered_lines(lines: list[QuoteLineRequest], offer: CounterOffer) -> list[QuoteLineRequest]:
    """The quote's lines with the target prices the buyer's counter-offer asks for."""
    targets = {line.sku: line.target_unit_price for line in offer.lines}
    return [
        QuoteLineRequest(
            sku=line.sku,
            quantity=line.quantity,
            target_unit_price=targets.get(line.sku, line.target_unit_price),
        )
        for line in lines
    ]


def not_on_quote(lines: list[QuoteLineRequest], skus: Iterable[str]) -> list[str]:
    """The ``skus`` the quote has no line of, sorted, each once."""
    known = {line.sku for line in lines}
    return sorted({sku for sku in skus if sku not in known})


def record_decision(
    approvals: list[ApprovalRequirement], role: str, decision: ApprovalDecision, now: datetime
) -> None:
    """Write an approver's decision into every pending approval that asks ``role``: one
    decision answers them all."""
    for req in approvals:
        if req.decision is None and req.role == role:
            req.decision = decision.decision
            req.decided_by = decision.approver
            req.decided_at = now
            req.comment = decision.comment


def next_timer(
    view: QuoteView, opts: QuoteOptions, reminded: Collection[str], opening: int
) -> tuple[datetime, str]:
    """The next moment something may be due, and a label for the timer."""
    expires = view.expires_at
    candidates: list[tuple[datetime, str]] = [(expires, "quote expiry")]
    if reminder_key("seller", opening) not in reminded:
        before = timedelta(seconds=opts.seller_reminder_before_s)
        candidates.append((expires - before, "seller reminder"))
    if reminder_key("buyer", opening) not in reminded:
        before = timedelta(seconds=opts.buyer_reminder_before_s)
        candidates.append((expires - before, "buyer reminder"))
    for req in _pending(view):
        since = req.escalated_at or req.requested_at
        if not req.reminded:
            after = timedelta(seconds=opts.approver_reminder_after_s)
            candidates.append((since + after, f"remind {req.role}"))
        escalate = timedelta(seconds=opts.approval_escalate_after_s)
        candidates.append((since + escalate, f"escalate {req.role}"))
    return min(candidates, key=lambda c: c[0])


def due(
    view: QuoteView, opts: QuoteOptions, reminded: Collection[str], opening: int, now: datetime
) -> list[Due]:
    """Everything due at ``now``, in the order to carry it out (expiry ends the rest)."""
    expires = view.expires_at
    if now >= expires:
        return [Due("expire")]
    out: list[Due] = []
    seller_at = expires - timedelta(seconds=opts.seller_reminder_before_s)
    if reminder_key("seller", opening) not in reminded and now >= seller_at:
        out.append(Due("remind_seller"))
    buyer_at = expires - timedelta(seconds=opts.buyer_reminder_before_s)
    if reminder_key("buyer", opening) not in reminded and now >= buyer_at:
        out.append(Due("remind_buyer"))
    for req in _pending(view):
        since = req.escalated_at or req.requested_at
        if now >= since + timedelta(seconds=opts.approval_escalate_after_s):
            higher = escalate_role(req.role, opts.policy)
            # Nobody above: remind the same role again and restart its clock.
            out.append(Due("escalate", req, higher) if higher else Due("remind_again", req))
        elif not req.reminded and now >= since + timedelta(seconds=opts.approver_reminder_after_s):
            out.append(Due("remind", req))
    return out


def order_for(
    inp: QuoteInput, view: QuoteView, request: AcceptQuote, order_id: str, now: datetime
) -> OrderInput:
    """The order an accepted quote starts: the negotiated prices, on invoice terms against
    the buyer's PO number and the company's credit.

    Raises ``ValueError`` for a quote without a proposal.
    """
    proposal, customer = view.proposal, inp.customer
    if proposal is None:
        raise ValueError(f"quote {inp.quote_id} has no proposal to order")
    lines = [
        OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
        for ln in proposal.lines
    ]
    totals = _totals(inp, lines, now)
    if totals is not None:
        for line, amount in zip(lines, totals.lines, strict=True):
            line.tax_rate = amount.rate
    return OrderInput(
        order_id=order_id,
        channel="b2b",
        customer=customer.as_customer(),
        currency=inp.currency,
        lines=lines,
        ship_to=inp.ship_to,
        payment=PaymentDetails(
            method="invoice",
            po_number=request.po_number,
            terms=request.payment_terms,
            company_id=customer.company_id,
        ),
        placed_at=now,
        options=inp.options.order_options
        or OrderOptions(task_queue_prefix=inp.options.task_queue_prefix),
        quote_id=inp.quote_id,
        price_source="quote",
        totals=totals,
    )


def order_summary(order: OrderInput, quote_id: str) -> str:
    """The Temporal UI's summary of an accepted quote's order, as the API writes an order's
    ("Order X · b2b · placed with N line(s), <total>"): its total with shipping and VAT,
    or, for an order without totals, the lines' sum labelled "net"; in the buyer's locale.
    """
    locale = order.customer.locale
    if order.totals is not None:
        amount = format_money(order.totals.total, order.currency, locale)
    else:
        amount = f"{format_money(order_total(order.lines), order.currency, locale)} net"
    return (
        f"Order {order.order_id} · {order.channel} · placed with {len(order.lines)} line(s), "
        f"{amount} · from quote {quote_id}"
    )


def _totals(inp: QuoteInput, lines: list[OrderLine], now: datetime) -> OrderTotals | None:
    """The quote order's totals: negotiated prices without VAT (a business), the standard
    shipping charge and the destination's VAT; None for a quote started without pricing
    options (or, defensively, a destination its VAT rows do not cover)."""
    pricing = inp.options.order_pricing
    if pricing is None:
        return None
    taxable = [
        TaxableLine(
            sku=ln.sku,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            tax_class=pricing.tax_classes.get(ln.sku, "standard"),
        )
        for ln in lines
    ]
    try:
        totals = order_totals(
            taxable,
            pricing.shipping,
            currency=inp.currency,
            country=inp.ship_to.country,
            on=now.date(),
            table=pricing.vat,
            seller_country=pricing.merchant_country,
            vat_number=inp.customer.vat_number,
            prices_include_tax=False,
        )
    except NoVatRate:
        return None
    totals.base_currency, totals.base_rate = pricing.base_currency, pricing.base_rate
    return totals
