"""What an order shows: its Temporal UI details, history notes, email contexts, and what its
buyer sees."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money, order_total
from oms.domain.order_emails import told_why
from oms.domain.risk import order_origin
from oms.ids import shipment_workflow_id
from oms.models.common import HistoryEntry, SkuQuantity
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


# A buyer's history (docs/security.md, "What a buyer sees of an order"): one line per status
# the order entered, as recorded where the OMS words it for anyone (these statuses, written
# by the OMS itself: no ``by``, no ``action``) ...
_STATUS_AS_RECORDED = frozenset(
    {
        OrderStatus.RECEIVED,
        OrderStatus.CONFIRMED,
        OrderStatus.PICKING,
        OrderStatus.PACKED,
        OrderStatus.PARTIALLY_SHIPPED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    }
)
# ... else in these words: a hold says nothing of who held it or why (a person's reason, the
# risk rules' findings, the approvers awaited, the company's credit figures), an allocation
# nothing of the rule or the warehouses weighed ...
_STATUS_WORDS: dict[str, str] = {
    OrderStatus.RECEIVED: "Order received",
    OrderStatus.CONFIRMED: "Order confirmed",
    OrderStatus.ALLOCATED: "Allocated: shipments are being prepared",
    OrderStatus.BACKORDERED: "Some units are backordered",
    OrderStatus.PICKING: "Being picked",
    OrderStatus.PACKED: "Packed",
    OrderStatus.PARTIALLY_SHIPPED: "Partly shipped",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.ON_HOLD: "On hold",
    OrderStatus.CANCELLED: "Cancelled",
}
# ... except a hold for the customer's own card, which they are asked to fix (their email
# says the provider's reason too) ...
_CARD_DECLINED = ("Payment declined", "Re-authorization declined")
# ... and a cancellation, which says what the customer's email said of why
# (:func:`cancelled_why`), never staff's reason. Of the lines that are no status: the
# changes the customer is told of, in the customer's words (line cancellations, edits,
# claims, refunds, late carrier scans; :func:`_buyer_change`), backorders filled and the
# rest cancelled after a parcel shipped; no line of anything else: notes, holds and
# releases by people, approvals, operators' interventions, short picks, payment internals.
_BACKORDER_FILLED = "Backorder filled: "
_REST_CANCELLED = re.compile(r"^Cancel by .* came after (\S+) shipped; the rest was cancelled$")
_ALERTED = "; operations notified"


def for_buyer(view: OrderView) -> OrderView:
    """The order as its buyer sees it: its lines, money, shipments, tracking, returns and
    refunds, without what is internal to the merchant: staff's reasons (a cancel's, a hold's,
    a change's, a refund's), the risk rules' findings, notes and their tags, who on staff did
    what, the purchase-order approvals, the allocation decisions (the stock seen at each
    warehouse), payment errors; and the history lines meant for the customer
    (:func:`_buyer_history`).

    ``cancel_reason`` is what the customer was told of why (the note staff wrote for them, a
    buyer's own reason, the OMS's own reason), else None. Same fields, redacted ones empty
    or None. A copy: ``view`` is left as it was.
    """
    told = cancelled_why(view).get("customer_note")
    return view.model_copy(
        update={
            "history": _buyer_history(view, told),
            "allocations": [],
            "cancel_reason": told,
            "notes": [],
            "hold": None,
            "approvals": [],
            "shipments": [
                s.model_copy(update={"uncollected": None, "capture_error": None})
                for s in view.shipments
            ],
            "line_cancellations": [
                c.model_copy(update={"by": "", "reason": "", "refund_error": None})
                for c in view.line_cancellations
            ],
            "edits": [
                e.model_copy(update={"by": "", "reason": "", "authorization_id": None})
                for e in view.edits
            ],
            "claims": [
                c.model_copy(update={"by": "", "reason": "", "refund_error": None})
                for c in view.claims
            ],
            # A declined refund moved no money: staff's to settle, not the customer's news.
            "refunds": [
                r.model_copy(update={"reason": "", "requested_by": "", "error": None})
                for r in view.refunds
                if r.status != "declined"
            ],
            "late_events": [s.model_copy(update={"alerted": False}) for s in view.late_events],
        }
    )


def _buyer_history(view: OrderView, told: str | None) -> list[HistoryEntry]:
    """The history lines meant for the buyer, in the buyer's words (see above)."""
    seen: Counter[str] = Counter()
    previous: str | None = None
    lines: list[HistoryEntry] = []
    for entry in view.history:
        action = entry.action or ""
        seen[action] += 1  # the n-th line of a change is of its n-th record
        if action in ("refund", "late_scan"):
            # Shown by the API from the store, under the status the order had then.
            line = _buyer_change(view, entry, action, 0)
        elif entry.status and entry.status != previous:
            previous = entry.status
            line = _status_line(entry, told)
        elif action:
            line = _buyer_change(view, entry, action, seen[action] - 1)
        else:
            line = _buyer_note(entry)
        if line is not None:
            lines.append(line)
    return lines


