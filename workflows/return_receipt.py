"""A return's parcel, for ``ReturnWorkflow``: inspect what arrived (restock, write off,
review) and refund each returned line once.

Workflow code (no I/O): every effect is an activity on its business key
(``<rma>:restock:<sku>``, ``<rma>:write_off:<sku>``, ``<rma>:refund:<sku>``; a return
received in parts keys its second and later parcels' effects ``...:<sku>:r<n>``, patch
``return-partial-receipts``). A line of an invoice-term order is refunded with a credit
note on the same key, which gives the company its credit back (patch
``return-credit-note``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.inventory import InventoryActivities
    from activities.returns import ReturnActivities
    from oms.domain.returns import apply_receipt, credited_units, receipt_key, refund_due
    from oms.ids import order_workflow_id
    from oms.models.credit import CreditNoteRequest
    from oms.models.orders import BackorderWake
    from oms.models.returns import (
        ReceiveReturn,
        RefundRoomRequest,
        ReturnInput,
        ReturnLine,
        ReturnStatus,
        ReturnView,
        StockMovement,
    )
    from oms.queues import INVENTORY_QUEUE, PAYMENTS_QUEUE
    from workflows import policies
    from workflows.order_stock import WAKE_SIGNAL
    from workflows.payments import OrderPayments
    from workflows.tracker import Tracker

EmailOps = Callable[[str, str], Awaitable[None]]
# A return of an invoice-term order refunds each line with a credit note (a run started
# before refunded through the payment provider, which had nothing captured to refund).
CREDIT_NOTE_PATCH = "return-credit-note"


class Receipt:
    """What the warehouse does with a return's parcel, and the refund that follows."""

    def __init__(
        self, inp: ReturnInput, view: ReturnView, track: Tracker[ReturnView], email_ops: EmailOps
    ) -> None:
        self._inp, self._view, self._track, self._email_ops = inp, view, track, email_ops
        self._prefix = inp.options.task_queue_prefix
        self._payments = OrderPayments(self._prefix + PAYMENTS_QUEUE, inp.order_id, inp.currency)
        # The numbers of the credit notes this return was refunded with (for its email).
        self.credit_notes: list[str] = []
        # Which parcel is being settled (1: the first, keyed as before parts existed), and,
        # for a return received in parts, what each line's earlier refund passes settled
        # (refunded, or not refunded because the order had nothing left): its worth.
        self.number = 1
        self.in_parts = False
        self._settled: dict[str, Decimal] = {}

    async def inspect(self, receipt: ReceiveReturn) -> None:
        """Count what arrived, restock the resellable units (waking the orders whose
        backorders they fill), write off the damaged ones, send wrong items to review."""
        view, rma, warehouse = self._view, self._inp.rma_id, receipt.warehouse_id
        before = {line.sku: line.received_wrong_item for line in view.lines}
        view.lines = apply_receipt(view.lines, receipt.lines)
        view.received_at_warehouse = warehouse
        view.receipts += 1
        got = ", ".join(f"{ln.quantity} x {ln.sku} {ln.condition}" for ln in receipt.lines)
        note = f"received at {warehouse}: {got}"
        self._track.enter(ReturnStatus.RECEIVED, note, by=receipt.received_by)
        for line in view.lines:
            # This parcel's units: what the line holds beyond what earlier parcels moved
            # (for the first parcel, everything it holds, as before parts existed).
            resellable = line.received_resellable - line.restocked
            if resellable:
                restocked = await self._move(
                    InventoryActivities.restock, "restock", receipt, line.sku, resellable
                )
                line.restocked = line.received_resellable
                self._note(f"restocked {resellable} x {line.sku} at {warehouse}")
                for order_id in restocked.filled_orders:
                    self._note(f"restocked {line.sku} filled order {order_id}'s backorder")
                    await _wake(order_id)
            damaged = line.received_damaged - line.written_off
            if damaged:
                await self._move(
                    InventoryActivities.write_off, "write_off", receipt, line.sku, damaged
                )
                line.written_off = line.received_damaged
                self._note(f"wrote off {damaged} damaged x {line.sku}")
            wrong = line.received_wrong_item - before.get(line.sku, 0)
            if wrong:
                problem = (
                    f"{wrong} unit(s) received for {line.sku} are not the "
                    "product sold: not refunded, manual review"
                )
                view.manual_review.append(problem)
                self._note(problem)
                key = f"review:{line.sku}" + (f":r{self.number}" if self.number > 1 else "")
                await self._email_ops(key, f"Return {rma}: {problem}")

    async def refund_lines(self, capped: bool = False, retry: int = 0) -> str | None:
        """Refund every line still due, each once; the first failure's reason, or None.

        ``retry``: how many times a person retried after a decline (each retry asks the
        provider on new keys, ``receipt_key``'s ``:retry-<n>``: the declined key would answer
        the decline; credit notes keep their keys).

        ``capped`` (patch ``return-refund-cap``): first read what is left to refund on the
        order (``returns.refund_room``) and never ask for more; a line the order has
        nothing left for is not asked for at all, and one it has less left for is refunded
        what is left (``shortfall`` says what was not refunded).
        """
        inp, view = self._inp, self._view
        left: Decimal | None = None
        if capped and not inp.invoice_terms and any(self._due(ln) for ln in view.lines):
            room = await workflow.execute_activity_method(
                ReturnActivities.refund_room,
                RefundRoomRequest(order_id=inp.order_id, rma_id=inp.rma_id),
                **policies.STORE.kwargs(
                    self._prefix + INVENTORY_QUEUE, "read what is left to refund on the order"
                ),
            )
            left = room.left(view.refund_total)
        for line in view.lines:
            due = self._due(line)
            if due <= 0:
                continue
            if left is not None:
                due = min(due, left)
                if due <= 0:
                    self._settle(line)
                    continue  # nothing left on the order: no provider call
                left -= due
            key = receipt_key(inp.rma_id, "refund", line.sku, self.number)
            reason = f"return {inp.rma_id}: {line.sku}"
            try:
                if inp.invoice_terms and workflow.patched(CREDIT_NOTE_PATCH):
                    # Nothing was captured from a card: the company is credited instead.
                    note = await workflow.execute_activity_method(
                        CreditActivities.credit_note,
                        CreditNoteRequest(
                            key=key,
                            order_id=inp.order_id,
                            amount=due,
                            reason=reason,
                            sku=line.sku,
                            quantity=credited_units(due, line.unit_price),
                        ),
                        **policies.PAYMENTS.kwargs(
                            self._prefix + PAYMENTS_QUEUE,
                            f"credit note of {due} {inp.currency} for {line.sku}",
                        ),
                    )
                    amount, how = note.amount, f" (credit note {note.number})"
                    self.credit_notes.append(note.number)
                else:
                    # A retry asks the provider on a new key (its declined one keeps the
                    # decline); a credit note is the OMS's own, refused without a trace.
                    refund = await self._payments.refund(
                        receipt_key(inp.rma_id, "refund", line.sku, self.number, retry),
                        due,
                        reason,
                        summary=f"refund {due} {inp.currency} for {line.sku}",
                    )
                    amount, how = refund.amount, ""
            except ActivityError as err:
                return f"refund for {line.sku} failed: {policies.cause(err)}"
            line.refunded = line.refunded + amount if self.in_parts else amount
            self._settle(line)
            view.refund_total = sum((ln.refunded for ln in view.lines), Decimal("0.00"))
            self._note(f"refunded {amount} {inp.currency} for {line.sku}{how}")
        return None

    def shortfall(self) -> Decimal:
        """What the received lines are worth beyond what was refunded for them."""
        worth = sum((refund_due(ln) for ln in self._view.lines), Decimal("0.00"))
        return max(worth - self._view.refund_total, Decimal("0.00"))

    def _due(self, line: ReturnLine) -> Decimal:
        """What is still to refund for a line: nothing once it was refunded (in full, or
        what was left on the order). Received in parts: the worth of the units no earlier
        refund pass settled."""
        if self.in_parts:
            return max(refund_due(line) - self._settled.get(line.sku, Decimal("0.00")), Decimal(0))
        return Decimal("0.00") if line.refunded > 0 else refund_due(line)

    def _settle(self, line: ReturnLine) -> None:
        """Count a line's received units as settled (refunded, or capped to nothing)."""
        if self.in_parts:
            self._settled[line.sku] = refund_due(line)

    def _note(self, note: str) -> None:
        self._track.note(note, by="system")

    async def _move(
        self, method: Any, what: str, receipt: ReceiveReturn, sku: str, quantity: int
    ) -> Any:
        """Restock or write off ``quantity`` of ``sku`` where the parcel arrived, once."""
        return await workflow.execute_activity_method(
            method,
            StockMovement(
                key=receipt_key(self._inp.rma_id, what, sku, self.number),
                rma_id=self._inp.rma_id,
                warehouse_id=receipt.warehouse_id,
                sku=sku,
                quantity=quantity,
            ),
            **policies.STORE.kwargs(
                self._prefix + INVENTORY_QUEUE, f"{what.replace('_', ' ')} {sku}"
            ),
        )


async def _wake(order_id: str) -> None:
    """Tell an order that restocked units went to its backorder."""
    try:
        await workflow.get_external_workflow_handle(order_workflow_id(order_id)).signal(
            WAKE_SIGNAL, BackorderWake()
        )
    except Exception:  # the order re-checks its backorder on a timer
        workflow.logger.warning("could not wake order %s", order_id)
