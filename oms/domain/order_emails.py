"""Pure rule for resending an order's customer emails: which ones the order has sent.

``POST /ops/orders/{id}/resend`` sends one again; the order's update validator refuses one
it never sent (an order held for a declined card was never confirmed, so it has no
"confirmed" email to send again).
"""

from __future__ import annotations

from collections.abc import Collection

# The event that has happened once an order sent ``order_on_hold``: its payment was held
# (a declined card, or credit over the limit). A review or purchase-order hold sends none.
PAYMENT_HELD = "payment_held"
# What must have happened to an order before each of its customer emails exists, so
# ``POST /ops/orders/{id}/resend`` may send it again: the status it is sent on entering
# (anywhere in the order's history), or :data:`PAYMENT_HELD`. The emails of one change among
# several (``order_changed`` per edit, ``order_line_cancelled`` per line cancellation,
# ``order_claim_settled`` per claim) are not here: a resend names an email, not which change.
# ``order_completed`` says again what each claim refunded or reshipped.
SENT_AFTER: dict[str, str] = {
    "order_confirmed": "confirmed",
    "order_backordered": "backordered",
    "order_on_hold": PAYMENT_HELD,
    "order_cancelled": "cancelled",
    "order_completed": "completed",
}


def not_sent(notification: str, happened: Collection[str]) -> str | None:
    """Why the order cannot resend ``notification``: it never sent it (None when it did).

    ``happened``: the statuses in the order's history, and :data:`PAYMENT_HELD` when its
    payment was held."""
    after = SENT_AFTER.get(notification)
    if after is None:
        return f"{notification} is not one of an order's emails"
    if after in happened:
        return None
    when = (
        "its payment was held (a declined card or credit over the limit)"
        if after == PAYMENT_HELD
        else f"it is {after}"
    )
    return f"the order never sent {notification}: it is sent once {when}"
