"""OrderEmailWorkflow: one of an ended order's customer emails sent again.

An order's workflow ends right after its "cancelled" or "completed" email, so it can no
longer take ``POST /ops/orders/{id}/resend``; the API then builds the email from the
order's stored view and starts this workflow, id ``order-email-<key>``, with the key
``<order>:<notification>:resend:<n>`` that continues the order's own resends. It sends
once per key through the outbox (at least once over SMTP, one ``Message-ID``), retried
as every email is.

``POST /carrier/events`` starts it too, for the operations alert of a parcel claimed lost
that the carrier delivered after its shipment's workflow had ended (key
``<shipment>:delivered_after_claim``): the same one email, for a workflow that has ended.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notifications import EmailActivities
    from oms.models.notifications import EmailResult, OrderEmailInput
    from oms.queues import EMAIL_QUEUE
    from workflows import policies


def order_email_workflow_id(key: str) -> str:
    """One workflow per email key: a retried request finds the one it started."""
    return f"order-email-{key}"


@workflow.defn(name="OrderEmailWorkflow")
class OrderEmailWorkflow:
    """Send the email; fails with the activity's error when it cannot be sent."""

    @workflow.run
    async def run(self, inp: OrderEmailInput) -> EmailResult:
        return await workflow.execute_activity_method(
            EmailActivities.send,
            inp.email,
            **policies.EMAIL.kwargs(
                inp.task_queue_prefix + EMAIL_QUEUE, f"email {inp.email.template}"
            ),
        )
