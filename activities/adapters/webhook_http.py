"""Webhook deliveries over HTTP, signed as the Standard Webhooks specification says.

Headers ``webhook-id`` (the event id, the same on every retry), ``webhook-timestamp``
(this attempt's, in seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of
``id.timestamp.body`` with the endpoint's ``whsec_`` secret), computed by the
``standardwebhooks`` package. Before each attempt the URL's host is resolved and refused
when any address is link-local or a metadata service's; redirects are not followed.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from activities.adapters.tls import client_context
from oms.domain.webhooks import address_forbidden
from oms.models.webhooks import SendResult, WebhookMessage

USER_AGENT = "temporal-oms-webhooks/1"


def signed_headers(message: WebhookMessage, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``message`` sent at ``now``."""
    signature = Webhook(message.secret).sign(message.event_id, now, message.body)
    return {
        "webhook-id": message.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _forbidden_target(url: str) -> str | None:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as err:
        return f"cannot resolve {host}: {err}"
    for info in infos:
        if address_forbidden(str(info[4][0])):
            return f"{host} resolves to {info[4][0]}, which never receives events"
    return None


class HttpWebhookSender:
    """A ``WebhookSender`` with one pooled httpx client and short timeouts."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            follow_redirects=False,
            verify=client_context(),
        )

    def send(self, message: WebhookMessage) -> SendResult:
        started = time.perf_counter()

        def took() -> float:
            return round((time.perf_counter() - started) * 1000, 1)

        refused = _forbidden_target(message.url)
        if refused is not None:
            return SendResult(ok=False, error=refused, duration_ms=took())
        headers = signed_headers(message, datetime.now(UTC))
        try:
            response = self._http.post(message.url, content=message.body, headers=headers)
        except httpx.TimeoutException as err:
            return SendResult(ok=False, error=f"timeout: {err!r}", duration_ms=took())
        except httpx.HTTPError as err:
            return SendResult(ok=False, error=f"{type(err).__name__}: {err}", duration_ms=took())
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
        return SendResult(ok=ok, status_code=response.status_code, error=error, duration_ms=took())

    def close(self) -> None:
        self._http.close()
