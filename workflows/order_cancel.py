"""An order's cancellation, for ``OrderWorkflow``: allowed until a shipment ships, it
stops the shipments that have not shipped, releases every reservation, voids the payment
authorization (or the company's credit) and tells the customer. A cancel that comes after
a shipment shipped (a customer's or support's that raced a parcel out, or the system's when
a re-authorization stayed declined past its hold) cancels the rest, answers
``AlreadyShipped`` and, behind :data:`REST_CANCELLED_PATCH`, tells the customer which units
will not come (``order_rest_cancelled``).

Workflow code (no I/O): the compensation is written out here, each step on its business
key in the part that owns it (shipments, stock, payment).
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.domain.lifecycle import ORDER
    from oms.domain.money import format_money
    from oms.domain.order_emails import told_why
    from oms.models.common import SkuQuantity
    from oms.models.orders import CancelOrder, OrderResult, OrderStatus
    from oms.models.shipments import ShipmentStatus
    from workflows.order_payment import Payment
    from workflows.order_shipments import DONE, Shipments
    from workflows.order_state import OrderRun
    from workflows.order_stock import Stock

# Patch: a cancel that leaves shipped parcels to complete the order tells the customer which
# units will not come, why and what they were charged (``order_rest_cancelled``, key
# ``<order>:rest-cancelled``). Asked only then, so other runs record no marker; a run
# without it completed with no word of the rest, and replays so.
REST_CANCELLED_PATCH = "order-rest-cancelled-email"


class Cancellation:
    """Asks for, runs and ends the order's cancellation (its progress in ``state``)."""

    def __init__(
        self, run: OrderRun, parts: tuple[Shipments, Stock, Payment], refresh: Callable[[], None]
    ) -> None:
        self._inp, self._view, self._track, self._state = run.inp, run.view, run.track, run.state
        self._shipments, self._stock, self._payment = parts
        self._email, self._refresh_status = run.email, refresh

    def check(self) -> None:
        """Raises ``ApplicationError`` ``NotCancellable`` (ended, already cancelling, or
        being changed: an edit, a line cancellation or a claim under way) or
        ``AlreadyShipped``."""
        if ORDER.step(self._view.status).terminal:
            raise ApplicationError(f"order is already {self._view.status}", type="NotCancellable")
        if self._state.cancel is not None:
            raise ApplicationError("order is already being cancelled", type="NotCancellable")
        # A parcel settled by a claim left the warehouse and was charged too: cancelling
        # the order then would stop its reship and void nothing, refunding nothing.
        if self._shipments.shipped() or self._shipments.claimed():
            raise ApplicationError(
                "order cannot be cancelled: a shipment has shipped", type="AlreadyShipped"
            )
        if self._state.changing:
            raise ApplicationError(
                "the order is being changed (an edit, a line cancellation or a claim); "
                "cancel it again in a moment",
                type="NotCancellable",
            )

    async def request(self, request: CancelOrder) -> None:
        """Ask the main loop to cancel and wait until the compensation ran.

        Raises ``ApplicationError(type="AlreadyShipped")`` when a shipment shipped while
        the cancel ran (the other shipments are still cancelled).
        """
        self._state.cancel = request
        await workflow.wait_condition(lambda: self._state.cancel_outcome is not None)
        if not self._state.cancel_outcome:
            raise ApplicationError(
                "a shipment shipped while cancelling; the rest of the order was cancelled",
                type="AlreadyShipped",
            )

    async def compensate(self) -> bool:
        """Undo everything not yet shipped; True when the whole order ended cancelled."""
        state = self._state
        request = state.cancel or CancelOrder(reason="cancelled")
        stopping = [s for s in self._shipments.by_id.values() if s.status not in DONE]
        owed = list(self._view.backordered)
        await self._shipments.stop(request.reason)
        await self._stock.release()
        await self._payment.release()
        self._view.backordered = []
        state.cancel_done = True
        shipped = self._shipments.shipped()
        if not shipped:
            return True
        self._track.note(
            f"Cancel by {request.requested_by} came after {shipped[0].shipment_id} shipped; "
            "the rest was cancelled"
        )
        self._refresh_status()
        state.cancel_outcome = False
        stopped = [ln for s in stopping if s.status == ShipmentStatus.CANCELLED for ln in s.lines]
        cancelled = _merged([*stopped, *owed])
        if cancelled and workflow.patched(REST_CANCELLED_PATCH):
            await self._tell_rest_cancelled(request, cancelled)
        return False

    async def _tell_rest_cancelled(self, request: CancelOrder, units: list[SkuQuantity]) -> None:
        """Tell the customer which units will not come and why, that nothing more is
        charged for them (the authorization's remainder voided, the credit released) and
        what the parcels that shipped charged."""
        charged = self._shipments.charged()
        view = self._view
        extra: dict[str, object] = {
            "reason": request.reason,
            "cancelled": [{"sku": u.sku, "quantity": u.quantity} for u in units],
        }
        # The OMS's own reason as a code the template words in the customer's language, or
        # the note for the customer; a person's reason stays internal (payload only).
        extra.update(told_why(request.reason, request.requested_by, request.customer_note))
        if charged is not None:
            extra["charged_so_far"] = format_money(charged, view.currency, view.customer.locale)
        key = f"{self._inp.order_id}:rest-cancelled"
        await self._email(key, "order_rest_cancelled", **extra)

    async def finish(self) -> OrderResult:
        """End the order cancelled (compensating first if nothing did yet) and tell the
        customer; the run returns what this returns."""
        state = self._state
        request = state.cancel or CancelOrder(reason="cancelled")
        if not state.cancel_done:
            await self.compensate()  # cancelled before allocation: release is idempotent
        self._view.cancel_reason = request.reason
        self._view.cancel_note = request.customer_note
        self._track.enter(
            OrderStatus.CANCELLED,
            f"Cancelled by {request.requested_by}: {request.reason}",
            by=request.requested_by,
        )
        state.cancel_outcome = True
        key = f"{self._inp.order_id}:cancelled"
        # Only the context changes (no command): a payload, so no patch. ``reason`` stays in
        # it for the record; the templates show only ``why`` or ``customer_note``.
        why = told_why(request.reason, request.requested_by, request.customer_note)
        await self._email(key, "order_cancelled", reason=request.reason, **why)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return OrderResult(order_id=self._inp.order_id, status=OrderStatus.CANCELLED)


def _merged(units: list[SkuQuantity]) -> list[SkuQuantity]:
    """Units per SKU, in the order each SKU first comes."""
    by_sku: dict[str, int] = {}
    for unit in units:
        by_sku[unit.sku] = by_sku.get(unit.sku, 0) + unit.quantity
    return [SkuQuantity(sku=sku, quantity=qty) for sku, qty in by_sku.items() if qty > 0]
