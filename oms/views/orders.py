"""What an order shows: its Temporal UI details, history notes and email contexts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money, order_total
from oms.domain.order_emails import told_why
from oms.domain.risk import order_origin
from oms.ids import shipment_workflow_id
from oms.models.common import SkuQuantity
from oms.models.inventory import AllocationDecision
from oms.models.money import OrderTotals
from oms.models.order_changes import LineCancellation, OrderEdit, ShipmentClaim
from oms.models.orders import (
    NoteEntry,
    OrderInput,
    OrderPayment,
    OrderStatus,
    OrderView,
    ShipmentSummary,
)
from oms.models.shipments import ShipmentStatus
from oms.views.common import heading, to_the_second

# How many of the latest notes the Temporal UI's details show.
DETAILS_NOTES = 5


def details(view: OrderView, step: Step, since: datetime) -> str:
    """The order's current state in Markdown, as the Temporal UI shows it."""
    lines = heading(f"**Order {view.order_id}** · `{view.status}`", step, to_the_second(since))
    lines.append(
        f"- total: {view.total} {view.currency} · {len(view.lines)} line(s) · {view.channel}"
    )
    for s in view.shipments:
        # The order hears of a parcel's milestones (shipped, delivered, held, cancelled),
        # not of each warehouse step: in the warehouse, the shipment's page has its step.
        where = (
            f"in the warehouse (its step: {shipment_workflow_id(s.shipment_id)})"
            if s.status in (ShipmentStatus.PICKING, ShipmentStatus.PACKED)
            else f"`{s.status}`"
        )
        lines.append(
            f"- shipment {s.shipment_id} from {s.warehouse_id}: {where}"
            + (f" · tracking {s.tracking_number}" if s.tracking_number else "")
        )
    if view.backordered:
        lines.append(f"- backordered: {units(view.backordered)}")
    if view.allocations:
        last = view.allocations[-1]
        considered = ", ".join(f"{c.warehouse_id} ({c.distance_km} km)" for c in last.candidates)
        lines.append(f"- allocation: {last.rule}; considered {considered}")
    if view.hold is not None:
        lines.append(f"- held by {view.hold.by}: {view.hold.reason}")
    if view.cancel_reason:
        lines.append(f"- cancelled: {view.cancel_reason}")
    invoice = view.payment is not None and view.payment.method == "invoice"
    for cancelled in view.line_cancellations[-DETAILS_NOTES:]:
        lines.append(f"- {line_cancel_note(cancelled, view.currency, invoice=invoice)}")
    for change in view.edits[-DETAILS_NOTES:]:
        lines.append(f"- {edit_note(change, view.currency)}")
    for claim in view.claims[-DETAILS_NOTES:]:
        lines.append(f"- {claim_note(claim, view.currency)}")
    if view.notes:
        lines += ["", "**Notes**"]
        lines += [f"- {n.at:%Y-%m-%d %H:%M} {note_line(n)}" for n in view.notes[-DETAILS_NOTES:]]
    return "\n".join(lines)


def received(inp: OrderInput) -> OrderView:
    """The view of an order just received: its lines and address, and its money (the
    computed totals when it was priced with them)."""
    view = OrderView(
        order_id=inp.order_id,
        status=OrderStatus.RECEIVED,
        channel=inp.channel,
        origin=order_origin(inp),
        customer=inp.customer,
        currency=inp.currency,
        total=order_total(inp.lines),
        lines=inp.lines,
        ship_to=inp.ship_to,
        shipping_speed=inp.shipping_speed,
        price_source=inp.price_source,
        payment=payment_of(inp),
        placed_at=inp.placed_at,
        updated_at=inp.placed_at,
    )
    if inp.totals is not None:
        show_totals(view, inp.totals)
    return view


def payment_of(inp: OrderInput) -> OrderPayment:
    """How the order is paid, as its view shows it (the card's token left out)."""
    paid = inp.payment
    if paid.method != "invoice":
        return OrderPayment(method=paid.method)
    return OrderPayment(
        method=paid.method, po_number=paid.po_number, company_id=paid.company_id, terms=paid.terms
    )


