"""What a replenishment episode shows in the Temporal UI, and its email contexts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.models.replenishment import PurchaseOrder, ReplenishmentInput, ReplenishmentView
from oms.views.common import heading, to_the_second, when


def details(view: ReplenishmentView, step: Step, since: datetime, inp: ReplenishmentInput) -> str:
    """The episode's state in Markdown, as the Temporal UI shows it."""
    lines = heading(
        f"**Replenishment {view.n}** of `{view.sku}` in {view.warehouse_id} · "
        f"`{view.status}` · PO {view.po_id}",
        step,
        to_the_second(since),
    )
    lines.append(f"- opened with {inp.available} available (reorder point {inp.reorder_point})")
    # Each further line only once the episode has got that far (its fact is set).
    steps = [
        (view.supplier_name, f"- supplier: {view.supplier_name} ({view.supplier_id})"),
        (view.ordered, f"- received {view.received} of {view.ordered} ordered"),
        (view.sent_at, f"- sent {when(view.sent_at)}; goods expected by {when(view.expected_by)}"),
        (view.reminded_at, f"- supplier reminded {when(view.reminded_at)}"),
        (view.escalated_at, f"- **escalated to purchasing** {when(view.escalated_at)}"),
        (view.confirmed_by, f"- confirmed by {view.confirmed_by}"),
        (view.filled_orders, f"- backorders filled: {', '.join(view.filled_orders)}"),
    ]
    lines += [line for reached, line in steps if reached]
    return "\n".join(lines)


def low_stock_context(
    inp: ReplenishmentInput, view: ReplenishmentView, po: PurchaseOrder | None, problem: str | None
) -> dict[str, Any]:
    """The purchasing team's low-stock email: with the purchase order, or why there is none."""
    line = po.lines[0] if po is not None and po.lines else None
    return {
        "sku": inp.sku,
        "product": line.name if line is not None and line.name else inp.sku,
        "warehouse": inp.warehouse_id,
        "available": inp.available,
        "reorder_point": inp.reorder_point,
        "backordered": po.backordered if po is not None else 0,
        "po_id": po.po_id if po is not None else "",
        "quantity": view.ordered,
        "supplier": po.supplier.name if po is not None else (problem or "no supplier"),
        "workflow_id": view.workflow_id,
    }


def escalation_context(view: ReplenishmentView, po: PurchaseOrder, sku: str) -> dict[str, Any]:
    return {
        "po_id": po.po_id,
        "sku": sku,
        "warehouse": po.warehouse_id,
        "supplier": po.supplier.name,
        "supplier_email": po.supplier.email,
        "sent_at": when(view.sent_at),
        "lead_time_days": po.supplier.lead_time_days,
        "backordered": po.backordered,
        "workflow_id": view.workflow_id,
    }
