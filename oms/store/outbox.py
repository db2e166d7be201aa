"""The email outbox (table ``notifications``): one row per business key, sent once.

A row goes ``pending`` -> ``sending`` (committed right behind the final ``.`` of SMTP
DATA, in one step with it) -> ``sent``. ``activities/notifications.py`` drives it
through the ``Outbox`` port; this is the SQLAlchemy implementation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from oms.store.db import Bound
from oms.store.tables import NotificationRow, utcnow

if TYPE_CHECKING:
    from oms.models.notifications import EmailRequest
    from oms.ports.email import RenderedEmail

T = TypeVar("T")
log = logging.getLogger(__name__)


class Outbox(Bound):
    """The outbox rows of one database; every method runs transactions of its own."""

    def begin(
        self, request: EmailRequest, message_id: str, render: Callable[[], RenderedEmail]
    ) -> tuple[int, RenderedEmail] | None:
        """Start an attempt at ``request.key``: its number and the rendered message, or
        ``None`` when the key was already sent (nothing to do).

        A row an earlier attempt left ``sending`` counts as sent: that attempt died or
        lost the database after the server had the whole message, and servers accept
        on the final line, so sending again would be the duplicate. ``render`` runs
        inside the transaction: what it raises rolls a new row back and propagates.
        """
        with self.db.session() as session:
            row = _get_or_create(session, request, message_id)
            if row.status == "sending":
                row.status = "sent"
                row.sent_at = utcnow()
                log.info("key %s: earlier attempt reached the end of DATA", row.key)
            if row.status == "sent":
                return None
            rendered = render()
            row.subject = rendered.subject[:300]
            row.attempts += 1
            return row.attempts, rendered

    def claim(self, key: str, attempt: int, deadline: float, write_dot: Callable[[], None]) -> bool:
        """Set ``sending`` for this attempt, write the final "." and commit right behind
        it, retrying database errors until ``deadline``; ``False`` when a later attempt
        has taken the row (this one must then end without the ".").

        Retrying is what makes a lost commit reply harmless: the row then already says
        ``sending`` for this attempt, which counts as claimed, and the "." is written
        once only. Raises the last database error when the database stays away past
        ``deadline`` (after the "." the message is out and the row may still say
        ``pending``: the retry then sends it again), and what writing the "." raised.
        """
        mark = (
            update(NotificationRow)
            .where(
                NotificationRow.key == key,
                NotificationRow.attempts == attempt,
                NotificationRow.status.in_(("pending", "sending")),
            )
            .values(status="sending")
        )
        # write_dot writes the "." once: on a retry after a lost COMMIT reply it does nothing.
        return _retrying(key, deadline, lambda: self.db.execute_with_effect(mark, write_dot)) == 1

    def release(self, key: str, attempt: int, deadline: float) -> None:
        """Put this attempt's ``sending`` row back to ``pending`` (the server refused the
        message), retrying database errors until ``deadline``; raises the last one."""

        def release() -> None:
            with self.db.session() as session:
                row = _row(session, key)
                if row.attempts == attempt and row.status == "sending":
                    row.status = "pending"

        _retrying(key, deadline, release)

    def mark_sent(self, key: str) -> None:
        """Record that the server accepted the message for ``key``."""
        with self.db.session() as session:
            sent = _row(session, key)
            sent.status = "sent"
            sent.sent_at = utcnow()


def _retrying(key: str, deadline: float, call: Callable[[], T]) -> T:
    """``call()``, retried on database errors until ``deadline``; raises the last one."""
    delay = 0.1
    while True:
        try:
            return call()
        except DBAPIError as exc:  # connection lost or refused, database locked
            if time.monotonic() + delay > deadline:
                raise
            log.warning("outbox %s: database unavailable, retrying: %s", key, exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _row(session: Session, key: str) -> NotificationRow:
    row = session.get(NotificationRow, key)
    if row is None:  # pragma: no cover - rows are never deleted
        raise RuntimeError(f"outbox row {key!r} vanished")
    return row


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
