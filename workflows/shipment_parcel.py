"""A parcel's goods and money, for ``ShipmentWorkflow``: a short pick's missing units leave
stock; when the parcel ships its units are consumed, then it is charged (the company's
credit, a card capture, or nothing for a return's replacement), each exactly once on the
shipment's own key. A charge refused for good (:func:`refusal`) does not stop the parcel:
the goods have left.

Workflow code (no I/O).
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.inventory import InventoryActivities
    from oms.domain.money import round_money
    from oms.domain.order_changes import cut_lines
    from oms.domain.tax import parcel_charge
    from oms.models.common import SkuQuantity
    from oms.models.credit import ConsumeCredit
    from oms.models.inventory import ConsumeRequest
    from oms.models.order_changes import ShortPick, TrimReservation
    from oms.models.shipments import ConfirmPick, ShipmentInput, ShipmentView
    from oms.queues import INVENTORY_QUEUE, PAYMENTS_QUEUE
    from oms.views.orders import units
    from workflows import policies
    from workflows.payments import OrderPayments
    from workflows.tracker import Tracker


class Parcel:
    """The shipment's lines as the warehouse and the payment see them (its view's)."""

    def __init__(
        self, inp: ShipmentInput, view: ShipmentView, track: Tracker[ShipmentView]
    ) -> None:
        self._inp, self._view, self._track = inp, view, track

    async def short_pick(self, pick: ConfirmPick, missing: list[SkuQuantity]) -> ShortPick:
        """Ship what was picked: the missing units' reservations leave stock (they are not
        on the shelf). Returns what the order is to hear is missing."""
        inp, view = self._inp, self._view
        for line in missing:
            view.lines = cut_lines(view.lines, line.sku, line.quantity)
        view.short = missing
        self._track.note(
            f"Short pick by {pick.picked_by}: missing {units(missing)}; the parcel ships "
            f"{units(SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in view.lines)}",
            by=pick.picked_by,
            action="short_pick",
        )
        for line in missing:
            keep = sum(ln.quantity for ln in view.lines if ln.sku == line.sku)
            await workflow.execute_activity_method(
                InventoryActivities.trim,
                TrimReservation(
                    order_id=inp.order_id,
                    sku=line.sku,
                    keep=keep,
                    shipment_id=inp.shipment_id,
                    lost=True,
                ),
                **policies.STORE.kwargs(
                    inp.task_queue_prefix + INVENTORY_QUEUE, f"{line.sku} short: keep {keep}"
                ),
            )
        return ShortPick(
            shipment_id=inp.shipment_id,
            warehouse_id=inp.warehouse_id,
            missing=missing,
            by=pick.picked_by,
        )

    def amount(self) -> Decimal:
        """What the parcel's lines cost as they are now (a line cancellation may have taken
        units out): with VAT and shipping when the order was priced so (docs/money.md)."""
        inp, view = self._inp, self._view
        if inp.prices_include_tax is None:
            return sum((li.unit_price * li.quantity for li in view.lines), Decimal("0.00"))
        return parcel_charge(
            view.lines,
            currency=inp.currency,
            prices_include_tax=inp.prices_include_tax,
            shipping=inp.shipping_charge,
        )

    async def consume(self) -> None:
        """The parcel's units leave the warehouse's stock."""
        inp = self._inp
        await workflow.execute_activity_method(
            InventoryActivities.consume,
            ConsumeRequest(
                shipment_id=inp.shipment_id,
                order_id=inp.order_id,
                warehouse_id=inp.warehouse_id,
                lines=[SkuQuantity(sku=li.sku, quantity=li.quantity) for li in self._view.lines],
            ),
            **policies.STORE.kwargs(
                inp.task_queue_prefix + INVENTORY_QUEUE, "stock leaves the warehouse"
            ),
        )

    async def charge(self, amount: Decimal) -> Decimal:
        """Charge the parcel's lines: the company's credit, a card capture, or nothing.
        Returns what was charged."""
        inp = self._inp
        queue = inp.task_queue_prefix + PAYMENTS_QUEUE
        if inp.payment_method == "exchange":
            return Decimal("0.00")  # a return's replacement: no charge
        if inp.payment_method == "invoice":
            # Credit is kept in the base currency: an order in another one uses its charge
            # at the rate of the day it was placed.
            credit = amount
            if inp.base_rate is not None and inp.base_currency is not None:
                credit = round_money(amount * inp.base_rate, inp.base_currency)
            await workflow.execute_activity_method(
                CreditActivities.consume,
                ConsumeCredit(
                    key=f"{inp.shipment_id}:invoice",
                    order_id=inp.order_id,
                    shipment_id=inp.shipment_id,
                    amount=credit,
                    lines=self._view.lines,  # the shipment's invoice: what it carries
                    # The invoice is in the order's currency, of what the parcel charged.
                    charged=amount,
                    currency=inp.currency,
                ),
                **policies.PAYMENTS.kwargs(queue, f"invoice {amount} {inp.currency} on credit"),
            )
            return amount
        payments = OrderPayments(queue, inp.order_id, inp.currency)
        capture = await payments.capture(f"{inp.shipment_id}:capture", inp.authorization_id, amount)
        return capture.amount


def refusal(err: ActivityError) -> str | None:
    """Why the provider (or the credit ledger) refused the parcel's charge for good: a
    non-retryable business rejection (``PaymentRejected``: more than is left on the
    authorization, an expired one; ``InvalidCreditMovement``). None for anything else (a
    cancellation): the ``PAYMENTS`` policy retries a provider that is down for ever, so
    such a failure never reaches here."""
    cause = err.cause
    if not isinstance(cause, ApplicationError):
        return None
    final = policies.PAYMENTS.retry.non_retryable_error_types or ()
    if cause.non_retryable or cause.type in final:
        return cause.message
    return None
