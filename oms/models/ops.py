"""Models of operations: what is stuck and why, and the interventions that unblock it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from oms.models.common import ByCaller, Model

StuckReason = Literal[
    "activity_retrying",
    "workflow_task_failing",
    "backordered_too_long",
    "needs_a_person",
    "past_deadline",
    # A webhook delivery given up on after its retry schedule (replay resends it).
    "delivery_dead",
    # The API refused one of the OMS's own callers (401/403): what it serves stalls.
    "caller_refused",
]


class StuckItem(Model):
    """One workflow that is not moving: what it waits for, since when, and what would help."""

    kind: str
    workflow_id: str
    business_id: str
    status: str | None = None
    stage: str | None = None
    waiting_for: str | None = None
    warehouse: str | None = None
    since: datetime | None = None
    deadline: datetime | None = None
    reason: StuckReason
    last_error: str | None = None
    attempts: int | None = None
    activity: str | None = None
    next_retry_at: datetime | None = None
    suggested_action: str
    ui_url: str


class StuckList(Model):
    items: list[StuckItem]
    count: int
    # The visibility query behind the list, and the Temporal UI's list view filtered on it.
    query: str
    ui_list_url: str = ""
    # The same set as a query on OmsStage and OmsWaitingSince (one clause per stage clock).
    stage_query: str = ""
    ui_stage_list_url: str = ""
    took_ms: float


class OpsNote(Model):
    """An operator's intervention, recorded in the workflow's own history."""

    by: str = Field(min_length=1, max_length=100)
    action: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class Intervention(ByCaller):
    """Body of every ``/ops`` action: who does it and why (both kept in history).

    ``by`` is filled by the API from the caller's bearer token; a value sent is ignored.
    """

    reason: str = Field(min_length=1, max_length=500)


class ForceCancel(Intervention):
    """Body of ``POST /ops/orders/{id}/cancel``: the operator's reason is internal (history,
    audit); ``customer_note`` is what the customer's email says of why, sent as written
    (without it: none)."""

    # What the customer's email says of why, sent as written (the reason is internal: the
    # order's history, audit and ops alerts). Without it the email gives no reason.
    customer_note: str | None = Field(default=None, min_length=1, max_length=500)


class ReleaseHold(Intervention):
    """Release an order held for payment: retry the card (optionally a new token) or,
    for an order over its credit limit, approve it as ``role`` (the caller's own role;
    only an admin may name another)."""

    role: str = "ops"
    payment_token: str | None = Field(default=None, max_length=64)


class ResendNotification(Intervention):
    notification: Literal[
        "order_confirmed",
        "order_backordered",
        "order_on_hold",
        "order_cancelled",
        "order_completed",
    ]


class RerouteShipment(Intervention):
    """Move a shipment that has not shipped to another warehouse (or the nearest other)."""

    shipment_id: str = Field(min_length=1, max_length=80)
    warehouse_id: str | None = Field(default=None, max_length=32)


class InterventionResult(Model):
    workflow_id: str
    action: str
    detail: str
