"""What a shipment shows: its current details in the Temporal UI and its email contexts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.models.common import HistoryEntry
from oms.models.shipments import ShipmentInput, ShipmentStatus, ShipmentView
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
