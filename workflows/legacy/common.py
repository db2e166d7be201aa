"""Frozen 0.1 code (see ``workflows/legacy/__init__.py``).

What every 0.1 workflow did alike: wake an order whose backorder got stock, send an email
that may be refused, read an activity's failure, and show its stage in search attributes.
Each helper issues exactly the command (and payload) the copies it replaced issued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import EmailActivities
    from oms import search_attributes as sa
    from oms.ids import order_workflow_id
    from oms.models.notifications import EmailRequest
    from oms.models.orders import BackorderWake
    from workflows import policies


def cause(err: ActivityError) -> str:
    """An activity's failure as a history note shows it: ``Type: message`` for a business
    rejection, else the error itself."""
    failure = err.cause
    if isinstance(failure, ApplicationError):
        return f"{failure.type}: {failure.message}"
    return str(failure or err)


async def wake_order(order_id: str, wake: BackorderWake) -> None:
    """Tell another order that stock went to its backorder (released, restocked or
    delivered units). Best effort: the order also re-checks its backorder on a timer."""
    try:
        await workflow.get_external_workflow_handle(order_workflow_id(order_id)).signal(
            "backorder_wake", wake
        )
    except Exception:
        workflow.logger.warning("could not wake order %s", order_id)


async def send_email(request: EmailRequest, task_queue: str) -> ActivityError | None:
    """Send one email; the error when it could not be sent, for the caller's history.

    A refused address must not stop the workflow, so the error is returned, not raised.
    """
    try:
        await workflow.execute_activity_method(
            EmailActivities.send,
            request,
            **policies.EMAIL.kwargs(task_queue, f"email {request.template}"),
        )
    except ActivityError as err:
        return err
    return None


def stage_attributes(
    stage: str, waiting_for: str, since: datetime, deadline: datetime | None
) -> list[SearchAttributeUpdate[Any]]:
    """The search attributes operations' stuck list reads: the stage, whom it waits for,
    since when, and when it is overdue (unset when it never is)."""
    return [
        sa.STAGE.value_set(stage),
        sa.WAITING_FOR.value_set(waiting_for),
        sa.WAITING_SINCE.value_set(since),
        sa.DEADLINE.value_set(deadline) if deadline else sa.DEADLINE.value_unset(),
    ]