def _status_line(entry: HistoryEntry, told: str | None) -> HistoryEntry:
    """The line of a status the order entered, as the buyer reads it."""
    status = entry.status
    recorded = entry.by is None and entry.action is None
    declined = status == OrderStatus.ON_HOLD and entry.note.startswith(_CARD_DECLINED)
    if recorded and (status in _STATUS_AS_RECORDED or declined):
        note = entry.note
    elif recorded and status in (OrderStatus.ALLOCATED, OrderStatus.BACKORDERED):
        # Entered as the parcels make it ("O-1-S1 picking"), or on an allocation, which says
        # nothing the shipments and backorders do not, but the rule and the warehouses.
        allocation = entry.note.startswith("Allocated (")
        note = _STATUS_WORDS[status] if allocation else entry.note
    elif status == OrderStatus.CANCELLED:
        note = "Cancelled" + (f": {told}" if told else "")
    else:
        note = _STATUS_WORDS.get(status, status)
    return HistoryEntry(at=entry.at, status=status, note=note)


def _buyer_note(entry: HistoryEntry) -> HistoryEntry | None:
    """A line the OMS wrote that is no status, as the buyer reads it, or None."""
    if entry.by is not None:
        return None
    if entry.note.startswith(_BACKORDER_FILLED):
        return entry
    rest = _REST_CANCELLED.match(entry.note)
    if rest is not None:
        note = f"Cancelled after {rest.group(1)} shipped: what had not shipped is cancelled"
        return entry.model_copy(update={"note": note})
    return None


def _buyer_change(view: OrderView, entry: HistoryEntry, action: str, n: int) -> HistoryEntry | None:
    """The line of the ``n``-th change of kind ``action``, as the buyer reads it, or None
    for one that is not theirs to see."""
    cur = view.currency
    note: str | None = None
    if action == "cancel_line" and n < len(view.line_cancellations):
        note = _buyer_line_cancel(view.line_cancellations[n], cur)
    elif action == "edit" and n < len(view.edits):
        change = view.edits[n]
        note = f"Order changed: {'; '.join(change.changes)}"
        if change.total_after != change.total_before:
            note += f"; total {change.total_before} -> {change.total_after} {cur}"
    elif action == "claim" and n < len(view.claims):
        note = _buyer_claim(view.claims[n], cur)
    elif action == "refund":
        # ``oms.store.refunds.show_on``'s line of a refund made (a declined one says so).
        made = (f"Refunded {r.amount} {r.currency}" for r in view.refunds if r.status == "refunded")
        note = next((said for said in made if entry.note.startswith(f"{said} (")), None)
    elif action == "late_scan":
        return entry.model_copy(update={"note": entry.note.removesuffix(_ALERTED)})
    if note is None:
        return None
    return HistoryEntry(at=entry.at, status=entry.status, note=note, action=action)


def _buyer_line_cancel(cancelled: LineCancellation, currency: str) -> str:
    """A line cancellation as the buyer reads it: what, and the money it gave back."""
    note = f"Line cancelled: {cancelled.sku} x{cancelled.quantity}"
    if cancelled.amount:
        note += f"; total -{cancelled.amount} {currency}"
    if cancelled.credit_note and cancelled.refunded:
        note += f", {cancelled.refunded} {currency} credited (credit note {cancelled.credit_note})"
    elif cancelled.refunded and cancelled.refund_error is None:
        note += f", {cancelled.refunded} {currency} refunded"
    if cancelled.released:
        note += f", {cancelled.released} {currency} of the card authorization released"
    return note


def _buyer_claim(claim: ShipmentClaim, currency: str) -> str:
    """A claim as the buyer reads it: the parcel, what happened to it, and the outcome."""
    note = f"Parcel {claim.shipment_id} {claim.kind}"
    if claim.resolution == "reship":
        return f"{note}: sent again as {', '.join(claim.reshipped_as) or 'a backorder'}, free"
    if claim.refund_error is None:
        return f"{note}: {claim.refunded} {currency} refunded"
    return note
