"""An order's money, for ``OrderWorkflow``: authorize the card or reserve the company's
credit, hold the order while declined or over the limit, and undo it all on cancel.

Workflow code (no I/O): every effect is an activity, exactly once on its key
(``<order>:authorize:<n>``, ``<order>:credit:<n>``, ``<order>:void``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from oms.domain.approval import ApprovalRefused, check_credit_approval
    from oms.domain.fx import in_base
    from oms.domain.order_emails import template_for
    from oms.models.credit import ReleaseCredit, ReserveCredit
    from oms.models.orders import CancelOrder, CreditApproval, OrderInput, OrderStatus, RetryPayment
    from oms.queues import PAYMENTS_QUEUE
    from oms.views.common import when
    from workflows import policies
    from workflows.payments import OrderPayments
    from workflows.tracker import Tracker

Email = Callable[..., Awaitable[None]]

# Why an order on invoice terms was cancelled, as its buyer reads it (``order_cancelled``).
CREDIT_REFUSED = "the order is over the company's credit limit"
CREDIT_NOT_APPROVED = "the company's credit for the order was not approved in time"


class Payment:
    """What the order holds of the customer's money, and the steps that change it.

    The order's handlers set :attr:`retry` (a new card) and :attr:`approval` (finance
    lets it over the limit); :meth:`secure` waits for them while the order is on hold.
    """

    def __init__(
        self, inp: OrderInput, track: Tracker, email: Email, cancelled: Callable[[], bool]
    ) -> None:
        self._inp, self._track, self._email, self._cancelled = inp, track, email, cancelled
        self._queue = inp.options.task_queue_prefix + PAYMENTS_QUEUE
        # The payment provider's calls for this order (its edits and line cancels too).
        self.calls = OrderPayments(self._queue, inp.order_id, inp.currency)
        self.authorization_id: str | None = None
        self.credit_reserved = False
        self.awaiting_credit = False
        self.approval: CreditApproval | None = None
        self.retry: RetryPayment | None = None
        # The order was held for its payment (declined, or over the limit): it told the
        # customer so (``order_on_hold``), which may be resent from then on.
        self.held = False
        # What that email said, for a resend of it in this run: its template and context.
        self.hold_email: tuple[str, dict[str, str]] | None = None
        # The card the order was authorized with (an edit that raises the total uses it).
        self.token = inp.payment.token

    def check_credit_approval(self, approval: CreditApproval) -> None:
        """Raises ``ApplicationError`` ``NotAwaitingCredit`` (not held over the limit) or
        ``WrongRole`` (only finance or the CFO may let it over)."""
        try:
            check_credit_approval(self.awaiting_credit, approval)
        except ApprovalRefused as refused:
            raise ApplicationError(str(refused), type=refused.code) from refused

    def approve_credit(self, approval: CreditApproval) -> None:
        """Finance lets the order over its company's credit limit (who and why in its
        history); :meth:`secure` reserves the credit again with it."""
        self.approval = approval
        self._track.note(
            f"Credit over the limit approved by {approval.approver} ({approval.role})"
            + (f": {approval.comment}" if approval.comment else ""),
            by=approval.approver,
        )

    async def secure(self) -> CancelOrder | None:
        """Authorize the total (card) or reserve it (invoice terms); an exchange needs
        neither, nor does an order started with its authorization. None once it is
        secured or the order's own cancel came; otherwise why the order ends: declined or
        over the limit past the hold, or refused."""
        method = self._inp.payment.method
        if self._inp.authorization_id is not None:
            # Authorized by whoever started the order (a subscription's renewal).
            self.authorization_id = self._inp.authorization_id
            return None
        if method == "invoice":
            return await self._reserve_credit()
        if method == "exchange":
            return None  # a return's replacement: nothing to authorize
        return await self._authorize()

    async def release(self) -> None:
        """Undo what :meth:`secure` holds: release the credit, void the authorization."""
        order_id = self._inp.order_id
        if self.credit_reserved:
            await workflow.execute_activity_method(
                CreditActivities.release,
                ReleaseCredit(order_id=order_id),
                **policies.PAYMENTS.kwargs(self._queue, "release reserved credit"),
            )
        if self.authorization_id:
            await self.calls.void(
                f"{order_id}:void", self.authorization_id, "void payment authorization"
            )

    async def _authorize(self) -> CancelOrder | None:
        inp, total = self._inp, self._track.view.total
        token, attempt = inp.payment.token, 0
        while True:
            attempt += 1
            auth = await self.calls.authorize(f"{inp.order_id}:authorize:{attempt}", total, token)
            if auth.status == "authorized":
                self.authorization_id, self.token = auth.authorization_id, token
                return None
            reason = auth.decline_reason or ""
            note = f"Payment declined: {reason or 'no reason given'}"
            self._track.enter(OrderStatus.ON_HOLD, note)
            self.held = True
            self.hold_email = ("order_on_hold", {"reason": reason})
            await self._email(f"{inp.order_id}:on_hold:{attempt}", "order_on_hold", reason=reason)
            retried = lambda: self.retry is not None  # noqa: E731
            if not await self._hold(retried, "the customer to fix payment"):
                return CancelOrder(reason="payment not completed in time", requested_by="system")
            if self._cancelled():
                return None
            if self.retry is not None and self.retry.payment is not None:
                token = self.retry.payment.token
            self.retry = None

    async def _reserve_credit(self) -> CancelOrder | None:
        """Invoice terms: hold the company's credit; over the limit, hold for finance or refuse."""
        inp = self._inp
        # Credit limits are kept in the base currency: an order in another one reserves its
        # total at the rate of the day it was placed.
        total, currency = in_base(self._track.view.total, inp.currency, inp.totals)
        company, attempt = inp.payment.company_id or "", 0
        while True:
            attempt += 1
            reservation = await workflow.execute_activity_method(
                CreditActivities.reserve,
                ReserveCredit(
                    key=f"{inp.order_id}:credit:{attempt}",
                    company_id=company,
                    order_id=inp.order_id,
                    amount=total,
                    currency=currency,
                    allow_over_limit=self.approval is not None,
                ),
                **policies.PAYMENTS.kwargs(self._queue, f"reserve {total} {currency} credit"),
            )
            if reservation.status == "reserved":
                self.credit_reserved, self.awaiting_credit = True, False
                return None
            # The company's credit figures are for the merchant (history, details); the
            # cancel reason goes to the buyer in ``order_cancelled``, so it names none.
            figures = (
                f"credit limit of {company} exceeded: {reservation.amount} needed, "
                f"{reservation.available_before} available"
            )
            if reservation.over_limit_action == "refuse":
                self._track.note(f"{figures}; the company's orders over it are refused")
                return CancelOrder(reason=CREDIT_REFUSED, requested_by="system")
            self.awaiting_credit = self.held = True
            self._track.enter(
                OrderStatus.ON_HOLD, f"{figures}; waiting for finance", stage="awaiting_credit"
            )
            # Not the card email: nothing for the buyer to fix; finance decides by the end
            # of the hold, or the order is cancelled.
            hold_until = workflow.now() + timedelta(seconds=inp.options.hold_timeout_s)
            template = template_for("order_on_hold", inp.payment.method)
            self.hold_email = (template, {"hold_until": when(hold_until)})
            await self._email(
                f"{inp.order_id}:on_hold:credit", template, hold_until=when(hold_until)
            )
            approved = lambda: self.approval is not None  # noqa: E731
            released = await self._hold(approved, "finance to approve credit")
            if not released or self._cancelled():
                self.awaiting_credit = False
                if not released:
                    return CancelOrder(reason=CREDIT_NOT_APPROVED, requested_by="system")
                return None

    async def _hold(self, released: Callable[[], bool], who: str) -> bool:
        """Wait on hold until ``released()`` or the order's cancel; False past the timeout."""
        try:
            await workflow.wait_condition(
                lambda: released() or self._cancelled(),
                timeout=timedelta(seconds=self._inp.options.hold_timeout_s),
                timeout_summary=f"waiting for {who}",
            )
        except TimeoutError:
            return False
        return True
