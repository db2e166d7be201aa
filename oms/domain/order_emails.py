"""Pure rule for resending an order's customer emails: which ones the order has sent.

``POST /ops/orders/{id}/resend`` sends one again; the order's update validator refuses one
it never sent (an order held for a declined card was never confirmed, so it has no
"confirmed" email to send again).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

# The event that has happened once an order sent ``order_on_hold``: its payment was held
# (a declined card, or credit over the limit). A review or purchase-order hold sends none.
PAYMENT_HELD = "payment_held"
# The event that has happened once an order sent ``order_backordered``. Entering the
# ``backordered`` status is not enough: a re-route, a short pick or a claim's reship that
# left units owed sent no email before the patches ``order-reroute-backorder-email``,
# ``order-short-pick-email`` and ``order-claim-backorder-email``.
BACKORDER_EMAILED = "backorder_emailed"
# What must have happened to an order before each of its customer emails exists, so
# ``POST /ops/orders/{id}/resend`` may send it again: the status it is sent on entering
# (anywhere in the order's history), :data:`PAYMENT_HELD` or :data:`BACKORDER_EMAILED`. The
# emails of one change among several (``order_changed`` per edit, ``order_line_cancelled``
# per line cancellation, ``order_short_picked`` per short pick, ``order_claim_settled`` per
# claim) are not here: a resend names an email, not which change. ``order_completed`` says
# again what each claim refunded or reshipped.
SENT_AFTER: dict[str, str] = {
    "order_confirmed": "confirmed",
    "order_backordered": BACKORDER_EMAILED,
    "order_on_hold": PAYMENT_HELD,
    "order_cancelled": "cancelled",
    "order_completed": "completed",
}


# The template ``order_on_hold`` is sent with when the order pays on invoice terms: such an
# order is held only over its company's credit limit, for the merchant's finance team (no
# card, nothing the buyer can retry). Resent under the same notification name.
CREDIT_HOLD_TEMPLATE = "order_credit_hold"


# Why the OMS itself cancels an order (``CancelOrder(requested_by="system")``), as its
# history, its ``cancel_reason`` and the email's ``reason`` say it (English, for the
# merchant). The customer's email words each by its code (:func:`cancel_why`) in their
# language; a reason without a code (a person's, or one an older run wrote) is shown as
# written.
SYSTEM = "system"
PAYMENT_NOT_COMPLETED = "payment not completed in time"
REAUTH_NOT_COMPLETED = "payment could not be authorized again in time"
CREDIT_REFUSED = "the order is over the company's credit limit"
CREDIT_NOT_APPROVED = "the company's credit for the order was not approved in time"
PO_NOT_APPROVED = "purchase order not approved in time"
CANCEL_WHY = {
    PAYMENT_NOT_COMPLETED: "payment_not_completed",
    REAUTH_NOT_COMPLETED: "payment_not_reauthorized",
    CREDIT_REFUSED: "credit_refused",
    CREDIT_NOT_APPROVED: "credit_not_approved",
    PO_NOT_APPROVED: "purchase_order_not_approved",
}


def cancel_why(reason: str, requested_by: str | None) -> dict[str, str]:
    """The ``why`` of an ``order_cancelled`` or ``order_rest_cancelled`` email: the code of
    a reason the OMS cancelled for, which the templates word in the customer's language;
    empty for anyone else's reason, and for one without a code (shown as written)."""
    why = CANCEL_WHY.get(reason) if requested_by == SYSTEM else None
    return {"why": why} if why is not None else {}


# The emails of a change a caller asks for (a line cancellation, an edit), which carry the
# note the caller chose for the customer (``customer_note``), never the caller's reason.
NOTED_CHANGE_EMAILS = frozenset({"order_line_cancelled", "order_changed"})


def told_why(reason: str, requested_by: str | None, customer_note: str | None) -> dict[str, str]:
    """What an ``order_cancelled`` or ``order_rest_cancelled`` email may say of why, as
    context: the OMS's own reason as its ``why`` code (:func:`cancel_why`, which the
    templates word in the customer's language) and ``customer_note``, shown as written where
    the template words no code: the note the canceller chose for the customer, or the OMS's
    own reason as written. Nothing for a person's reason without a note.

    A person's reason is internal (the order's history, audit, ops alerts): an operator's
    "fraud suspected" reached the customer as "Orsak: fraud suspected" before. A buyer's own
    reason reaches them as their note (:func:`note_for_customer`)."""
    told = cancel_why(reason, requested_by)
    note = customer_note or (reason if requested_by == SYSTEM else None)
    if note:
        told["customer_note"] = note
    return told


def note_for_customer(buyer: bool, reason: str, customer_note: str | None) -> str | None:
    """The note a change's email shows the customer (a whole or part cancel, an edit): the
    one the caller chose to send; else, when the caller is the buyer (``buyer``: role
    ``buyer``), their own reason, their own words shown back to them as before; else none
    (staff's reason is internal)."""
    if customer_note:
        return customer_note
    return reason if buyer else None


def template_for(notification: str, payment_method: str) -> str:
    """The template that sends ``notification`` for an order paid by ``payment_method``:
    the notification's own, except ``order_on_hold`` of an invoice-term order
    (:data:`CREDIT_HOLD_TEMPLATE`)."""
    if notification == "order_on_hold" and payment_method == "invoice":
        return CREDIT_HOLD_TEMPLATE
    return notification


def happened(
    statuses: Iterable[str], *, payment_held: bool = False, backorder_emailed: bool | None
) -> set[str]:
    """What :func:`not_sent` needs to know of an order: the statuses in its history, and
    :data:`PAYMENT_HELD` and :data:`BACKORDER_EMAILED` when they happened.

    ``backorder_emailed`` None: an order from before the OMS kept it (``OrderView``); its
    history's ``backordered`` status is taken to mean the email went out, as it did but
    after a re-route."""
    seen = set(statuses)
    if payment_held:
        seen.add(PAYMENT_HELD)
    if backorder_emailed or (backorder_emailed is None and "backordered" in seen):
        seen.add(BACKORDER_EMAILED)
    return seen


def not_sent(notification: str, happened: Collection[str]) -> str | None:
    """Why the order cannot resend ``notification``: it never sent it (None when it did).

    ``happened``: what :func:`happened` gives for the order."""
    after = SENT_AFTER.get(notification)
    if after is None:
        return f"{notification} is not one of an order's emails"
    if after in happened:
        return None
    if after == PAYMENT_HELD:
        when = "its payment was held (a declined card or credit over the limit)"
    elif after == BACKORDER_EMAILED:
        when = "units of it are backordered (an older re-route that backordered some did not)"
    else:
        when = f"it is {after}"
    return f"the order never sent {notification}: it is sent once {when}"
