"""A return's exchange, for ``ReturnWorkflow``: the received units (or, for an exchange to
other variants, the variants standing for them) sent again as a replacement order at no
charge, once the price difference is settled on the order's card.

Workflow code (no I/O): every payment is an activity on the return's own key
(``<rma>:exchange-authorize``, ``-capture``, ``<rma>:exchange-difference``); the
replacement is the child ``OrderWorkflow`` ``exchange_order_id(<rma>)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from oms import search_attributes as sa
    from oms.domain.money import order_total
    from oms.domain.returns import (
        CHARGED_DIFFERENCE,
        REFUNDED_DIFFERENCE,
        all_replaceable,
        exchanged_variants,
        missing_note,
        replacement_order,
        replacement_units,
    )
    from oms.ids import exchange_order_id, order_workflow_id
    from oms.models.orders import OrderLine
    from oms.models.returns import ReturnInput, ReturnStatus, ReturnView
    from oms.queues import PAYMENTS_QUEUE, WORKFLOW_QUEUE
    from oms.views import returns as views
    from workflows.order import OrderWorkflow
    from workflows.payments import OrderPayments
    from workflows.return_receipt import EmailOps
    from workflows.tracker import Tracker

# An exchange to other variants with units that did not come back as the product (received
# as ``wrong_item``) sends, and settles the price difference on, only the variants that stand
# for the units that did (``oms.domain.returns.exchanged_variants``). Before, it sent every
# variant asked for and charged their difference against the received units alone.
RECEIVED_UNITS_PATCH = "return-exchange-received-units-only"

# Sends one of the return's emails to the customer: (key, template, **context).
Email = Callable[..., Awaitable[None]]
# Refunds the received units as a refund return would (waiting for retries if declined).
Refund = Callable[[], Awaitable[None]]


class Exchange:
    """The replacement order of an exchange return, and the money its variants cost."""

    def __init__(
        self,
        inp: ReturnInput,
        view: ReturnView,
        track: Tracker[ReturnView],
        mail: tuple[Email, EmailOps],
        refund: Refund,
    ) -> None:
        self._inp, self._view, self._track = inp, view, track
        self._email, self._email_ops = mail
        self._refund = refund
        self._prefix = inp.options.task_queue_prefix
        self._payments = OrderPayments(self._prefix + PAYMENTS_QUEUE, inp.order_id, inp.currency)
        # For the emails: a cheaper variant's difference the provider refused to refund
        # (operations settle it), and a dearer one's that could not be charged (the
        # received units are refunded instead).
        self._difference_refunded = True
        self.not_charged: Decimal | None = None

    async def replace(self) -> None:
        """Send the received units again as a replacement order, at no charge; or, for an
        exchange to other variants, those, once the price difference is settled. Units
        received as ``wrong_item`` are not replaced: behind ``RECEIVED_UNITS_PATCH`` only
        the variants standing for the units received as the product are sent and priced
        (``oms.domain.returns.exchanged_variants``; none: they are refunded instead)."""
        inp = self._inp
        lines = [
            OrderLine(sku=ln.sku, quantity=replacement_units(ln), unit_price=Decimal("0.00"))
            for ln in self._view.lines
            if replacement_units(ln) > 0
        ]
        if not lines:
            self._track.note("nothing to replace", by="system")
            return
        if inp.exchange_for:
            variants = list(inp.exchange_for)
            # Asked only when some returned unit is not replaced: a return received whole as
            # the product sends everything asked for, as before, and records no marker.
            if not all_replaceable(self._view.lines) and workflow.patched(RECEIVED_UNITS_PATCH):
                chosen = self._received_units_only()
                if chosen is None:
                    await self._refund()
                    return  # no unit-for-unit match: refunded instead
                variants = chosen
            if not await self._settle_difference(variants):
                return  # refunded instead
            lines = [ln.model_copy(update={"unit_price": Decimal("0.00")}) for ln in variants]
        order_id = exchange_order_id(inp.rma_id)
        order = replacement_order(inp, order_id, lines, workflow.now())
        await workflow.start_child_workflow(
            OrderWorkflow.run,
            order,
            id=order_workflow_id(order_id),
            task_queue=self._prefix + WORKFLOW_QUEUE,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=sa.child_order(order.customer.id, order.channel),
            static_summary=f"Order {order_id} · exchange for return {inp.rma_id} · no charge",
        )
        self._view.exchange_order_id = order_id
        units = ", ".join(f"{ln.quantity} x {ln.sku}" for ln in lines)
        note = f"replacement order {order_id}: {units}"
        self._track.enter(ReturnStatus.EXCHANGED, note, by="system")
        await self._email(
            "exchanged",
            "return_exchanged",
            new_order_id=order_id,
            **views.exchanged_context(inp, self._view, lines, self._difference_refunded),
        )

    def _received_units_only(self) -> list[OrderLine] | None:
        """The variants sent for the units that came back as the product (patch
        ``return-exchange-received-units-only``), noted in the history; None when they have
        no unit-for-unit match to what came back (then the received units are refunded)."""
        view = self._view
        variants = exchanged_variants(view.lines, self._inp.exchange_for)
        not_replaced = missing_note(
            {
                ln.sku: ln.quantity - replacement_units(ln)
                for ln in view.lines
                if ln.quantity > replacement_units(ln)
            }
        )
        if variants is None:
            self._track.note(
                f"the exchange to other variants has no unit-for-unit match to what came "
                f"back ({not_replaced} not received as the product): the received units "
                "are refunded instead",
                by="system",
            )
            return None
        view.exchange_sent = [ln.model_copy() for ln in variants]
        sent = ", ".join(f"{ln.quantity} x {ln.sku}" for ln in variants)
        self._track.note(
            f"exchanging only for the units received as the product: sending {sent}; "
            f"{not_replaced} not received as the product is neither refunded nor replaced",
            by="system",
        )
        return variants

    async def _settle_difference(self, variants: list[OrderLine]) -> bool:
        """Charge (on the order's card: ``<rma>:exchange-authorize`` and ``-capture``) or
        refund (``<rma>:exchange-difference``) what the new ``variants`` cost beyond the
        received units. False when a charge was not possible: the received units are then
        refunded instead, as a refund return would."""
        inp, view = self._inp, self._view
        received = order_total(
            OrderLine(sku=ln.sku, quantity=replacement_units(ln), unit_price=ln.unit_price)
            for ln in view.lines
            if replacement_units(ln) > 0
        )
        difference = order_total(variants) - received
        view.exchange_difference = difference
        amount = f"{abs(difference)} {inp.currency}"
        if difference > 0:
            why = await self._charge(difference)
            if why is not None:
                view.exchange_difference = None
                self.not_charged = difference
                self._track.note(
                    f"the exchange's difference of {amount} could not be charged ({why}); "
                    "the received units are refunded instead",
                    by="system",
                )
                await self._refund()
                return False
            self._track.note(f"{CHARGED_DIFFERENCE} {amount}", by="system")
        elif difference < 0:
            try:
                await self._payments.refund(
                    f"{inp.rma_id}:exchange-difference",
                    -difference,
                    f"exchange {inp.rma_id}: price difference",
                )
            except ActivityError as err:
                problem = (
                    f"Return {inp.rma_id}: the exchange's difference of {amount} was not "
                    f"refunded ({err.cause or err}); refund it with POST /orders/"
                    f"{inp.order_id}/refunds"
                )
                self._difference_refunded = False
                self._track.note(problem, by="system")
                await self._email_ops("exchange_difference", problem)
            else:
                self._track.note(f"{REFUNDED_DIFFERENCE} {amount}", by="system")
        return True

    async def _charge(self, amount: Decimal) -> str | None:
        """Authorize and capture ``amount`` on the order's card; why not, or None."""
        inp = self._inp
        if inp.payment_token is None:
            return "the order was not paid by card"
        auth = await self._payments.authorize(
            f"{inp.rma_id}:exchange-authorize", amount, inp.payment_token
        )
        if auth.status != "authorized":
            return f"the card was declined: {auth.decline_reason or 'no reason given'}"
        await self._payments.capture(
            f"{inp.rma_id}:exchange-capture", auth.authorization_id, amount
        )
        return None
