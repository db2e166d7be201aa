"""Notification activities: customer and ops email, sent once per business key.

The outbox table (``notifications``) holds one row per key. A retried or
repeated ``email.send`` for a key already marked ``sent`` returns
``already_sent=True`` and sends nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.email_smtp import Mailer, message_id_for
from activities.adapters.errors import EmailRejected, TemplateError
from oms.models.notifications import EmailRequest, EmailResult
from oms.store.db import Database
from oms.store.tables import NotificationRow, utcnow


class EmailActivities:
    """Email activities bound to one mailer and one store; the worker registers ``send``.

    ``send`` is synchronous (smtplib and the session are blocking): register it
    on a worker with an ``activity_executor``.
    """

    def __init__(self, mailer: Mailer, db: Database) -> None:
        self.mailer = mailer
        self.db = db

    @activity.defn(name="email.send")
    def send(self, request: EmailRequest) -> EmailResult:
        """Send ``request.template`` to ``request.to`` unless the key was already sent.

        Raises ``ApplicationError(type="TemplateError", non_retryable=True)``
        for an unknown template or a missing context variable (no outbox row
        is kept), ``ApplicationError(type="EmailRejected", non_retryable=True)``
        when the SMTP server refuses the message for good (the row stays
        ``pending``), and lets ``EmailUnavailable`` and database errors
        propagate so Temporal retries them.
        """
        message_id = message_id_for(request.key)
        # The SMTP call stays outside any transaction: holding one open while a
        # server answers would block every other writer on SQLite.
        with self.db.session() as session:
            row = _get_or_create(session, request, message_id)
            if row.status == "sent":
                return EmailResult(key=row.key, message_id=row.message_id, already_sent=True)
            try:
                rendered = self.mailer.render(request.template, request.locale, request.context)
            except TemplateError as exc:
                # Raising inside the transaction rolls the new row back: nothing was sent.
                raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from exc
            row.subject = rendered.subject[:300]
            row.attempts += 1

        # At-least-once window: if this process dies after the server accepted
        # the message but before the update below commits, the retry sends it
        # again. Both copies carry the same Message-ID and X-OMS-Key (derived
        # from the key), so mail stores and clients that dedupe on Message-ID
        # show it once. Closing the window entirely would need a transaction
        # spanning the SMTP server, which SMTP does not offer.
        try:
            self.mailer.send(request.key, request.to, rendered, request.attachments)
        except EmailRejected as exc:
            raise ApplicationError(str(exc), type="EmailRejected", non_retryable=True) from exc

        with self.db.session() as session:
            sent = session.get(NotificationRow, request.key)
            if sent is None:  # pragma: no cover - rows are never deleted
                raise RuntimeError(f"outbox row {request.key!r} vanished")
            sent.status = "sent"
            sent.sent_at = utcnow()
        activity.logger.info("sent %s to %s (key %s)", request.template, request.to, request.key)
        return EmailResult(key=request.key, message_id=message_id, already_sent=False)


def _get_or_create(session: Session, request: EmailRequest, message_id: str) -> NotificationRow:
    """The outbox row for ``request.key``, inserted as ``pending`` if there is none."""
    row = session.get(NotificationRow, request.key)
    if row is not None:
        return row
    try:
        # A SAVEPOINT, so losing an insert race to a concurrent attempt keeps the transaction.
        with session.begin_nested():
            row = NotificationRow(
                key=request.key,
                recipient=request.to,
                template=request.template,
                subject="",
                message_id=message_id,
                status="pending",
                attempts=0,
            )
            session.add(row)
    except IntegrityError:
        existing = session.scalars(
            select(NotificationRow).where(NotificationRow.key == request.key)
        ).one()
        return existing
    return row
