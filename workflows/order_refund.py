"""OrderRefundWorkflow: one refund of an order without a return, exactly once per key.

Workflow id ``order-refund-<order_id>-<hash of the request key>`` (the API starts it once
the key's row is claimed). Refunds through the payment provider under the idempotency key
``<order_id>:refund:<key>`` (the provider refuses more than captured minus refunded), then
records the answer on the key's row, which the order's view and history show.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.orders import RefundActivities
    from oms.models.orders import OrderRefund, OrderRefundInput, RefundOutcome
    from oms.queues import INVENTORY_QUEUE, PAYMENTS_QUEUE
    from workflows import policies
    from workflows.payments import OrderPayments


@workflow.defn(name="OrderRefundWorkflow")
class OrderRefundWorkflow:
    """Ask the provider once, record its answer; returns the refund as recorded."""

    @workflow.run
    async def run(self, inp: OrderRefundInput) -> OrderRefund:
        prefix = inp.task_queue_prefix
        refund_id = error = None
        try:
            payments = OrderPayments(prefix + PAYMENTS_QUEUE, inp.order_id, inp.currency)
            refund = await payments.refund(
                f"{inp.order_id}:refund:{inp.key}", inp.amount, inp.reason
            )
            refund_id = refund.refund_id
        except ActivityError as err:
            # Declined or refused (non-retryable): recorded as the answer, not a failure.
            error = policies.cause(err)
        outcome = RefundOutcome(
            order_id=inp.order_id, key=inp.key, refund_id=refund_id, error=error, at=workflow.now()
        )
        return await workflow.execute_activity_method(
            RefundActivities.record_refund,
            outcome,
            **policies.STORE.kwargs(prefix + INVENTORY_QUEUE, "record the refund"),
        )