def show_totals(view: OrderView, totals: OrderTotals) -> None:
    """Put an order's computed money on its view: subtotal, shipping, VAT per rate, total."""
    view.total, view.subtotal, view.shipping = totals.total, totals.subtotal, totals.shipping
    view.tax, view.tax_total = list(totals.tax), totals.tax_total
    view.prices_include_tax, view.tax_treatment = totals.prices_include_tax, totals.treatment


def note_line(note: NoteEntry) -> str:
    """A note as one history line: who wrote what, and its tags."""
    tags = f" [{', '.join(note.tags)}]" if note.tags else ""
    return f"Note by {note.by}: {note.text}{tags}"


def line_cancel_note(cancelled: LineCancellation, currency: str, *, invoice: bool = False) -> str:
    """A line cancellation as one history line: who took how many units of what, from
    where, why, and the money it gave back (``invoice``: an invoice-term order's, given
    back with a credit note)."""
    where = [f"{cancelled.from_backorder} owed"] if cancelled.from_backorder else []
    where += [f"{n} from {shipment}" for shipment, n in cancelled.from_shipments.items()]
    money = f"; total -{cancelled.amount} {currency}" if cancelled.amount else ""
    if cancelled.credit_note:
        money += (
            f", {cancelled.refunded} {currency} credited to the company "
            f"(credit note {cancelled.credit_note})"
        )
    elif cancelled.refunded:
        money += f", {cancelled.refunded} {currency} refunded ({cancelled.refund_id})"
    if cancelled.refund_error and invoice:
        money += (
            f", the credit note for what was invoiced for them was refused "
            f"({cancelled.refund_error}): credit it with POST /orders/{{id}}/refunds"
        )
    elif cancelled.refund_error:
        money += (
            f", the refund of what was paid for them was declined ({cancelled.refund_error}): "
            "refund it with POST /orders/{id}/refunds"
        )
    if cancelled.released:
        money += f", {cancelled.released} {currency} of the authorization released"
    return (
        f"Line cancelled by {cancelled.by}: {cancelled.sku} x{cancelled.quantity} "
        f"({', '.join(where)}): {cancelled.reason}{money}"
    )


def edit_note(change: OrderEdit, currency: str) -> str:
    """An edit as one history line: who changed what, why, and the money it moved."""
    money = ""
    if change.total_after != change.total_before:
        money = f"; total {change.total_before} -> {change.total_after} {currency}"
    if change.authorization_id:
        money += f" (new authorization {change.authorization_id})"
    elif change.released:
        money += f" ({change.released} {currency} of the authorization released)"
    return f"Edited by {change.by}: {'; '.join(change.changes)}: {change.reason}{money}"


def claim_note(claim: ShipmentClaim, currency: str) -> str:
    """A claim as one history line: who claimed which parcel what, and the outcome."""
    if claim.resolution == "reship":
        outcome = f"reshipped as {', '.join(claim.reshipped_as) or 'a backorder'} at no charge"
    elif claim.refund_error is not None:
        outcome = f"refund declined, nothing refunded: {claim.refund_error}"
    else:
        outcome = f"refunded {claim.refunded} {currency} ({claim.refund_id})"
    why = f": {claim.reason}" if claim.reason else ""
    return f"Claim by {claim.by}: {claim.shipment_id} {claim.kind}{why}; {outcome}"


def units(lines: Iterable[SkuQuantity]) -> str:
    return ", ".join(f"{ln.sku} x{ln.quantity}" for ln in lines)


def allocation_note(decision: AllocationDecision) -> str:
    """One history line for an allocation: where each line ships from, and what is owed."""
    parts = [f"{s.warehouse_id}: {units(s.lines)}" for s in decision.shipments]
    if decision.backordered:
        parts.append(f"backordered: {units(decision.backordered)}")
    return f"Allocated ({decision.rule}): " + "; ".join(parts)


