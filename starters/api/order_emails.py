"""An ended order's customer email, sent again (``POST /ops/orders/{id}/resend``).

A running order's workflow sends it (update ``resend_notification``). Once the workflow
has ended, right after its "cancelled" or "completed" email, the email is built from the
order's stored view and sent by ``OrderEmailWorkflow`` on the key the order itself would
have used next, and the intervention is kept in the stored history as a running order's
would be.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.domain.order_emails import happened, not_sent
from oms.models.common import HistoryEntry
from oms.models.notifications import EmailRequest, OrderEmailInput
from oms.models.ops import ResendNotification
from oms.models.orders import OrderView
from oms.queues import WORKFLOW_QUEUE
from oms.store import orders as order_store
from oms.views.common import intervention
from oms.views.orders import cancelled_why, email_context
from starters.api.deps import State, api_error, in_store
from starters.api.orders import ORDERS, finished
from workflows.order_email import OrderEmailWorkflow, order_email_workflow_id

ACTION = "resend"


async def has_ended(state: State, order: OrderView) -> bool:
    """Whether ``order`` is finished and its workflow closed (or gone past retention): a
    finished order's workflow may still be writing its last view for a moment."""
    if not finished(order):
        return False
    try:
        description = await ORDERS.handle(state, order.order_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return description.close_time is not None


async def resend_ended(state: State, order: OrderView, body: ResendNotification) -> OrderView:
    """Send ``body.notification`` of the ended ``order`` again and keep the intervention in
    its stored history; the order as shown.

    Raises ``HTTPException`` 409 ``NotSent`` for an email the order never sent (and for
    the on-hold email: the order is no longer on hold), 502 ``EmailNotSent`` when the
    mailer refused it or kept failing (nothing is recorded then).
    """
    notification = body.notification
    if notification == "order_on_hold":
        raise api_error(409, "NotSent", f"order {order.order_id} has ended: it is not on hold")
    facts = happened(
        [order.status, *(h.status for h in order.history)],
        backorder_emailed=order.backorder_emailed,
    )
    why = not_sent(notification, facts)
    if why is not None:
        raise api_error(409, "NotSent", why)
    # The order's own resends are numbered by the lines they left: go on from there.
    seen = sum(1 for h in order.history if h.action == ACTION)
    key = f"{order.order_id}:{notification}:resend:{seen + 1}"
    # The OMS's own cancel reason worded in the customer's language, as the first email did.
    worded = cancelled_why(order) if notification == "order_cancelled" else {}
    email = EmailRequest(
        key=key,
        to=str(order.customer.email),
        locale=order.customer.locale,
        template=notification,
        context=email_context(order, reason=order.cancel_reason or body.reason, **worded),
    )
    workflow_id = order_email_workflow_id(key)
    try:
        handle = await state.client.start_workflow(
            OrderEmailWorkflow.run,
            OrderEmailInput(email=email, task_queue_prefix=state.settings.task_queue_prefix),
            id=workflow_id,
            task_queue=state.settings.queue(WORKFLOW_QUEUE),
            static_summary=f"Resend {notification} of order {order.order_id}",
        )
    except WorkflowAlreadyStartedError:
        # A retried request (or a second operator at the same moment): the same email.
        handle = state.client.get_workflow_handle_for(OrderEmailWorkflow.run, workflow_id)
    try:
        await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ActivityError) and cause.cause is not None:
            cause = cause.cause  # the mailer's own error, not "activity task failed"
        raise api_error(502, "EmailNotSent", f"{notification} was not sent: {cause}") from err
    note, author = intervention(body.by, ACTION, f"{body.reason} ({notification})")
    entry = HistoryEntry(at=datetime.now(UTC), status="", note=note, by=author, action=ACTION)

    def record(session: Session) -> OrderView | None:
        return order_store.add_intervention(session, order.order_id, entry, seen)

    recorded = await in_store(state, record)
    if recorded is None:
        raise api_error(404, "NotFound", f"order {order.order_id} not found")
    shown: OrderView = await ORDERS.show(state, recorded)
    return shown
