"""Business events as data: which lifecycle transitions an integration hears about.

One table maps a workflow kind's status (from ``oms/domain/lifecycle.py``) to the event
type a webhook endpoint subscribes to; :func:`transitions` finds the new transitions of a
view being written by comparing its history with the stored one, and :func:`event_id`
names each one deterministically, so a retried write finds the same id and never emits
twice. The store calls these in the read-model write's own transaction (a transactional
outbox, ``oms/store/events.py``).

Pure: no I/O, no Temporal imports.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from oms.domain.lifecycle import LIFECYCLES

# (kind, status) -> event type. A new event is one row (its status must be declared).
STATUS_EVENTS: dict[tuple[str, str], str] = {
    ("order", "received"): "order.received",
    ("order", "confirmed"): "order.confirmed",
    ("order", "on_hold"): "order.on_hold",
    ("order", "backordered"): "order.backordered",
    ("order", "allocated"): "order.allocated",
    ("order", "shipped"): "order.shipped",
    ("order", "delivered"): "order.delivered",
    ("order", "completed"): "order.completed",
    ("order", "cancelled"): "order.cancelled",
    ("shipment", "shipped"): "shipment.shipped",
    ("shipment", "delivered"): "shipment.delivered",
    ("return", "requested"): "return.requested",
    ("return", "received"): "return.received",
    ("return", "refunded"): "return.refunded",
    ("quote", "submitted"): "quote.submitted",
    ("quote", "approved"): "quote.approved",
    ("quote", "accepted"): "quote.accepted",
    ("quote", "expired"): "quote.expired",
    # A subscription's first entry is its creation (below); active again is a resume.
    ("subscription", "active"): "subscription.resumed",
    ("subscription", "paused"): "subscription.paused",
    ("subscription", "past_due"): "subscription.past_due",
    ("subscription", "cancelled"): "subscription.cancelled",
}
# (kind, from status, to status) -> event: a move that means a status's event though it
# skips that status. A filled backorder goes from backordered straight to picking: an
# integration that heard order.backordered hears order.allocated when it is filled.
MOVE_EVENTS: dict[tuple[str, str, str], str] = {
    ("order", "backordered", "picking"): "order.allocated",
}
# kind -> the event of its view's first history entry (instead of that status's event).
CREATED_EVENTS: dict[str, str] = {"subscription": "subscription.created"}
# (kind, history action) -> event: a step worth an event that changes no status. An
# order's changes after placement move its lines and total (an integration billing from
# order.completed would bill the old total without them); a settled claim refunds or
# sends again. A short pick is not one of them: under the ``cancel`` policy it cancels
# the missing units as line cancels (``cancel_line`` entries, an event each); under
# ``backorder`` its ``short_pick`` note owes them, and the lines and total stay as they were.
ORDER_CHANGED = "order.changed"
ACTION_EVENTS: dict[tuple[str, str], str] = {
    ("subscription", "renewed"): "subscription.renewed",
    ("order", "edit"): ORDER_CHANGED,
    ("order", "cancel_line"): ORDER_CHANGED,
    ("order", "claim"): "order.claimed",
}
# Events of the replenishment store's own writes (no view history behind them).
STOCK_LOW = "stock.low"
PURCHASE_ORDER_SENT = "purchase_order.sent"
PURCHASE_ORDER_RECEIVED = "purchase_order.received"

EVENT_TYPES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *STATUS_EVENTS.values(),
            *CREATED_EVENTS.values(),
            *ACTION_EVENTS.values(),
            STOCK_LOW,
            PURCHASE_ORDER_SENT,
            PURCHASE_ORDER_RECEIVED,
        )
    )
)


def _check_declared() -> None:
    moves = [(kind, status) for kind, *pair in MOVE_EVENTS for status in pair]
    for kind, status in [*STATUS_EVENTS, *moves]:
        if status not in LIFECYCLES[kind].statuses:
            raise ValueError(f"event for undeclared status {kind}/{status}")


_check_declared()


@dataclass(frozen=True)
class Transition:
    """A status the view entered: the history entry's index, the event type, when, and
    the status that entry records."""

    index: int
    type: str
    at: Any
    status: str


def transitions(
    kind: str, previous: Sequence[dict[str, Any]] | None, history: Sequence[Any]
) -> list[Transition]:
    """The events of the history entries ``history`` adds to ``previous`` (the stored
    view's history as JSON; None when the view is new).

    An entry is a transition when its status differs from the entry before it; notes
    under the same status are not, unless their action has an event of its own
    (``ACTION_EVENTS``). A status without an event of its own may have one for the status
    it came from (``MOVE_EVENTS``). A kind in ``CREATED_EVENTS`` reports its first entry as its
    creation. A history shorter than the stored one adds nothing.
    """
    start = len(previous) if previous is not None else 0
    found = []
    for index in range(start, len(history)):
        status = _status(history[index])
        action = _action(history[index])
        event: str | None
        if index == 0 and kind in CREATED_EVENTS:
            event = CREATED_EVENTS[kind]
        elif action is not None and (kind, action) in ACTION_EVENTS:
            event = ACTION_EVENTS[(kind, action)]
        elif index > 0 and _status(history[index - 1]) == status:
            continue
        else:
            event = STATUS_EVENTS.get((kind, status))
            if event is None and index > 0:
                event = MOVE_EVENTS.get((kind, _status(history[index - 1]), status))
        if event is not None:
            found.append(Transition(index=index, type=event, at=_at(history[index]), status=status))
    return found


def _status(entry: Any) -> str:
    return str(entry["status"] if isinstance(entry, dict) else entry.status)


def _action(entry: Any) -> str | None:
    action = entry.get("action") if isinstance(entry, dict) else entry.action
    return None if action is None else str(action)


def _at(entry: Any) -> Any:
    return entry["at"] if isinstance(entry, dict) else entry.at


def event_id(type_: str, object_id: str, key: object) -> str:
    """``evt_`` + a hash of the event's type, its object and what makes it unique there
    (the history entry's index, a purchase order): the same on every retried write."""
    digest = hashlib.sha256(f"{type_}\x00{object_id}\x00{key}".encode()).hexdigest()
    return f"evt_{digest[:28]}"


def matches(patterns: Iterable[str], type_: str) -> bool:
    """Whether an endpoint subscribed to ``patterns`` (``order.*``, ``return.refunded``,
    ``*``) receives ``type_``."""
    return any(fnmatch.fnmatchcase(type_, pattern) for pattern in patterns)


def valid_pattern(pattern: str) -> bool:
    """Whether ``pattern`` names at least one event type (so a typo is refused)."""
    return any(matches([pattern], t) for t in EVENT_TYPES)
