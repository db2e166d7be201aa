"""The webhook relay's one activity: deliver an endpoint's next events, oldest first.

It long-polls the store for the endpoint's pending deliveries (every ``poll_s``, for up
to ``idle_s``, heartbeating), then sends them one at a time in event order and records
every attempt. It stops at the first failure that is to be retried, answering when, so
the workflow can wait on a durable timer and nothing later overtakes that event; a
delivery past its retry schedule is dead and the next one goes.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from temporalio import activity

from oms.domain.webhooks import RetrySchedule
from oms.models.webhooks import DeliverRequest, DeliverResult, SendResult, WebhookMessage
from oms.ports.webhooks import WebhookSender

if TYPE_CHECKING:
    from oms.store.webhooks import Recorded, Target


class Deliveries(Protocol):
    """What the activity needs of the store (``oms.store.webhooks.WebhookStore``)."""

    def due(self, endpoint_id: str, limit: int = 50) -> Target | None: ...

    def has_due(self, endpoint_id: str) -> bool: ...

    def record_attempt(
        self, endpoint_id: str, seq: int, result: SendResult, schedule: RetrySchedule
    ) -> Recorded: ...


def body_bytes(body: dict[str, object]) -> str:
    """The delivery body as sent and signed: compact JSON, UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class WebhookActivities:
    def __init__(
        self,
        store: Deliveries,
        sender: WebhookSender,
        schedule: RetrySchedule,
        *,
        poll_s: float = 0.5,
        idle_s: float = 30.0,
    ) -> None:
        self._store, self._sender, self._schedule = store, sender, schedule
        self._poll_s, self._idle_s = poll_s, idle_s

    def _stopping(self) -> bool:
        return activity.is_cancelled() or activity.is_worker_shutdown()

    @activity.defn(name="webhooks.deliver")
    def deliver(self, req: DeliverRequest) -> DeliverResult:
        """Deliver what the endpoint is owed; returns when idle for ``idle_s``, after
        working that long, at a failure to retry later (``retry_at``), or when the
        endpoint is gone. Store errors propagate (Temporal retries the activity)."""
        started = time.monotonic()
        while not self._store.has_due(req.endpoint_id):
            if time.monotonic() - started > self._idle_s or self._stopping():
                return DeliverResult()
            activity.heartbeat()
            time.sleep(self._poll_s)
        result = DeliverResult()
        while time.monotonic() - started <= self._idle_s and not self._stopping():
            target = self._store.due(req.endpoint_id)
            if target is None:
                result.gone = True
                return result
            if not target.due:
                return result
            for item in target.due:
                if item.next_attempt_at is not None and item.next_attempt_at > datetime.now(UTC):
                    result.retry_at = item.next_attempt_at
                    return result
                message = WebhookMessage(
                    url=target.url,
                    event_id=item.event_id,
                    body=body_bytes(item.body),
                    secret=target.secret,
                )
                sent = self._sender.send(message)
                recorded = self._store.record_attempt(
                    req.endpoint_id, item.seq, sent, self._schedule
                )
                activity.heartbeat()
                if recorded.outcome == "delivered":
                    result.delivered += 1
                elif recorded.outcome == "dead":
                    result.dead += 1
                else:
                    result.retry_at = recorded.next_attempt_at
                    return result
                if self._stopping():
                    return result
        return result