def shipments_note(shipments: Iterable[ShipmentSummary]) -> str:
    return "; ".join(f"{s.shipment_id} {s.status}" for s in shipments)


def cancelled_why(view: OrderView) -> dict[str, str]:
    """What the order's ``order_cancelled`` email said of why (``told_why``: the OMS's own
    reason's ``why`` code, or the ``customer_note``), for a resend to say it as the first
    email did: who cancelled is on the history's cancelled line (its ``by``; an 0.1 order's
    only in its note)."""
    if view.cancel_reason is None:
        return {}
    prefix = "Cancelled by "
    for entry in reversed(view.history):
        if entry.status == OrderStatus.CANCELLED and entry.note.startswith(prefix):
            by = entry.by or entry.note.removeprefix(prefix).partition(":")[0]
            return told_why(view.cancel_reason, by, view.cancel_note)
    return {}


def email_context(view: OrderView, **extra: Any) -> dict[str, Any]:
    """What every order email template may use (amounts formatted in the customer's locale);
    from the view alone, so an ended order's stored view can send one again."""
    locale = view.customer.locale
    claimed = {c.shipment_id for c in view.claims}
    return {
        "customer_name": view.customer.name,
        "order_id": view.order_id,
        "currency": view.currency,
        "total": format_money(view.total, view.currency, locale),
        "lines": [
            {
                "sku": li.sku,
                "quantity": li.quantity,
                "unit_price": format_money(li.unit_price, view.currency, locale),
                "line_total": format_money(li.unit_price * li.quantity, view.currency, locale),
            }
            for li in view.lines  # as they are now: edits and cancellations change them
        ],
        "backordered": [{"sku": b.sku, "quantity": b.quantity} for b in view.backordered],
        # Orders priced by the OMS: the shipping charge and the VAT per rate.
        "shipping": format_money(view.shipping, view.currency, locale) if view.shipping else "",
        # What became of each parcel: delivered, or settled by a claim (refunded or
        # reshipped), so no email says "delivered" of a parcel that was lost.
        "delivered": [
            {"shipment_id": s.shipment_id, "parcel": _parcel(s.lines)}
            for s in view.shipments
            if s.status == ShipmentStatus.DELIVERED and s.shipment_id not in claimed
        ],
        "claims": [claim_context(view, claim) for claim in view.claims],
        "vat": [
            {
                "rate": f"{t.rate.normalize():f}",
                "tax": format_money(t.tax, view.currency, locale),
                "included": bool(view.prices_include_tax),
            }
            for t in view.tax
            if t.tax
        ],
        **extra,
    }


def claim_context(view: OrderView, claim: ShipmentClaim) -> dict[str, Any]:
    """What an email says of one claim: the parcel, what happened to it, what it held
    (``parcel``), and the outcome: the refund (``amount``, in the customer's locale) or the
    replacement parcels (``reshipped_as``) and the units no warehouse had yet (``owed``)."""
    by_id = {s.shipment_id: s for s in view.shipments}
    claimed = by_id.get(claim.shipment_id)
    held = _units(claimed.lines if claimed else [])
    sent = _units(ln for s in claim.reshipped_as if s in by_id for ln in by_id[s].lines)
    owed = held - sent if claim.resolution == "reship" else Counter[str]()
    refund = claim.resolution == "refund"
    return {
        "shipment_id": claim.shipment_id,
        "kind": claim.kind,
        "resolution": claim.resolution,
        "parcel": _parcel(claimed.lines if claimed else []),
        "amount": (
            format_money(claim.refunded, view.currency, view.customer.locale) if refund else ""
        ),
        "reshipped_as": list(claim.reshipped_as),
        "owed": [{"sku": sku, "quantity": n} for sku, n in sorted(owed.items())],
    }


def _parcel(lines: Iterable[SkuQuantity]) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]


def _units(lines: Iterable[SkuQuantity]) -> Counter[str]:
    units = Counter[str]()
    for ln in lines:
        units[ln.sku] += ln.quantity
    return units
