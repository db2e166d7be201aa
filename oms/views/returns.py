"""What a return shows: its Temporal UI details and its email contexts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.domain.lifecycle import Step
from oms.models.returns import ReturnInput, ReturnView
from oms.views.common import heading, to_the_second

# The return workflow writes its receipt deadline with it (``views.when``).
from oms.views.common import when as when


def details(view: ReturnView, step: Step, since: datetime) -> str:
    """The return's state in Markdown, as the Temporal UI shows it."""
    lines = heading(
        f"**Return {view.rma_id}** of order {view.order_id} · `{view.status}` · {view.resolution}",
        step,
        to_the_second(since),
    )
    for ln in view.lines:
        lines.append(
            f"- {ln.quantity} x {ln.sku} ({ln.reason}): received {ln.received_resellable} "
            f"resellable, {ln.received_damaged} damaged, {ln.received_wrong_item} wrong; "
            f"refunded {ln.refunded}"
        )
    if view.label:
        lines.append(f"- label: {view.label.carrier} {view.label.tracking_number}")
    if view.refund_error:
        lines.append(f"- **refund failed**: {view.refund_error}")
    if view.exchange_order_id:
        lines.append(f"- replacement order: {view.exchange_order_id}")
    return "\n".join(lines)


def email_context(inp: ReturnInput, view: ReturnView, **extra: Any) -> dict[str, Any]:
    """What every customer email of a return may use."""
    return {
        "customer_name": inp.customer.name,
        "rma_id": inp.rma_id,
        "order_id": inp.order_id,
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity, "reason": ln.reason} for ln in view.lines
        ],
        **extra,
    }


def ops_context(inp: ReturnInput, problem: str) -> dict[str, Any]:
    return {"rma_id": inp.rma_id, "order_id": inp.order_id, "problem": problem}
