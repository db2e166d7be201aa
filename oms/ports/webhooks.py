"""The webhook sender port: one signed POST of an event to an endpoint.

``activities/adapters/webhook_http.py`` implements it with httpx and the
``standardwebhooks`` signature. An implementation never raises for what the receiver
answers or for a network failure: it returns a ``SendResult`` saying what happened, so
the relay records every attempt and schedules the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from oms.models.webhooks import SendResult, WebhookMessage


class WebhookSender(Protocol):
    def send(self, message: WebhookMessage) -> SendResult:
        """POST ``message.body`` to ``message.url``, signed with ``message.secret`` under
        ``webhook-id: message.event_id``; ok on a 2xx answer."""
        ...
