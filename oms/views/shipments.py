"""What a shipment shows: its current details in the Temporal UI, its email contexts and the
history lines of its carrier scans and claims."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money
from oms.models.common import HistoryEntry
from oms.models.order_changes import ClaimShipment
from oms.models.shipments import (
    LateScan,
    ShipmentInput,
    ShipmentStatus,
    ShipmentView,
    TrackingEvent,
)
from oms.views.common import to_the_second


def details(view: ShipmentView, step: Step, since: datetime) -> str:
    """The shipment's state in Markdown, as the Temporal UI shows it."""
    late = " · **pick late**" if view.pick_late and view.status == ShipmentStatus.PICKING else ""
    last = view.history[-1].note if view.history else ""
    return (
        f"**Shipment {view.shipment_id}** of order {view.order_id}\n\n"
        f"- status: `{view.status}`{late}, waiting for **{step.waiting_for}** "
        f"since {to_the_second(since)}\n"
        f"- warehouse: {view.warehouse_id}\n"
        f"- picked by: {view.picked_by or '-'}\n"
        f"- tracking: {view.carrier or ''} {view.tracking_number or '-'}\n"
        f"- last: {last}"
    )


def email_context(inp: ShipmentInput, **extra: Any) -> dict[str, Any]:
    """What every shipment email template may use, plus ``extra``."""
    return {
        "customer_name": inp.customer.name,
        "order_id": inp.order_id,
        "shipment_id": inp.shipment_id,
        "warehouse": inp.warehouse_id,
        "lines": [{"sku": li.sku, "quantity": li.quantity} for li in inp.lines],
        **extra,
    }


def shipped_context(inp: ShipmentInput, view: ShipmentView, amount: Decimal) -> dict[str, Any]:
    """The "shipped" email's context: what the parcel carries (a line cancellation or short
    pick may have cut it), its carrier and tracking, and what it was charged."""
    return email_context(
        inp,
        lines=[{"sku": li.sku, "quantity": li.quantity} for li in view.lines],
        carrier=view.carrier,
        service=view.service,
        tracking_number=view.tracking_number,
        amount=format_money(amount, inp.currency, inp.customer.locale),
    )


def uncollected_note(inp: ShipmentInput, reason: str) -> str:
    """The shipment's history line of a charge refused for good after the parcel left."""
    if inp.payment_method == "invoice":
        return f"Credit not consumed: {reason}; the parcel shipped: invoice the company another way"
    return f"Payment not captured: {reason}; the parcel shipped: collect the payment another way"


def shipped_uncollected(inp: ShipmentInput, amount: Decimal) -> str:
    """What the "shipped" history line (the shipment's and its order's) adds when the
    parcel's charge was refused."""
    return f"; {amount} {inp.currency} not collected (payment refused): operations notified"


def uncollected_alert(inp: ShipmentInput, amount: Decimal, reason: str) -> dict[str, Any]:
    """The ``ops_alert`` context of a parcel that shipped without its payment: what was not
    collected, the provider's reason, and what a person does about it."""
    money = format_money(amount, inp.currency)
    how = (
        "invoice the company for it outside its credit"
        if inp.payment_method == "invoice"
        else "collect it from the customer another way (a payment link, a bank transfer)"
    )
    return email_context(
        inp,
        problem=f"The payment of {money} was not collected for shipment {inp.shipment_id}",
        detail=reason,
        remedy=(
            f"{how}, or write it off; order {inp.order_id} shows the amount as uncollected "
            f"(GET /orders/{inp.order_id})"
        ),
        shipped=True,
    )


def claim_note(claim: ClaimShipment) -> str:
    """The history line of a parcel settled by a claim (lost, damaged)."""
    return f"Claimed {claim.kind} by {claim.by}" + (f": {claim.reason}" if claim.reason else "")


def carrier_note(event: TrackingEvent) -> str:
    """The history line of a carrier's tracking scan."""
    return f"Carrier: {event.status}" + (f" ({event.description})" if event.description else "")


def _scanned_at(scan: LateScan) -> str:
    """When the carrier says the scan happened (else when the OMS heard it), in UTC."""
    moment = scan.at or scan.received_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_the_second(moment.astimezone(UTC))


def late_scan_note(scan: LateScan) -> str:
    """The history line of a carrier scan that came after the shipment had ended: "claimed
    lost, then delivered on <date>" reads off the shipment's history."""
    when = _scanned_at(scan)
    note = f"Carrier: {scan.status} on {when}, after the shipment ended {scan.shipment_status}"
    if scan.description:
        note += f" ({scan.description})"
    return note + ("; operations notified" if scan.alerted else "")


def late_scan_alert(scan: LateScan, order_id: str, warehouse_id: str) -> dict[str, Any]:
    """The ``ops_alert`` context of a parcel claimed lost that the carrier then delivered:
    the customer may hold both the parcel and its reship (or its refund)."""
    when = _scanned_at(scan)
    return {
        "order_id": order_id,
        "shipment_id": scan.shipment_id,
        "warehouse": warehouse_id,
        "problem": f"Shipment {scan.shipment_id}, claimed lost, was delivered on {when}",
        "detail": f"carrier scan {scan.status} for tracking {scan.tracking_number}",
        "remedy": (
            f"the customer may now have both the parcel and its reship or refund: see the "
            f"claim on order {order_id} (GET /orders/{order_id}) and decide whether to ask "
            "for the goods or the money back, and whether to claim against the carrier"
        ),
        "late": True,
    }


def placeholder(inp: ShipmentInput, now: datetime) -> ShipmentView:
    """The view of a shipment that has just been started: picking at its warehouse.

    The order writes it to the read model in the same task that starts the shipment,
    so the pick list shows it at once; the shipment starts from the same view.
    """
    return ShipmentView(
        shipment_id=inp.shipment_id,
        order_id=inp.order_id,
        warehouse_id=inp.warehouse_id,
        status=ShipmentStatus.PICKING,
        lines=inp.lines,
        ship_to=inp.ship_to,
        history=[
            HistoryEntry(
                at=now, status=ShipmentStatus.PICKING, note=f"Awaiting pick at {inp.warehouse_id}"
            )
        ],
        updated_at=now,
    )
