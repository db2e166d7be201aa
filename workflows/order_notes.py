"""An order's notes and resent emails, for ``OrderWorkflow``: an operator's intervention,
a note (with tags) kept on the order, and one of its customer emails sent again on a new
outbox key per resend.

Workflow code (no I/O).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.domain.order_emails import happened, not_sent, template_for
    from oms.models.ops import ResendNotification
    from oms.models.orders import NoteEntry, OrderNote
    from oms.views import orders as views
    from workflows.order_state import OrderRun


class Notes:
    """What people add to the order's history, and the emails they have sent again."""

    def __init__(self, run: OrderRun) -> None:
        self._inp, self._view, self._track, self._state = run.inp, run.view, run.track, run.state
        self._email = run.email

    def add(self, note: OrderNote) -> None:
        """Keep a note (and its tags) in the order's view, its history and the details."""
        entry = NoteEntry(at=workflow.now(), by=note.by, text=note.text, tags=note.tags)
        self._view.notes.append(entry)
        self._track.note(views.note_line(entry), by=note.by, action="note")

    def check_resend(self, request: ResendNotification, payment_held: bool) -> None:
        """Raises ``ApplicationError(type="NotSent")`` for an email the order never sent
        (``oms.domain.order_emails.SENT_AFTER``): an order held for a declined card was never
        confirmed, so it has no "confirmed" email to send again; one backordered by a re-route
        that sent no backorder email has none either."""
        view = self._view
        seen = happened(
            (h.status for h in view.history),
            payment_held=payment_held,
            backorder_emailed=view.backorder_emailed,
        )
        why = not_sent(request.notification, seen)
        if why is not None:
            raise ApplicationError(why, type="NotSent")

    async def resend(
        self, request: ResendNotification, hold_email: tuple[str, dict[str, str]] | None = None
    ) -> None:
        """Send one of the order's customer emails again (a new outbox key per resend).

        ``hold_email``: the template and context the order's payment hold was emailed with
        in this run (``order_on_hold`` sends it again); None from a run before it: the
        order's payment method chooses the template (an invoice order's is the credit hold).
        """
        notification = request.notification
        self._state.resends += 1
        # Worded as every other intervention, ``action`` set (history is state, no command).
        self._track.ops_note(request.by, "resend", f"{request.reason} ({notification})")
        template = template_for(notification, self._inp.payment.method)
        extra = {"reason": self._view.cancel_reason or request.reason}
        if notification == "order_cancelled":
            extra.update(views.cancelled_why(self._view))
        if notification == "order_on_hold" and hold_email is not None:
            template, extra = hold_email[0], dict(hold_email[1])
        await self._email(
            f"{self._inp.order_id}:{notification}:resend:{self._state.resends}",
            template,
            **extra,
        )
