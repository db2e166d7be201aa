"""The payment provider's calls, for the workflows that move an order's money: authorize,
capture, void (all or part of) an authorization, refund.

Workflow code (no I/O): each call is one ``PaymentActivities`` activity under the
``PAYMENTS`` policy, exactly once on the idempotency key its caller names; the summary the
Temporal UI shows says what and how much, the same way in every workflow.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from oms.models.payments import (
        Authorization,
        AuthorizeRequest,
        Capture,
        CaptureRequest,
        VoidAuthorizationRequest,
        VoidAuthorizationResult,
    )
    from oms.models.returns import Refund, RefundRequest
    from workflows import policies


class OrderPayments:
    """The payment activities of one order, in its currency, on one task queue.

    Each method raises ``ActivityError`` when the provider refuses the call for good (a
    non-retryable ``PaymentRejected``: more refunded than captured, an unknown
    authorization); a declined card is an answer, not an error.
    """

    def __init__(self, queue: str, order_id: str, currency: str) -> None:
        """``queue``: the payments task queue, with the run's prefix."""
        self._queue, self.order_id, self.currency = queue, order_id, currency

    async def authorize(
        self, key: str, amount: Decimal, token: str, *, summary: str | None = None
    ) -> Authorization:
        """Authorize ``amount`` on the card ``token``; declined: ``status`` says so."""
        return await workflow.execute_activity_method(
            PaymentActivities.authorize,
            AuthorizeRequest(
                idempotency_key=key,
                order_id=self.order_id,
                amount=amount,
                currency=self.currency,
                token=token,
            ),
            **policies.PAYMENTS.kwargs(
                self._queue, summary or f"authorize {amount} {self.currency}"
            ),
        )

    async def capture(self, key: str, authorization_id: str, amount: Decimal) -> Capture:
        """Capture ``amount`` of the authorization."""
        return await workflow.execute_activity_method(
            PaymentActivities.capture,
            CaptureRequest(
                idempotency_key=key,
                authorization_id=authorization_id,
                amount=amount,
                currency=self.currency,
            ),
            **policies.PAYMENTS.kwargs(self._queue, f"capture {amount} {self.currency}"),
        )

    async def void(
        self, key: str, authorization_id: str, summary: str, amount: Decimal | None = None
    ) -> VoidAuthorizationResult:
        """Release ``amount`` of the authorization (None: all that is left of it)."""
        return await workflow.execute_activity_method(
            PaymentActivities.void_authorization,
            VoidAuthorizationRequest(
                idempotency_key=key, authorization_id=authorization_id, amount=amount
            ),
            **policies.PAYMENTS.kwargs(self._queue, summary),
        )

    async def refund(
        self, key: str, amount: Decimal, reason: str, *, summary: str | None = None
    ) -> Refund:
        """Refund ``amount`` of what the order was charged, ``reason`` told the provider."""
        return await workflow.execute_activity_method(
            PaymentActivities.refund,
            RefundRequest(
                idempotency_key=key,
                order_id=self.order_id,
                amount=amount,
                currency=self.currency,
                reason=reason,
            ),
            **policies.PAYMENTS.kwargs(self._queue, summary or f"refund {amount} {self.currency}"),
        )
