"""Models of outbound events: webhook endpoints, deliveries, the events feed, the relay."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from oms.models.common import Model

Outcome = Literal["delivered", "failed", "dead"]


class EndpointIn(Model):
    """Register ``url`` for the event types matching ``events`` (``order.*``, ``*``)."""

    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=500)


class Endpoint(Model):
    endpoint_id: str
    url: str
    events: list[str]
    description: str = ""
    created_at: datetime


class EndpointCreated(Endpoint):
    """A new endpoint and its signing secret (``whsec_...``): shown once, keep it."""

    secret: str


class DeliveryAttempt(Model):
    """One attempt to deliver an event: its answer, and when the next one is due."""

    event_id: str
    type: str
    attempt: int
    at: datetime
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0
    next_retry_at: datetime | None = None


class Deliveries(Model):
    """One page of an endpoint's attempts (newest first) and its pending and dead counts;
    pass ``next_cursor`` back as ``cursor`` for older attempts."""

    endpoint_id: str
    pending: int
    dead: int
    attempts: list[DeliveryAttempt]
    next_cursor: str | None = None


class DeadDelivery(Model):
    """An event an endpoint never took, after retrying for days (``/ops/stuck``)."""

    endpoint_id: str
    url: str
    event_id: str
    type: str
    attempts: int
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None


class ReplayIn(Model):
    """Send again every event since ``since`` (delivered, dead or never owed)."""

    since: datetime


class ReplayResult(Model):
    endpoint_id: str
    requeued: int


class Event(Model):
    """The body of every delivery, and an item of the feed."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]


class EventPage(Model):
    """``GET /events``: events after the cursor, oldest first, and the next cursor."""

    events: list[Event]
    next_cursor: str


# --- the relay workflow and its activity -------------------------------------------------


class RelayInput(Model):
    endpoint_id: str
    task_queue_prefix: str = ""
    # Longer than one delivery attempt may take (OMS_WEBHOOKS_TIMEOUT_S).
    heartbeat_s: float = 30.0


class RelayResult(Model):
    endpoint_id: str
    stopped: bool = True


class Wake(Model):
    """Look at the endpoint's deliveries now (replayed, or the endpoint removed)."""

    reason: str = ""


class DeliverRequest(Model):
    endpoint_id: str


class DeliverResult(Model):
    """What one relay activity did: ``gone`` when the endpoint was removed; ``retry_at``
    when the first undelivered event failed and waits for its next attempt."""

    gone: bool = False
    delivered: int = 0
    dead: int = 0
    retry_at: datetime | None = None


class WebhookMessage(Model):
    """One signed POST: ``body`` exactly as sent, under ``event_id`` (``webhook-id``)."""

    url: str
    event_id: str
    body: str
    secret: str


class SendResult(Model):
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0
