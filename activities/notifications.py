"""Notification activities: customer and ops email, sent once per business key.

The outbox table (``notifications``) holds one row per key: ``pending`` ->
``sending`` (committed right behind the final ``.`` of SMTP DATA, in one step with
it) -> ``sent``. A retried or repeated ``email.send`` for a key already
``sending`` or ``sent`` returns ``already_sent=True`` and sends nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.models.notifications import EmailRequest, EmailResult
from oms.ports.email import Mailer, message_id_for
from oms.ports.errors import EmailRejected, EmailUnavailable, FinalDotUnanswered, TemplateError

if TYPE_CHECKING:
    from oms.ports.email import RenderedEmail


class Outbox(Protocol):
    """The outbox rows, one per business key (``oms.store.outbox.Outbox``)."""

    def begin(
        self, request: EmailRequest, message_id: str, render: Callable[[], RenderedEmail]
    ) -> tuple[int, RenderedEmail] | None: ...

    def claim(
        self, key: str, attempt: int, deadline: float, write_dot: Callable[[], None]
    ) -> bool: ...

    def release(self, key: str, attempt: int, deadline: float) -> None: ...

    def mark_sent(self, key: str) -> None: ...


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
        ``pending``), and lets ``EmailUnavailable``, ``SupersededAttempt`` and
        database errors propagate so Temporal retries them.
        """
        message_id = message_id_for(request.key)
        deadline = time.monotonic() + _DB_WAIT_SHARE * _start_to_close_s()
        # The SMTP call stays outside any long transaction: holding one open while a
        # server answers would block every other writer on SQLite.
        try:
            started = self.outbox.begin(
                request,
                message_id,
                lambda: self.mailer.render(request.template, request.locale, request.context),
            )
        except TemplateError as exc:
            # Raised inside the outbox's transaction, which rolled the new row back.
            raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from exc
        if started is None:
            return EmailResult(key=request.key, message_id=message_id, already_sent=True)
        attempt, rendered = started

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
            self.outbox.release(request.key, attempt, deadline)
            raise ApplicationError(str(exc), type="EmailRejected", non_retryable=True) from exc
        except EmailUnavailable:
            self.outbox.release(request.key, attempt, deadline)
            raise

        self.outbox.mark_sent(request.key)
        activity.logger.info("sent %s to %s (key %s)", request.template, request.to, request.key)
        return EmailResult(key=request.key, message_id=message_id, already_sent=False)

    def _claim(
        self, key: str, attempt: int, deadline: float, write_dot: Callable[[], None]
    ) -> None:
        """Claim the row for this attempt and write the final "." (``Outbox.claim``).

        Raises ``SupersededAttempt`` when a later attempt has taken the row.
        """
        if not self.outbox.claim(key, attempt, deadline, write_dot):
            raise SupersededAttempt(f"outbox row {key!r} was taken by a later attempt")


class SupersededAttempt(Exception):
    """A later attempt of the same email took the outbox row: this one must not finish."""


# Share of the activity's start-to-close timeout an attempt may spend waiting for the
# database around the final "." (the server keeps the unfinished DATA open meanwhile).
_DB_WAIT_SHARE = 0.6


def _start_to_close_s() -> float:
    timeout = activity.info().start_to_close_timeout
    return timeout.total_seconds() if timeout else 30.0
