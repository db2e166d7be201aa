"""The email outbox (table ``notifications``): one row per business key, at-least-once.

A row is created ``pending`` once per key (the key is its primary key) and becomes
``sent`` after the SMTP server answered 250 to the message. A key already ``sent`` is
never sent again; a process that dies (or loses the database) between the server's
reply and the ``sent`` mark leaves the row ``pending``, and the retry sends the message
again, with the same ``Message-ID``: the one duplicate SMTP cannot rule out.
``activities/notifications.py`` drives it through the ``Outbox`` port; this is the
SQLAlchemy implementation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from oms.store.db import Bound, get_or_insert
from oms.store.tables import NotificationRow, utcnow

if TYPE_CHECKING:
    from oms.models.notifications import EmailRequest
    from oms.ports.email import RenderedEmail

log = logging.getLogger(__name__)

# Left by the exactly-once outbox this one replaced: that attempt had written the final
# "." of DATA, so the server most likely holds the message. Read as sent.
_LEGACY_SENDING = "sending"


class Outbox(Bound):
    """The outbox rows of one database; every method runs transactions of its own."""

    def begin(
        self, request: EmailRequest, message_id: str, render: Callable[[], RenderedEmail]
    ) -> RenderedEmail | None:
        """Start an attempt at ``request.key``: the rendered message to send, or ``None``
        when the key was already sent (nothing to do).

        Creates the ``pending`` row on the first attempt and counts the attempt.
        ``render`` runs inside the transaction: what it raises rolls a new row back and
        propagates. Raises ``sqlalchemy.exc.DBAPIError`` when the database is away.
        """
        with self.db.session() as session:
            row = _get_or_create(session, request, message_id)
            if row.status == _LEGACY_SENDING:
                row.status = "sent"
                row.sent_at = utcnow()
            if row.status == "sent":
                return None
            rendered = render()
            row.subject = rendered.subject[:300]
            row.attempts += 1
            return rendered

    def mark_sent(self, key: str, deadline: float) -> None:
        """Record that the server accepted the message for ``key``, retrying database
        errors until ``deadline`` (``time.monotonic()``), so a short outage right after
        the server's reply costs no duplicate; raises the last one past it (the row
        stays ``pending`` and the retry sends the message again)."""

        # One statement in one round trip (no read first, no BEGIN and COMMIT on PostgreSQL):
        # every round trip here, and the wait for the GIL after it, widens the window in
        # which a killed worker doubles the email.
        sent = (
            update(NotificationRow)
            .where(NotificationRow.key == key, NotificationRow.status != "sent")
            .values(status="sent", sent_at=utcnow())
        )
        delay = 0.1
        while True:
            try:
                self.db.execute_alone(sent)
                return
            except DBAPIError as exc:  # connection lost or refused, database locked
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("outbox %s: database unavailable, retrying: %s", key, exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)


def _get_or_create(session: Session, request: EmailRequest, message_id: str) -> NotificationRow:
    """The outbox row for ``request.key``, inserted as ``pending`` if there is none (a
    concurrent attempt that inserted it first wins; see ``get_or_insert``)."""
    row, _ = get_or_insert(
        session,
        NotificationRow,
        request.key,
        lambda: NotificationRow(
            key=request.key,
            recipient=request.to,
            template=request.template,
            subject="",
            message_id=message_id,
            status="pending",
            attempts=0,
        ),
    )
    return row
