"""Notification activities: customer and ops email, at least once per business key.

The outbox table (``notifications``) holds one row per key: ``pending`` (created once)
-> ``sent`` (marked after the SMTP server's 250). A retried or repeated ``email.send``
for a key already ``sent`` returns ``already_sent=True`` and sends nothing. An attempt
that dies or loses the database after the server's reply and before the mark leaves
the row ``pending``: the retry sends the message again with the same ``Message-ID`` and
``X-OMS-Key``, which is how the receiver tells the two apart (README, "Email"). Never
lost, rarely twice: what SMTP, which has no transaction to join, can honestly give.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from temporalio import activity

from activities.rejections import rejected
from oms.models.notifications import EmailRequest, EmailResult
from oms.ports.email import Mailer, message_id_for
from oms.ports.errors import EmailRejected, TemplateError

if TYPE_CHECKING:
    from oms.ports.email import RenderedEmail


class Outbox(Protocol):
    """The outbox rows, one per business key (``oms.store.outbox.Outbox``)."""

    def begin(
        self, request: EmailRequest, message_id: str, render: Callable[[], RenderedEmail]
    ) -> RenderedEmail | None: ...

    def mark_sent(self, key: str, deadline: float) -> None: ...


class EmailActivities:
    """Email activities bound to one mailer and one outbox; the worker registers ``send``.

    ``send`` is synchronous (SMTP and the outbox's transactions are blocking):
    register it on a worker with an ``activity_executor``.
    """

    def __init__(self, mailer: Mailer, outbox: Outbox) -> None:
        self.mailer = mailer
        self.outbox = outbox

    @activity.defn(name="email.send")
    def send(self, request: EmailRequest) -> EmailResult:
        """Send ``request.template`` to ``request.to`` unless the key was already sent.

        Raises ``ApplicationError(type="TemplateError", non_retryable=True)``
        for an unknown template or a missing context variable (no outbox row
        is kept), ``ApplicationError(type="EmailRejected", non_retryable=True)``
        when the SMTP server refuses the message for good (the row stays
        ``pending``), and lets ``EmailUnavailable`` (server down, 4xx, TLS or AUTH
        misconfigured) and database errors propagate so Temporal retries them.
        """
        message_id = message_id_for(request.key)
        # The SMTP call stays outside any transaction: holding one open while a server
        # answers would block every other writer on SQLite.
        try:
            rendered = self.outbox.begin(
                request,
                message_id,
                lambda: self.mailer.render(request.template, request.locale, request.context),
            )
        except TemplateError as exc:
            # Raised inside the outbox's transaction, which rolled the new row back.
            raise rejected(exc, "TemplateError") from exc
        if rendered is None:
            return EmailResult(key=request.key, message_id=message_id, already_sent=True)

        try:
            self.mailer.send(request.key, request.to, rendered, request.attachments)
        except EmailRejected as exc:
            raise rejected(exc, "EmailRejected") from exc

        # The server has the message. From here to the commit of the mark is the window
        # where a kill sends it twice; the mark waits out a short database outage rather
        # than widen it to a whole retry.
        deadline = time.monotonic() + _DB_WAIT_SHARE * _start_to_close_s()
        self.outbox.mark_sent(request.key, deadline)
        # Not the address: logs are kept in clear, and the key names the order or quote.
        activity.logger.info("sent %s (key %s)", request.template, request.key)
        return EmailResult(key=request.key, message_id=message_id, already_sent=False)


# Share of the activity's start-to-close timeout an attempt may spend waiting for the
# database to record a message the server accepted.
_DB_WAIT_SHARE = 0.5


def _start_to_close_s() -> float:
    timeout = activity.info().start_to_close_timeout
    return timeout.total_seconds() if timeout else 30.0
