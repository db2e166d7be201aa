"""An order's money, for ``OrderWorkflow``: authorize the card or reserve the company's
credit, hold the order while declined or over the limit, and undo it all on cancel.

Workflow code (no I/O): every effect is an activity, exactly once on its key
(``<order>:authorize:<n>``, ``<order>:credit:<n>``, ``<order>:void``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from oms.domain.approval import ApprovalRefused, check_credit_approval
    from oms.domain.fx import in_base
    from oms.domain.money import format_money
    from oms.domain.order_emails import (
        CREDIT_NOT_APPROVED,
        CREDIT_REFUSED,
        PAYMENT_NOT_COMPLETED,
        REAUTH_NOT_COMPLETED,
        SYSTEM,
        template_for,
    )
    from oms.domain.payments import needs_reauthorization
    from oms.models.credit import ReleaseCredit, ReserveCredit
    from oms.models.orders import CancelOrder, CreditApproval, OrderInput, OrderStatus, RetryPayment
    from oms.queues import PAYMENTS_QUEUE
    from oms.views.common import when
    from workflows import policies
    from workflows.payments import OrderPayments
    from workflows.tracker import Tracker

Email = Callable[..., Awaitable[None]]

# Patch: before a paid parcel starts on a card authorization too old to capture on by the
# time it ships, the order voids it and authorizes what it held anew (held while declined).
# Asked only when an authorization is that old, so other runs record no marker; a run
# without it shipped on the old authorization, and replays so.
REAUTHORIZE_PATCH = "order-reauthorize"
# Patch: a completed invoice-term order releases the credit its shipments did not consume
# (a line cancelled or short-picked left it reserved for good: the company's available
# credit never came back). A run without it completed holding it, and replays so.
COMPLETE_RELEASES_CREDIT_PATCH = "order-complete-releases-credit"


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
        # When the card authorization was made (workflow time; its age decides whether a
        # paid parcel may start on it), and how many re-authorizations were asked for (keys).
        self.authorized_at: datetime | None = None
        self.reauths = 0

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
            self.authorized_at = self._inp.placed_at  # made before the order: never younger
            return None
        if method == "invoice":
            return await self._reserve_credit()
        if method == "exchange":
            return None  # a return's replacement: nothing to authorize
        return await self._authorize()

    def confirmed_note(self) -> str:
        """The history line of the order's confirmation, saying what :meth:`secure` did: the
        company's credit reserved (invoice terms), nothing to pay (an exchange's
        replacement), or the payment authorized (a card, or whoever started the order)."""
        if self.credit_reserved:
            over = " over the limit, as finance approved" if self.approval is not None else ""
            return f"Credit reserved{over}; order confirmed"
        if self._inp.payment.method == "exchange" and self.authorization_id is None:
            return "Replacement, nothing to pay; order confirmed"
        return "Payment authorized; order confirmed"

    async def release_unused_credit(self) -> None:
        """A completed order on invoice terms gives back the credit it reserved and no
        shipment used (units cancelled or short-picked: the reservation was the whole
        order's, and only shipments consume it), so none stays locked for the company.
        Asked only of orders that reserved credit (patch ``order-complete-releases-credit``)."""
        if self.credit_reserved and workflow.patched(COMPLETE_RELEASES_CREDIT_PATCH):
            await self._release_credit("release the credit no shipment used")

    async def release(self) -> None:
        """Undo what :meth:`secure` holds: release the credit, void the authorization."""
        order_id = self._inp.order_id
        if self.credit_reserved:
            await self._release_credit("release reserved credit")
        if self.authorization_id:
            await self.calls.void(
                f"{order_id}:void", self.authorization_id, "void payment authorization"
            )

    async def _release_credit(self, summary: str) -> None:
        """Release what is still reserved of the company's credit for the order (the store
        releases nothing when nothing is left)."""
        await workflow.execute_activity_method(
            CreditActivities.release,
            ReleaseCredit(order_id=self._inp.order_id),
            **policies.PAYMENTS.kwargs(self._queue, summary),
        )

    async def authorization_to_ship(
        self,
        first_parcel: str,
        warehouse: str,
        paid_in_flight: bool,
        charged_so_far: str | None = None,
        shipped: bool = False,
    ) -> str | CancelOrder:
        """The authorization a paid parcel starting now captures on: the order's own, or,
        when it is too old to capture on by the time the parcel ships
        (``oms.domain.payments.needs_reauthorization``), a new one of what the old one held,
        the old one voided first (its money goes to the new one). Declined: the order waits
        on hold for a new card (``release-hold``), operations and the customer told; a
        ``CancelOrder`` when that hold timed out; the old id when the order was cancelled
        meanwhile (the caller checks). ``paid_in_flight``: a paid parcel not yet shipped still
        captures on the old one, so it is kept (voiding it would refuse that capture).
        ``charged_so_far``: what the parcels that shipped charged (formatted), which the
        customer's hold email names (so it does not say nothing is charged). ``shipped``: a
        parcel has shipped, so the order can no longer be cancelled (operations' alert says
        what can be done instead)."""
        inp, auth = self._inp, self.authorization_id
        if auth is None or inp.payment.method != "card" or paid_in_flight:
            return auth or ""
        made = self.authorized_at or inp.placed_at
        valid_s = inp.options.payment_authorization_valid_s
        if not needs_reauthorization(made, workflow.now(), valid_s):
            return auth
        if not workflow.patched(REAUTHORIZE_PATCH):
            return auth
        self._track.note(f"Payment authorization {auth} made {when(made)} is about to lapse")
        voided = await self.calls.void(
            f"{inp.order_id}:reauth-void:{self.reauths + 1}", auth, "void the ageing authorization"
        )
        self.authorization_id = None
        cancel = await self._authorize(
            voided.voided_amount,
            (first_parcel, warehouse),
            token=self.token,
            charged_so_far=charged_so_far,
            shipped=shipped,
        )
        if cancel is None and self.authorization_id:
            # What an operator reading the order needs: the old one is gone, this holds it.
            self._track.note(
                f"Voided {auth} and authorized {voided.voided_amount} {inp.currency} again "
                f"as {self.authorization_id}"
            )
        return cancel if cancel is not None else (self.authorization_id or "")

    async def _authorize(
        self,
        amount: Decimal | None = None,
        reauth: tuple[str, str] | None = None,
        token: str | None = None,
        charged_so_far: str | None = None,
        shipped: bool = False,
    ) -> CancelOrder | None:
        """Authorize ``amount`` (None: the order's total) on the card until it is authorized,
        holding the order while it is declined. ``reauth``: a re-authorization before the
        parcel (its id and warehouse) starts, with keys ``<order>:reauth:<n>`` and an alert
        to operations besides the customer's email; ``charged_so_far`` (formatted) goes in that
        email when parcels already charged the customer; ``shipped``: a parcel has shipped (the
        alert's remedy)."""
        inp = self._inp
        total = self._track.view.total if amount is None else amount
        token, attempt = token or inp.payment.token, 0
        while True:
            attempt += 1
            if reauth is None:
                key = f"{inp.order_id}:authorize:{attempt}"
                auth = await self.calls.authorize(key, total, token)
            else:
                self.reauths += 1
                key = f"{inp.order_id}:reauth:{self.reauths}"
                auth = await self.calls.authorize(
                    key, total, token, summary=f"re-authorize {total} {inp.currency}"
                )
            if auth.status == "authorized":
                self.authorization_id, self.token = auth.authorization_id, token
                self.authorized_at = workflow.now()
                return None
            reason = auth.decline_reason or ""
            declined = "Payment declined" if reauth is None else "Re-authorization declined"
            note = f"{declined}: {reason or 'no reason given'}"
            if reauth is not None:
                note += f"; {reauth[0]} waits on hold until the customer updates their payment"
            self._track.enter(OrderStatus.ON_HOLD, note)
            self.held = True
            # Only the context changes (no command): a payload, so no patch.
            context = {"reason": reason}
            if charged_so_far is not None:
                context["charged_so_far"] = charged_so_far
            if reauth is not None:
                # What is authorized again is what is left to capture, not the order's total.
                locale = self._track.view.customer.locale
                context["reauth_amount"] = format_money(total, inp.currency, locale)
            self.hold_email = ("order_on_hold", context)
            if reauth is None:
                hold_key = f"{inp.order_id}:on_hold:{attempt}"
            else:
                hold_key = f"{inp.order_id}:on_hold:reauth:{self.reauths}"
                await self._alert_ops(key, reauth, reason or "no reason given", shipped)
            await self._email(hold_key, "order_on_hold", **context)
            retried = lambda: self.retry is not None  # noqa: E731
            if not await self._hold(retried, "the customer to fix payment"):
                why = PAYMENT_NOT_COMPLETED if reauth is None else REAUTH_NOT_COMPLETED
                return CancelOrder(reason=why, requested_by=SYSTEM)
            if self._cancelled():
                return None
            if self.retry is not None and self.retry.payment is not None:
                token = self.retry.payment.token
            self.retry = None

    async def _alert_ops(
        self, key: str, parcel: tuple[str, str], reason: str, shipped: bool
    ) -> None:
        """Tell operations a parcel waits on hold because its re-authorization was declined,
        and what they can do: release the hold once the customer has a new card; cancel
        the order only while nothing has shipped (after, the cancel is refused with
        ``AlreadyShipped`` and the rest is cancelled by the order itself past its hold)."""
        inp = self._inp
        order_id = inp.order_id
        release = (
            "the customer was asked to update their payment; once they have, release the hold "
            f"(POST /ops/orders/{order_id}/release-hold, with payment_token for a new card)"
        )
        # Only the alert's text depends on it (no command): a payload, so no patch.
        if shipped:
            remedy = (
                f"{release}. A parcel has shipped, so the order can no longer be cancelled: "
                f"POST /orders/{order_id}/cancel is refused (409 AlreadyShipped) and cancels "
                "nothing. If the payment is not updated by the end of the hold, the order "
                "cancels what has not shipped itself (its stock released, nothing more "
                "charged), tells the customer and completes with the parcels that shipped"
            )
        else:
            remedy = f"{release}, or cancel the order (POST /orders/{order_id}/cancel)"
        await self._track.email(
            f"{key}:ops_alert",
            inp.options.ops_email,
            "ops_alert",
            {
                "order_id": order_id,
                "shipment_id": parcel[0],
                "warehouse": parcel[1],
                "problem": f"The card re-authorization of order {order_id} was declined",
                "detail": reason,
                "remedy": remedy,
            },
        )

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
                return CancelOrder(reason=CREDIT_REFUSED, requested_by=SYSTEM)
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
                    return CancelOrder(reason=CREDIT_NOT_APPROVED, requested_by=SYSTEM)
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
