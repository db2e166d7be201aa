"""What a return shows: its Temporal UI details and its email contexts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money
from oms.domain.returns import replacement_units
from oms.models.orders import OrderLine
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
            f"refunded {ln.refunded} {view.currency}"
        )
    if view.label:
        lines.append(f"- label: {view.label.carrier} {view.label.tracking_number}")
    if view.refund_shortfall:
        lines.append(
            f"- not refunded: {view.refund_shortfall} {view.currency}"
            " (already refunded on the order)"
        )
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


def received_context(view: ReturnView) -> dict[str, Any]:
    """What the ``return_received`` email adds: the units that are not the product sold
    (``wrong_items``, never refunded or replaced: support contacts the customer), whether
    anything else in the parcel is refunded or replaced (``settles``), and the units still
    to come of a return sent in more than one parcel (``still_expected``, with the date they
    are due by, ``receipt_due``)."""
    return {
        "wrong_items": [
            {"sku": ln.sku, "quantity": ln.received_wrong_item}
            for ln in view.lines
            if ln.received_wrong_item
        ],
        "settles": any(replacement_units(ln) > 0 for ln in view.lines),
        "still_expected": [
            {"sku": ln.sku, "quantity": ln.quantity - ln.received}
            for ln in view.lines
            if ln.quantity > ln.received
        ],
        "receipt_due": when(view.receipt_due_at) if view.receipt_due_at else "",
    }


def exchanged_context(
    inp: ReturnInput, view: ReturnView, sent: Iterable[OrderLine], difference_refunded: bool
) -> dict[str, Any]:
    """What the ``return_exchanged`` email adds: what the replacement order sends
    (``items``) and the exchange's price difference (``difference``, formatted, "" when
    there is none) with how it was settled (``difference_settled``: ``charged`` on the
    card, ``refunded``, ``refund_pending`` when the refund was refused and operations
    settle it, "" when there is none)."""
    diff = view.exchange_difference or Decimal("0.00")
    if diff > 0:
        settled = "charged"
    elif diff < 0:
        settled = "refunded" if difference_refunded else "refund_pending"
    else:
        settled = ""
    return {
        "items": [{"sku": ln.sku, "quantity": ln.quantity} for ln in sent],
        "difference": format_money(abs(diff), inp.currency, inp.customer.locale) if diff else "",
        "difference_settled": settled,
    }


def refunded_context(
    inp: ReturnInput, credit_notes: Iterable[str], not_charged: Decimal | None
) -> dict[str, Any]:
    """What the ``return_refunded`` email adds: the credit notes an invoice-term order's
    return was refunded with (``credit_notes``, empty for a card refund), and, when an
    exchange became this refund because its difference could not be charged, that
    difference (``exchange_not_charged``, formatted, else "")."""
    return {
        "credit_notes": list(credit_notes),
        "exchange_not_charged": (
            format_money(not_charged, inp.currency, inp.customer.locale) if not_charged else ""
        ),
    }


def ops_context(inp: ReturnInput, problem: str) -> dict[str, Any]:
    return {"rma_id": inp.rma_id, "order_id": inp.order_id, "problem": problem}
