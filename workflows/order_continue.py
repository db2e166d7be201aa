"""An order's continue-as-new, for ``OrderWorkflow``: an order that waits long for stock
(with no shipment under way) carries its view, money, reservations' counters and keys into
a new run once its history is long, and the new run takes them over.

Workflow code (no I/O).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from oms.models.orders import OrderCarried
    from workflows.order_claims import Claims
    from workflows.order_edits import Edits
    from workflows.order_lines import LineCancels
    from workflows.order_payment import Payment
    from workflows.order_shipments import CARRIED, ENDED, Shipments
    from workflows.order_state import OrderRun
    from workflows.order_stock import Stock

# The carried counters' prefix for what a SKU is owed at no charge (``Stock.free_owed``).
FREE_OWED = "free_owed:"


class Continuation:
    """Carries the order's parts into the next run (:meth:`carry_on`) and back (:meth:`resume`)."""

    def __init__(
        self,
        run: OrderRun,
        money: tuple[Shipments, Stock, Payment],
        changes: tuple[LineCancels, Edits, Claims],
    ) -> None:
        self._inp, self._view, self._track, self._state = run.inp, run.view, run.track, run.state
        self._shipments, self._stock, self._payment = money
        self._lines, self._edits, self._claims = changes

    def history_is_long(self) -> bool:
        """The server suggests a new run, or the history reached the order's own limit."""
        info = workflow.info()
        limit = self._inp.options.continue_as_new_after_events
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit

    def _idle(self) -> bool:
        state = self._state
        return (
            not state.rerouting
            and state.cancel is None
            and not state.wake
            and not self._shipments.changed
            and all(s.status in ENDED for s in self._shipments.by_id.values())
            and not state.changing
            and not self._lines.shorts
        )

    async def carry_on(self) -> None:
        """Carry the order into a new run while it only waits for stock: its view, money,
        reservations (they are the store's, under the order id) and key counters go along.

        Only with no shipment under way (a child would not follow its parent into the new
        run), no cancel, re-route or wake-up pending; otherwise it returns and the order
        waits as before.
        """
        if not self._idle():
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        if not self._idle() or not workflow.all_handlers_finished():
            self._track.reopen()  # something came in while the view was written: not now
            return
        # From here on nothing awaits: no handler can start before the run ends. The new
        # run writes the view with this line (and anything else not yet written).
        self._track.note("Still waiting for stock: continued as a new run", by="system")
        payment, stock = self._payment, self._stock
        carried = OrderCarried(
            view=self._view,
            since=self._track.since,
            stage=self._track.step.stage,
            authorization_id=payment.authorization_id,
            credit_reserved=payment.credit_reserved,
            payment_held=payment.held,
            next_shipment_no=self._shipments.next_no,
            claims=stock.claims,
            reroutes=stock.reroutes,
            owed_since=stock.owed_since,
            resends=self._state.resends,
            runs=(self._inp.carried.runs + 1) if self._inp.carried else 2,
            payment_token=payment.token,
            shipping_charged=self._shipments.charged_shipping,
            authorized_at=payment.authorized_at,
            counters={
                "reauthorize": payment.reauths,
                **self._lines.counters(),
                **self._edits.counters(),
                **self._claims.counters(),
                # Units owed at no charge, per SKU (a line cancel refunds them).
                **{f"{FREE_OWED}{sku}": n for sku, n in stock.free_owed.items() if n},
            },
        )
        # Search attributes and memo (the body's hash) go along by default.
        workflow.continue_as_new(self._inp.model_copy(update={"carried": carried}))

    def resume(self, carried: OrderCarried) -> None:
        """Take over the state the run before carried (see :meth:`carry_on`)."""
        state = self._state
        self._payment.authorization_id = carried.authorization_id
        self._payment.authorized_at = carried.authorized_at or self._inp.placed_at
        self._payment.reauths = carried.counters.get("reauthorize", 0)
        self._payment.credit_reserved = carried.credit_reserved
        self._payment.held = carried.payment_held
        self._shipments.by_id = {s.shipment_id: s for s in self._view.shipments}
        self._shipments.next_no = carried.next_shipment_no
        self._shipments.shipping_on = CARRIED if carried.shipping_charged else None
        self._stock.claims, self._stock.reroutes = carried.claims, carried.reroutes
        self._stock.owed_since = carried.owed_since
        self._stock.free_owed = {
            key.removeprefix(FREE_OWED): n
            for key, n in carried.counters.items()
            if key.startswith(FREE_OWED)
        }
        state.resends = carried.resends
        state.past_gate = True
        # It waited for stock: paid for and allocated, so it may be edited and cut.
        state.secured = state.allocated = True
        self._payment.token = carried.payment_token or self._payment.token
        self._lines.restore(carried.counters)
        self._edits.restore(carried.counters)
        self._claims.restore(carried.counters)
        # Claim at once (a wake-up signal may have come as the run before ended) and write
        # the carried view (its last line was never written).
        state.wake = True
        self._track.changed()
