"""One renewal of a subscription, for ``SubscriptionWorkflow``: price the lines at the
catalogue's prices of the moment, authorize the card (through dunning when declined: the
retries on the schedule, then ``past_due``) and start the period's ``OrderWorkflow``
exactly once.

Workflow code (no I/O). The workflow keeps the cycle (when a renewal is due, pauses,
cancels); this class the card the renewals are paid with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.subscriptions import SubscriptionActivities
    from oms import search_attributes as sa
    from oms.domain.subscriptions import retry_at
    from oms.ids import order_workflow_id
    from oms.models.orders import OrderInput
    from oms.models.subscriptions import (
        Dunning,
        PriceRenewal,
        RenewalPrice,
        SubscriptionInput,
        SubscriptionOrder,
        SubscriptionStatus,
        SubscriptionView,
    )
    from oms.queues import INVENTORY_QUEUE, PAYMENTS_QUEUE, WORKFLOW_QUEUE
    from oms.views import subscriptions as views
    from oms.views.common import when
    from workflows import policies
    from workflows.order import OrderWorkflow
    from workflows.payments import OrderPayments
    from workflows.tracker import Tracker

ACTIVE, PAST_DUE = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE
CANCELLED = SubscriptionStatus.CANCELLED
# Sends one of the subscription's emails: (key, template, **context).
Email = Callable[..., Awaitable[None]]
# Waits until a moment (None: no limit) or until a handler changed something: (until, summary).
Sleep = Callable[[datetime | None, str], Awaitable[None]]


class Renewal:
    """Renews the subscription with the card in :attr:`payment` (a resume may bring a new
    one; :attr:`retry_now` then retries a declined renewal at once)."""

    def __init__(
        self,
        inp: SubscriptionInput,
        view: SubscriptionView,
        track: Tracker[SubscriptionView],
        email: Email,
        sleep: Sleep,
    ) -> None:
        self._inp, self._view, self._track = inp, view, track
        self._email, self._sleep = email, sleep
        self.payment = inp.payment
        self.retry_now = False  # a new card arrived during dunning

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    async def price(self, order_id: str) -> RenewalPrice:
        """The renewal's lines at today's list prices (taxed and with shipping when priced
        so). Raises ``ActivityError`` for a SKU no longer sold."""
        view = self._view
        return await workflow.execute_activity_method(
            SubscriptionActivities.price_renewal,
            PriceRenewal(
                subscription_id=self._inp.subscription_id,
                lines=[ln.model_copy() for ln in view.lines],
                currency=view.currency,
                ship_to=view.ship_to,
                shipping_speed=view.shipping_speed,
                vat_number=view.customer.vat_number,
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"price {order_id}"),
        )

    async def notice_price(self, order_id: str, period: int, price: RenewalPrice) -> None:
        """Tell the customer when the renewal costs other than the one before."""
        view = self._view
        if view.last_total is None or price.total == view.last_total:
            return
        old, new = views.money(view, view.last_total), views.money(view, price.total)
        self._track.note(f"price changed from {old} to {new}", by="system")
        await self._email(
            f"{period}:price",
            "subscription_price_changed",
            old_total=old,
            new_total=new,
            order_id=order_id,
        )

    async def collect(self, order_id: str, total: Decimal) -> str | None:
        """Authorize the renewal, through dunning when declined; the authorization's id,
        or None when the subscription was cancelled meanwhile."""
        view, opts = self._view, self._inp.options
        schedule = [timedelta(seconds=s) for s in opts.dunning_retry_s]
        payments = OrderPayments(self._q(PAYMENTS_QUEUE), order_id, view.currency)
        attempt = 0
        while True:
            attempt += 1
            self.retry_now = False
            auth = await payments.authorize(
                f"{order_id}:authorize:{attempt}",
                total,
                self.payment.token,
                summary=f"authorize {order_id}",
            )
            if auth.status == "authorized":
                view.dunning, view.last_error = None, None
                return auth.authorization_id
            reason = auth.decline_reason or "no reason given"
            view.last_error = f"payment for {order_id} declined: {reason}"
            if view.dunning is None:
                view.dunning = Dunning(order_id=order_id, first_declined_at=workflow.now())
            dunning = view.dunning
            due = retry_at(dunning.first_declined_at, dunning.retries + 1, schedule)
            money = views.money(view, total)
            if due is not None:
                dunning.retries += 1
                dunning.next_retry_at = due
                last = retry_at(dunning.first_declined_at, len(schedule), schedule) or due
                self._track.enter(
                    ACTIVE,
                    f"{view.last_error}; retry {dunning.retries} of {len(schedule)} {when(due)}",
                    by="system",
                    stage="dunning",
                    deadline=last + timedelta(seconds=opts.step_deadline_s),
                )
                await self._email(
                    f"{order_id}:declined:{attempt}",
                    "subscription_payment_failed",
                    order_id=order_id,
                    total=money,
                    reason=reason,
                    retry_at=when(due),
                )
                while view.status != CANCELLED and not self.retry_now and workflow.now() < due:
                    await self._sleep(due, f"payment retry {dunning.retries}")
            else:
                view.dunning, view.next_renewal_at = None, None
                note = f"{view.last_error} after {len(schedule)} retries; paused until resumed"
                self._track.enter(PAST_DUE, note, by="system")
                await self._email(
                    f"{order_id}:past_due:{attempt}",
                    "subscription_past_due",
                    order_id=order_id,
                    total=money,
                    reason=reason,
                )
                while view.status == PAST_DUE:
                    await self._sleep(None, "a new card from the customer")
            if view.status == CANCELLED:
                return None

    async def place(
        self, order_id: str, period: int, price: RenewalPrice, authorization_id: str
    ) -> str:
        """Start the period's order (once: a duplicate start finds the existing one) and
        list it on the subscription; returns the history line that says so."""
        view, inp = self._view, self._inp
        money = views.money(view, price.total)
        try:
            await workflow.start_child_workflow(
                OrderWorkflow.run,
                OrderInput(
                    order_id=order_id,
                    channel="subscription",
                    customer=view.customer,
                    currency=view.currency,
                    lines=price.lines,
                    ship_to=view.ship_to,
                    shipping_speed=view.shipping_speed,
                    payment=self.payment,
                    placed_at=workflow.now(),
                    options=inp.options.order_options,
                    authorization_id=authorization_id,
                    # Taxed and charged shipping when the renewal was priced with them.
                    totals=price.totals,
                    price_source="price_list",
                    # Placed by the OMS: not the customer's own order for the risk rules.
                    origin="renewal",
                ),
                id=order_workflow_id(order_id),
                task_queue=self._q(WORKFLOW_QUEUE),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                search_attributes=sa.child_order(view.customer.id, "subscription"),
                static_summary=f"Order {order_id} · subscription {inp.subscription_id} · {money}",
            )
            placed = f"renewed: order {order_id}, {money}"
        except WorkflowAlreadyStartedError:
            placed = f"renewed: order {order_id} already placed, not placed again"
        view.orders.append(
            SubscriptionOrder(
                order_id=order_id, period=period, placed_at=workflow.now(), total=price.total
            )
        )
        view.last_total = price.total
        return placed
