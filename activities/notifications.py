"""Notification activities: customer and ops email, sent once per business key.

The outbox table (``notifications``) holds one row per key: ``pending`` ->
``sending`` (committed right behind the final ``.`` of SMTP DATA, in one step with
it) -> ``sent``. A retried or repeated ``email.send`` for a key already
``sending`` or ``sent`` returns ``already_sent=True`` and sends nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.email_smtp import FinalDotUnanswered, Mailer, message_id_for
from activities.adapters.errors import EmailRejected, EmailUnavailable, TemplateError
from oms.models.notifications import EmailRequest, EmailResult
from oms.store.db import Database
from oms.store.tables import NotificationRow, utcnow

T = TypeVar("T")


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
        ``pending``), and lets ``EmailUnavailable``, ``SupersededAttempt`` and
        database errors propagate so Temporal retries them.
        """
        message_id = message_id_for(request.key)
        deadline = time.monotonic() + _DB_WAIT_SHARE * _start_to_close_s()
        # The SMTP call stays outside any long transaction: holding one open while a
        # server answers would block every other writer on SQLite.
        with self.db.session() as session:
            row = _get_or_create(session, request, message_id)
            if row.status == "sending":
                # An earlier attempt marked the row just before the final "." of DATA and
                # never recorded the reply: it died or lost the database in between, after
                # the server had the whole message. Servers accept on that line, so the
                # message went out; sending again would be the duplicate.
                row.status = "sent"
                row.sent_at = utcnow()
                activity.logger.info("key %s: earlier attempt reached the end of DATA", row.key)
            if row.status == "sent":
                return EmailResult(key=row.key, message_id=row.message_id, already_sent=True)
            try:
                rendered = self.mailer.render(request.template, request.locale, request.context)
            except TemplateError as exc:
                # Raising inside the transaction rolls the new row back: nothing was sent.
                raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from exc
            row.subject = rendered.subject[:300]
            row.attempts += 1
            attempt = row.attempts

        # Exactly once: once the server holds the whole message, the row is set to
        # "sending" in an open transaction, the final "." is written and the COMMIT right
        # behind it, with no chance for another thread to run in between. Fail before the
        # "." (database down, process killed) and nothing is committed and the server
        # discards the message; once the COMMIT is written the next attempt finds
        # "sending" and sends nothing. What is left is the microseconds between the two
        # writes, where a killed process doubles the email.
        try:
            self.mailer.send(
                request.key,
                request.to,
                rendered,
                request.attachments,
                at_final_dot=lambda write_dot: self._claim(
                    request.key, attempt, deadline, write_dot
                ),
            )
        except FinalDotUnanswered:
            raise  # the row stays "sending": the retry records it as sent
        except EmailRejected as exc:
            self._release(request.key, attempt, deadline)
            raise ApplicationError(str(exc), type="EmailRejected", non_retryable=True) from exc
        except EmailUnavailable:
            self._release(request.key, attempt, deadline)
            raise

        with self.db.session() as session:
            sent = _row(session, request.key)
            sent.status = "sent"
            sent.sent_at = utcnow()
        activity.logger.info("sent %s to %s (key %s)", request.template, request.to, request.key)
        return EmailResult(key=request.key, message_id=message_id, already_sent=False)

    def _claim(
        self, key: str, attempt: int, deadline: float, write_dot: Callable[[], None]
    ) -> None:
        """Set ``sending`` for this attempt, write the final "." and commit right behind
        it, retrying database errors until ``deadline``.

        Retrying is what makes a lost commit reply harmless: the row then already says
        ``sending`` for this attempt, which counts as claimed, and the "." is written
        once only. Raises ``SupersededAttempt`` when a later attempt has taken the row
        (this one then ends without the "."), the last database error when the database
        stays away past ``deadline`` (after the "." the message is out and the row may
        still say ``pending``: the retry then sends it again), and what writing the "."
        raised.
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
        matched = _retrying(key, deadline, lambda: self.db.execute_with_effect(mark, write_dot))
        if matched != 1:
            raise SupersededAttempt(f"outbox row {key!r} was taken by a later attempt")

    def _release(self, key: str, attempt: int, deadline: float) -> None:
        """Put this attempt's ``sending`` row back to ``pending`` (the server refused the
        message), retrying database errors until ``deadline``; raises the last one."""

        def release(row: NotificationRow) -> None:
            if row.attempts == attempt and row.status == "sending":
                row.status = "pending"

        self._update(key, release, deadline)

    def _update(self, key: str, change: Callable[[NotificationRow], None], deadline: float) -> None:
        def apply() -> None:
            with self.db.session() as session:
                change(_row(session, key))

        _retrying(key, deadline, apply)


def _retrying(key: str, deadline: float, call: Callable[[], T]) -> T:
    """``call()``, retried on database errors until ``deadline``; raises the last one."""
    delay = 0.1
    while True:
        try:
            return call()
        except DBAPIError as exc:  # connection lost or refused, database locked
            if time.monotonic() + delay > deadline:
                raise
            activity.logger.warning("outbox %s: database unavailable, retrying: %s", key, exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class SupersededAttempt(Exception):
    """A later attempt of the same email took the outbox row: this one must not finish."""


# Share of the activity's start-to-close timeout an attempt may spend waiting for the
# database around the final "." (the server keeps the unfinished DATA open meanwhile).
_DB_WAIT_SHARE = 0.6


def _start_to_close_s() -> float:
    timeout = activity.info().start_to_close_timeout
    return timeout.total_seconds() if timeout else 30.0


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
