"""The webhook relay: one long-running workflow per endpoint (``webhook-<endpoint_id>``).

It loops on one activity that delivers the endpoint's pending events oldest first
(``activities/webhooks.py``). When the first undelivered event fails, the relay waits on
a durable timer until its next attempt is due (exponential backoff, for days), so later
events never overtake it; a replay or the endpoint's removal wakes it early (signal
``wake``). Each endpoint has its own relay and the deliveries their own task queue, so a
slow or dead endpoint never blocks another, nor any order. It continues as new
regularly to keep its history small, and ends once its endpoint is removed.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from oms import search_attributes as sa
    from oms.models.webhooks import DeliverRequest, RelayInput, RelayResult, Wake
    from oms.queues import WEBHOOKS_QUEUE, WORKFLOW_QUEUE
    from oms.views.common import when

# Activity calls per run before continuing as new (an idle relay makes one per idle_s).
CYCLES = 200
DELIVER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


def relay_workflow_id(endpoint_id: str) -> str:
    return f"webhook-{endpoint_id}"


@workflow.defn(name="WebhookRelay")
class WebhookRelayWorkflow:
    def __init__(self) -> None:
        self._woken = False

    @workflow.signal
    def wake(self, _wake: Wake) -> None:
        """Look at the deliveries now, cutting a backoff short (replay, removal)."""
        self._woken = True

    @workflow.run
    async def run(self, req: RelayInput) -> RelayResult:
        workflow.set_current_details(f"Delivering events to endpoint **{req.endpoint_id}**.")
        for _ in range(CYCLES):
            self._woken = False
            done = await workflow.execute_activity_method(
                WebhookActivities.deliver,
                DeliverRequest(endpoint_id=req.endpoint_id),
                task_queue=req.task_queue_prefix + WEBHOOKS_QUEUE,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=req.heartbeat_s),
                retry_policy=DELIVER_RETRY,
                summary="deliver events",
            )
            if done.gone:
                return RelayResult(endpoint_id=req.endpoint_id, stopped=True)
            if done.retry_at is not None:
                wait = max(done.retry_at - workflow.now(), timedelta(milliseconds=10))
                workflow.set_current_details(
                    f"Endpoint **{req.endpoint_id}** failing: next attempt at "
                    f"{when(done.retry_at)}."
                )
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._woken, timeout=wait, timeout_summary="backoff"
                    )
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(req)


async def ensure_relay(client: Client, settings: Any, endpoint_id: str) -> None:
    """Start the endpoint's relay unless it runs (idempotent: the API calls it when an
    endpoint is created, the worker for every endpoint when it starts)."""
    await client.start_workflow(
        WebhookRelayWorkflow.run,
        RelayInput(
            endpoint_id=endpoint_id,
            task_queue_prefix=settings.task_queue_prefix,
            heartbeat_s=max(10.0, 2 * settings.webhooks_timeout_s + 5),
        ),
        id=relay_workflow_id(endpoint_id),
        task_queue=settings.task_queue_prefix + WORKFLOW_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"Webhook relay of endpoint {endpoint_id}",
        # Its kind, as every other OMS workflow has: /ops/stuck names it (not "unknown")
        # and the UI's list filters on it. Continue-as-new carries it over.
        search_attributes=sa.typed({"OmsKind": "webhook_relay"}),
    )


async def wake_relay(client: Client, endpoint_id: str, reason: str) -> None:
    """Signal the endpoint's relay to look now; nothing when it does not run."""
    try:
        await client.get_workflow_handle(relay_workflow_id(endpoint_id)).signal(
            WebhookRelayWorkflow.wake, Wake(reason=reason)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
