"""What a subscription shows: its Temporal UI details and its email contexts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.domain.lifecycle import Step
from oms.domain.money import format_money
from oms.models.subscriptions import SubscriptionView
from oms.views.common import heading, when


def details(view: SubscriptionView, step: Step, since: datetime) -> str:
    """The subscription's state in Markdown, as the Temporal UI shows it."""
    items = ", ".join(f"{ln.quantity} x {ln.sku}" for ln in view.lines)
    lines = heading(
        f"**Subscription {view.subscription_id}** · `{view.status}` · every {view.interval}",
        step,
        when(since),
    )
    lines += [
        f"- each renewal: {items}",
        "- next renewal: "
        + (when(view.next_renewal_at) if view.next_renewal_at else "none scheduled"),
        f"- orders placed: {len(view.orders)}"
        + (f", last {view.orders[-1].order_id}" if view.orders else ""),
    ]
    if view.paused_until:
        lines.append(f"- paused until {when(view.paused_until)}")
    if view.cancel_at_period_end:
        lines.append("- **ends** at the end of this period")
    if view.dunning:
        retry = view.dunning.next_retry_at
        lines.append(
            f"- **payment declined** for {view.dunning.order_id}: "
            + (
                f"retry {view.dunning.retries} {when(retry)}"
                if retry
                else f"{view.dunning.retries} retries made, all declined"
            )
        )
    if view.last_error:
        lines.append(f"- last error: {view.last_error}")
    return "\n".join(lines)


def email_context(view: SubscriptionView, **extra: Any) -> dict[str, Any]:
    """What every subscription email may use (amounts in the customer's locale)."""
    locale = view.customer.locale
    return {
        "customer_name": view.customer.name,
        "subscription_id": view.subscription_id,
        "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in view.lines],
        "next_renewal": when(view.next_renewal_at) if view.next_renewal_at else "",
        "last_total": (
            format_money(view.last_total, view.currency, locale)
            if view.last_total is not None
            else ""
        ),
        **extra,
    }


def money(view: SubscriptionView, amount: Decimal) -> str:
    """``amount`` in the subscription's currency, written the customer's way."""
    return format_money(amount, view.currency, view.customer.locale)
