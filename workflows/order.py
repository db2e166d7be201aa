"""OrderWorkflow: one customer order from receipt to completion or cancellation.

Workflow id ``order-<order_id>``. Secures the payment (``workflows/order_payment.py``:
holding the order when declined), confirms, allocates stock to the nearest warehouse(s),
starts one ``ShipmentWorkflow`` child per shipment (``workflows/order_shipments.py``),
fills backorders when stock arrives (first placed, first served, decided by the store),
and completes when every shipment is delivered. Cancel is an update: allowed until a
shipment ships, it releases every reservation, stops the shipments, voids the payment
authorization and tells the customer. Status, search attributes, details, metrics and
the read model follow from the lifecycle tracker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.orders import ReadModelActivities, RiskActivities
    from oms.domain import lifecycle
    from oms.domain.fulfilment import is_finished, order_status
    from oms.domain.money import order_total
    from oms.domain.risk import RISK_REVIEW
    from oms.ids import order_workflow_id
    from oms.models.ops import OpsNote, RerouteShipment, ResendNotification
    from oms.models.order_changes import (
        CancelLine,
        EditOrder,
        OpenClaim,
        ShipmentTrimmed,
        ShortPick,
    )
    from oms.models.orders import (
        BackorderWake,
        CancelOrder,
        CreditApproval,
        Hold,
        HoldRequest,
        NoteEntry,
        OrderCarried,
        OrderInput,
        OrderNote,
        OrderResult,
        OrderStatus,
        OrderView,
        PurchaseDecision,
        ReadModelWrite,
        RetryPayment,
    )
    from oms.models.risk import RiskCheck
    from oms.models.shipments import ShipmentMilestone, ShipmentStatus
    from oms.queues import INVENTORY_QUEUE
    from oms.views import orders as views
    from workflows import policies
    from workflows.legacy.order import OrderV1
    from workflows.order_approval import PurchaseApprovals
    from workflows.order_claims import Claims
    from workflows.order_edits import Edits
    from workflows.order_lines import LineCancels
    from workflows.order_payment import Payment
    from workflows.order_shipments import CARRIED, ENDED, Shipments
    from workflows.order_stock import WAKE_SIGNAL, Stock
    from workflows.tracker import Tracker

__all__ = ["LIFECYCLE_PATCH", "OrderWorkflow", "order_workflow_id"]

# Patch: a run with this marker uses the tracker; one without runs the 0.1 code.
LIFECYCLE_PATCH = "lifecycle-tracker"
# Patch: a run with this marker passes the risk review and waits while held before it is
# confirmed and allocated; one without goes straight on (it was never reviewed).
HOLDS_PATCH = "order-holds"
# Patch: a company order the approval rules name approvers for waits for them before it
# is confirmed (a purchase-order approval); asked only of orders whose input names any.
PURCHASE_APPROVAL_PATCH = "order-purchase-approval"
# Patch: a run with this marker continues as new while it waits for stock with no shipment
# under way, once its history is long; one without waits in the same run (until the limit).
CONTINUE_AS_NEW_PATCH = "order-continue-as-new"
_OWED_STATUSES = (
    OrderStatus.BACKORDERED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    """The whole life of one order; its state is available by the ``state`` query."""

    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        self._legacy = None if workflow.patched(LIFECYCLE_PATCH) else OrderV1(inp)
        if self._legacy is not None:
            self._legacy.install()
            return
        self._inp, opts = inp, inp.options
        carried = inp.carried
        self._view = (
            carried.view
            if carried
            else OrderView(
                order_id=inp.order_id,
                status=OrderStatus.RECEIVED,
                channel=inp.channel,
                customer=inp.customer,
                currency=inp.currency,
                total=order_total(inp.lines),
                lines=inp.lines,
                ship_to=inp.ship_to,
                shipping_speed=inp.shipping_speed,
                price_source=inp.price_source,
                placed_at=inp.placed_at,
                updated_at=inp.placed_at,
            )
        )
        if carried is None and inp.totals is not None:
            # A continued run's view already shows them.
            views.show_totals(self._view, inp.totals)
        self._track = Tracker(
            lifecycle.ORDER,
            self._view,
            limits={
                lifecycle.STEP: opts.step_deadline_s,
                lifecycle.HOLD: opts.hold_timeout_s,
                lifecycle.BACKORDER: opts.backorder_alert_s,
                lifecycle.APPROVAL: opts.approval_reminder_s,
            },
            details=views.details,
            record=self._record,
            queue_prefix=opts.task_queue_prefix,
            since=carried.since if carried else inp.placed_at,
            stage=carried.stage if carried else None,
        )
        self._payment = Payment(inp, self._track, self._email, lambda: self._cancel is not None)
        self._shipments = Shipments(inp, self._view, self._track)
        self._stock = Stock(inp, self._view)
        self._approvals = PurchaseApprovals(inp, self._view, self._track)
        self._cancel: CancelOrder | None = None
        self._cancel_done = False
        self._cancel_outcome: bool | None = None  # True: ended cancelled; False: shipped first
        self._wake = False
        self._resends = self._rerouting = 0
        self._past_gate = False  # past the risk review and any hold: allocation may start
        self._allocated = False  # its first allocation is done: lines may be cancelled
        # The allocation decided (the status shows it) while its shipments start: a line
        # cancellation is accepted and waits for them rather than refused.
        self._decided = False
        self._lines = LineCancels(
            inp, self._view, self._track, self._shipments, self._stock, self._payment
        )
        # One change of the order's stock at a time: an edit, a line cancellation, a claim.
        self._stock_lock = asyncio.Lock()
        parts = (self._shipments, self._stock, self._payment, self._lines)
        self._edits = Edits(inp, self._view, self._track, parts, self._email)
        self._secured = False  # the payment is secured: an edit may change the money
        # Edits, line cancellations and claims under way: a whole-order cancel waits.
        self._changing = 0
        self._claims = Claims(
            inp, self._view, self._track, (self._shipments, self._stock, self._payment)
        )
        if carried is not None:
            self._resume(carried)

    # --- queries, updates, signals ---------------------------------------------------

    @workflow.query
    def state(self) -> OrderView:
        return self._view

    @workflow.update
    async def cancel(self, request: CancelOrder) -> OrderView:
        """Cancel with full compensation; answers once the compensation has run.

        Raises ``ApplicationError(type="AlreadyShipped")`` when a shipment shipped
        while the cancel ran (the other shipments are still cancelled).
        """
        self._track.update_accepted()
        self._cancel = request
        await workflow.wait_condition(lambda: self._cancel_outcome is not None)
        if not self._cancel_outcome:
            raise ApplicationError(
                "a shipment shipped while cancelling; the rest of the order was cancelled",
                type="AlreadyShipped",
            )
        return self._track.for_caller()

    @cancel.validator
    def _validate_cancel(self, request: CancelOrder) -> None:
        if self._view.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
            raise ApplicationError(f"order is already {self._view.status}", type="NotCancellable")
        if self._cancel is not None:
            raise ApplicationError("order is already being cancelled", type="NotCancellable")
        if self._shipments.shipped():
            raise ApplicationError(
                "order cannot be cancelled: a shipment has shipped", type="AlreadyShipped"
            )
        if self._changing:
            raise ApplicationError(
                "the order is being changed (an edit, a line cancellation or a claim); "
                "cancel it again in a moment",
                type="NotCancellable",
            )

    @workflow.signal
    def shipment_milestone(self, milestone: ShipmentMilestone) -> None:
        """A shipment shipped, is held or is late (delivered and cancelled: its result)."""
        self._shipments.milestone(milestone)

    @workflow.update
    async def approve_credit(self, approval: CreditApproval) -> OrderView:
        """Finance lets an order held over its company's credit limit go ahead."""
        self._track.update_accepted()
        self._payment.approval = approval
        self._track.note(
            f"Credit over the limit approved by {approval.approver} ({approval.role})"
            + (f": {approval.comment}" if approval.comment else ""),
            by=approval.approver,
        )
        await workflow.wait_condition(lambda: not self._payment.awaiting_credit)
        return self._track.for_caller()

    @approve_credit.validator
    def _validate_credit(self, approval: CreditApproval) -> None:
        if not self._payment.awaiting_credit:
            raise ApplicationError(
                "the order is not waiting for a credit approval", type="NotAwaitingCredit"
            )
        if approval.role not in ("finance", "cfo"):
            raise ApplicationError(
                f"only finance can approve credit over the limit, not {approval.role}",
                type="WrongRole",
            )

    @workflow.update
    async def approve_purchase(self, decision: PurchaseDecision) -> OrderView:
        """An approver decides on a company order the approval rules hold (see
        ``workflows/order_approval.py``); rejections come from the validator."""
        self._track.update_accepted()
        self._approvals.decide(decision)
        return self._track.for_caller()

    @approve_purchase.validator
    def _validate_purchase(self, decision: PurchaseDecision) -> None:
        self._refuse_legacy("purchase-order approvals")
        self._approvals.validate(decision)

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the order's history with who and why."""
        self._track.note(
            f"Operations ({note.by}): {note.action}: {note.reason}", by=f"ops:{note.by}"
        )

    @workflow.update
    async def add_note(self, note: OrderNote) -> OrderView:
        """Keep a note (and its tags) on the order: in its view, its history and the
        Temporal UI's details. Answers at once; the caller records the view it returns."""
        self._track.update_accepted()
        entry = NoteEntry(at=workflow.now(), by=note.by, text=note.text, tags=note.tags)
        self._view.notes.append(entry)
        self._track.note(views.note_line(entry), by=note.by, action="note")
        return self._track.for_caller()

    @add_note.validator
    def _validate_note(self, note: OrderNote) -> None:
        self._refuse_legacy("notes")

    def _refuse_legacy(self, what: str) -> None:
        if self._legacy is not None:
            raise ApplicationError(
                f"this order runs the 0.1 code, which has no {what}", type="NotSupported"
            )

    def _refuse_closing(self, error_type: str, *, ended: bool = False) -> None:
        """Refuse a change while the order is being cancelled or, with ``ended``, once it
        was cancelled or completed: ``ApplicationError`` of ``error_type``."""
        if ended and self._view.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
            raise ApplicationError(f"order is already {self._view.status}", type=error_type)
        if self._cancel is not None:
            raise ApplicationError("the order is being cancelled", type=error_type)

    @workflow.update
    async def hold(self, request: HoldRequest) -> OrderView:
        """Hold the order before allocation (who and why in its history).

        Taken at once; the order waits ``on_hold`` as soon as its payment is secured (now,
        if it is). Raises ``ApplicationError`` ``TooLateToHold`` once allocation started,
        ``AlreadyHeld`` when held, ``NotHoldable`` while cancelling (from the validator).
        """
        self._track.update_accepted()
        self._view.hold = Hold(reason=request.reason, by=request.by, at=workflow.now())
        self._track.note(f"Held by {request.by}: {request.reason}", by=request.by, action="hold")
        return self._track.for_caller()

    @hold.validator
    def _validate_hold(self, request: HoldRequest) -> None:
        self._refuse_legacy("holds")
        self._refuse_closing("NotHoldable")
        if self._past_gate:
            raise ApplicationError(
                f"too late to hold: the order is {self._view.status} and its stock is "
                "allocated or being allocated; cancel it instead",
                type="TooLateToHold",
            )
        if self._view.hold is not None:
            raise ApplicationError(
                f"already held by {self._view.hold.by}: {self._view.hold.reason}",
                type="AlreadyHeld",
            )

    @workflow.update
    async def release(self, request: HoldRequest) -> OrderView:
        """Release the order's hold: it goes on to confirmation and allocation.

        Raises ``ApplicationError(type="NotHeld")`` when nothing holds it (from the validator).
        """
        self._track.update_accepted()
        hold = self._view.hold
        self._view.hold = None
        self._track.note(
            f"Released by {request.by}: {request.reason}"
            + (f" (held by {hold.by}: {hold.reason})" if hold else ""),
            by=request.by,
            action="release",
        )
        return self._track.for_caller()

    @release.validator
    def _validate_release(self, request: HoldRequest) -> None:
        self._refuse_legacy("holds")
        if self._view.hold is None:
            waits = (
                "; it waits for its payment (POST /ops/orders/{id}/release-hold)"
                if self._view.status == OrderStatus.ON_HOLD
                else ""
            )
            raise ApplicationError(f"the order is not held{waits}", type="NotHeld")

    @workflow.update
    async def resend_notification(self, request: ResendNotification) -> OrderView:
        """Send one of the order's customer emails again (a new outbox key per resend)."""
        self._track.update_accepted()
        self._resends += 1
        self._track.note(
            f"Operations ({request.by}) resent {request.notification}: {request.reason}",
            by=f"ops:{request.by}",
        )
        await self._email(
            f"{self._inp.order_id}:{request.notification}:resend:{self._resends}",
            request.notification,
            reason=self._view.cancel_reason or request.reason,
        )
        return self._track.for_caller()

    @workflow.update
    async def reroute(self, request: RerouteShipment) -> OrderView:
        """Move a shipment that has not shipped to another warehouse.

        The old shipment is cancelled and its reservation released (freed units go to the
        oldest backorders there); its lines are allocated again without the old warehouse
        (or only at ``request.warehouse_id``); what no warehouse has is backordered.
        Raises ``ApplicationError(type="NotReroutable")`` when it shipped meanwhile.
        """
        self._track.update_accepted()
        # While the old shipment is stopped and before the new one exists, the order must
        # not read as finished.
        with self._moving_shipments():
            await self._reroute(request)
        return self._track.for_caller()

    @reroute.validator
    def _validate_reroute(self, request: RerouteShipment) -> None:
        shipment = self._shipments.by_id.get(request.shipment_id)
        if shipment is None:
            raise ApplicationError(
                f"order has no shipment {request.shipment_id}", type="UnknownShipment"
            )
        if shipment.status not in (ShipmentStatus.PICKING, ShipmentStatus.HELD):
            raise ApplicationError(
                f"only a shipment that is picking or held can be re-routed; it is "
                f"{shipment.status}",
                type="NotReroutable",
            )
        if request.warehouse_id == shipment.warehouse_id:
            raise ApplicationError("that is the warehouse it ships from", type="NotReroutable")
        self._refuse_closing("NotReroutable")

    @workflow.update
    async def cancel_line(self, request: CancelLine) -> OrderView:
        """Cancel ``request.quantity`` units of one line until they ship (who and why in
        the history): owed units first, then shipments that have not shipped.

        Raises ``ApplicationError`` ``TooLateToCancelLine`` (fewer units left that have not
        shipped, or a shipment shipped first), ``UnknownLine``, ``WholeOrder`` (nothing would
        be left: cancel the order), ``NotAllocated`` (before its stock is allocated),
        ``NotCancellable`` (the order ended or is being cancelled).
        """
        self._track.update_accepted()
        if not self._allocated:
            await workflow.wait_condition(lambda: self._allocated)
        async with self._changing_stock():
            await self._lines.cancel(request, lambda: self._cancel is not None)
        return self._track.for_caller()

    @cancel_line.validator
    def _validate_cancel_line(self, request: CancelLine) -> None:
        self._refuse_legacy("line cancellation")
        self._refuse_closing("NotCancellable", ended=True)
        if not self._allocated and not self._decided:
            raise ApplicationError(
                f"the order is {self._view.status} and its stock is not allocated yet; "
                "cancel the order, or cancel the line once it is allocated",
                type="NotAllocated",
            )
        self._lines.plan(request)

    @workflow.update
    async def edit(self, request: EditOrder) -> OrderView:
        """Change lines, address or shipping speed before the first pick (who and why in the
        history, one "order changed" email); all or nothing.

        Raises ``ApplicationError`` ``TooLateToEdit`` naming the shipment whose pick started,
        ``PaymentDeclined`` (a raised total the card refused), ``NothingChanged``,
        ``UnknownSku``, ``WholeOrder``, ``NotEditableYet`` (paying or allocating: try again),
        ``NotEditable`` (ended or cancelling); the order is unchanged each time.
        """
        self._track.update_accepted()
        async with self._changing_stock():
            self._check_editable()
            with self._moving_shipments():  # while old shipments stop and new ones start
                await self._edits.edit(request, self._allocated)
        return self._track.for_caller()

    @edit.validator
    def _validate_edit(self, request: EditOrder) -> None:
        self._refuse_legacy("edits")
        self._check_editable()
        self._edits.check(request)

    def _check_editable(self) -> None:
        self._refuse_closing("NotEditable", ended=True)
        if not self._secured or (self._past_gate and not self._allocated):
            raise ApplicationError(
                f"the order is {self._view.status} and its payment or stock is being "
                "settled; try again in a moment",
                type="NotEditableYet",
            )

    @workflow.update
    async def open_claim(self, request: OpenClaim) -> OrderView:
        """A parcel was lost or damaged in transit: settle it and reship its lines at no
        charge or refund them (who and why in the history).

        Raises ``ApplicationError`` ``UnknownShipment``, ``AlreadyClaimed``, ``NotShipped``,
        ``NotLost``, ``NotSupported``, ``RefundDeclined``, ``NotClaimable`` (the order is
        being cancelled).
        """
        self._track.update_accepted()
        async with self._changing_stock():
            # The settled parcel must not end the order before its reship.
            with self._moving_shipments():
                await self._claims.open(request)
        return self._track.for_caller()

    @open_claim.validator
    def _validate_claim(self, request: OpenClaim) -> None:
        self._refuse_legacy("claims")
        self._refuse_closing("NotClaimable")
        self._claims.check(request)

    @workflow.signal
    def shipment_trimmed(self, answer: ShipmentTrimmed) -> None:
        """A shipment took units out for a line cancellation, or refused (it is shipping)."""
        self._lines.answered(answer)

    @workflow.signal
    def shipment_short(self, pick: ShortPick) -> None:
        """A shipment was picked short: its missing units are owed again or cancelled (the
        merchant's ``short_pick_policy``) by the main loop."""
        self._lines.shorts.append(pick)

    @workflow.signal
    def retry_payment(self, request: RetryPayment) -> None:
        self._payment.retry = request

    @workflow.signal(name=WAKE_SIGNAL)
    def backorder_wake(self, _wake: BackorderWake) -> None:
        self._wake = True

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: OrderInput) -> OrderResult:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        if inp.carried is not None:
            return await self._finish(await self._fulfil())
        note = f"Order received via {inp.channel}"
        self._track.enter(OrderStatus.RECEIVED, note, clock_start=inp.placed_at)
        self._cancel = await self._payment.secure() or self._cancel
        self._secured = self._cancel is None
        if self._cancel is None:
            await self._gate()
        if self._cancel is not None:
            return await self._finish_cancelled()
        self._track.enter(OrderStatus.CONFIRMED, "Payment authorized; order confirmed")
        confirmed = self._email(f"{inp.order_id}:confirmed", "order_confirmed")
        if self._cancel is not None:
            await confirmed
        else:
            # The confirmation and the allocation need nothing of each other.
            allocated = self._stock.allocate(self._shipments.next_no)
            decision, _ = await asyncio.gather(allocated, confirmed)
            self._decided = True
            self._track.enter(
                OrderStatus.BACKORDERED if decision.backordered else OrderStatus.ALLOCATED,
                views.allocation_note(decision),
                **self._stock.owe(decision.backordered),
            )
            await self._shipments.start(decision.shipments, self._payment.authorization_id or "")
            self._allocated = True
            self._refresh_status()
            if decision.backordered:
                await self._email(f"{inp.order_id}:backordered", "order_backordered")
        return await self._finish(await self._fulfil())

    async def _finish(self, cancelled: bool) -> OrderResult:
        if cancelled:
            return await self._finish_cancelled()
        inp = self._inp
        settled = " or settled by a claim" if self._view.claims else ""
        self._track.enter(OrderStatus.COMPLETED, f"Every shipment delivered{settled}")
        await self._email(f"{inp.order_id}:completed", "order_completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return OrderResult(order_id=inp.order_id, status=self._view.status)

    async def _gate(self) -> None:
        """Before confirmation and allocation: the risk review, then wait while held (by a
        person or the rules) until released or cancelled. Runs without the patch skip it."""
        if not workflow.patched(HOLDS_PATCH):
            self._past_gate = True
            return
        inp = self._inp
        # A return's replacement and an accepted B2B quote's order were reviewed already.
        if inp.payment.method != "exchange" and inp.quote_id is None:
            check = RiskCheck(
                order_id=inp.order_id,
                customer_id=inp.customer.id,
                currency=inp.currency,
                total=self._view.total,
                ship_country=inp.ship_to.country,
                bill_country=inp.bill_to.country if inp.bill_to else None,
                placed_at=inp.placed_at,
            )
            review = await workflow.execute_activity_method(
                RiskActivities.review_risk,
                check,
                **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "risk review"),
            )
            if review.findings and self._view.hold is None:
                self._view.hold = Hold(
                    reason=RISK_REVIEW, by="risk-rules", at=workflow.now(), findings=review.findings
                )
        if self._cancel is None and inp.approvals and workflow.patched(PURCHASE_APPROVAL_PATCH):
            refused = await self._approvals.wait(lambda: self._cancel is not None)
            self._cancel = self._cancel or refused
        while (hold := self._view.hold) is not None and self._cancel is None:
            why = "; ".join(hold.findings) or hold.reason
            self._track.enter(
                OrderStatus.ON_HOLD,
                f"On hold before allocation ({hold.reason}, by {hold.by}): {why}",
                by=hold.by,
                action="hold",
                stage="held_for_review",
            )
            await workflow.wait_condition(
                lambda: self._view.hold is not hold or self._cancel is not None
            )
        if self._cancel is not None:
            self._view.hold = None  # the history keeps why it was held
        # Nothing may be held from here on: the order is confirmed and allocated next.
        self._past_gate = True

    async def _fulfil(self) -> bool:
        """Follow shipments and backorders to the end; True when the order was cancelled."""
        recheck = timedelta(seconds=self._inp.options.backorder_recheck_s)
        shipments = self._shipments
        while True:
            if shipments.changed:
                shipments.changed = False
                self._refresh_status()
            owed = bool(self._view.backordered)
            settled = not self._rerouting and not self._lines.shorts
            if shipments.by_id and settled and is_finished(shipments.statuses(), owed):
                return False
            if owed and self._history_is_long() and workflow.patched(CONTINUE_AS_NEW_PATCH):
                await self._continue_as_new()
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._cancel is not None
                        or self._wake
                        or shipments.changed
                        or bool(self._lines.shorts)
                    ),
                    timeout=recheck if owed else None,
                    timeout_summary="backorder re-check" if owed else None,
                )
            except TimeoutError:
                self._wake = True  # a missed wake-up signal costs one re-check period, no more
            if self._cancel is not None and not self._cancel_done and await self._compensate():
                return True
            if self._lines.shorts and not self._cancel_done:
                async with self._stock_lock:
                    self._wake = await self._lines.settle_shorts() or self._wake
            if self._wake:
                self._wake = False
                if self._view.backordered:
                    await self._claim_backorders()

    def _history_is_long(self) -> bool:
        info = workflow.info()
        limit = self._inp.options.continue_as_new_after_events
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit

    async def _continue_as_new(self) -> None:
        """Carry the order into a new run while it only waits for stock: its view, money,
        reservations (they are the store's, under the order id) and key counters go along.

        Only with no shipment under way (a child would not follow its parent into the new
        run), no cancel, re-route or wake-up pending; otherwise it waits as before.
        """
        idle = lambda: (  # noqa: E731
            not self._rerouting
            and self._cancel is None
            and not self._wake
            and not self._shipments.changed
            and all(s.status in ENDED for s in self._shipments.by_id.values())
            and not self._changing
            and not self._lines.shorts
        )
        if not idle():
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        if not idle() or not workflow.all_handlers_finished():
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
            next_shipment_no=self._shipments.next_no,
            claims=stock.claims,
            reroutes=stock.reroutes,
            owed_since=stock.owed_since,
            resends=self._resends,
            runs=(self._inp.carried.runs + 1) if self._inp.carried else 2,
            payment_token=payment.token,
            shipping_charged=self._shipments.charged_shipping,
            counters={
                **self._lines.counters(),
                **self._edits.counters(),
                **self._claims.counters(),
            },
        )
        # Search attributes and memo (the body's hash) go along by default.
        workflow.continue_as_new(self._inp.model_copy(update={"carried": carried}))

    def _resume(self, carried: OrderCarried) -> None:
        """Take over the state the run before carried (see ``_continue_as_new``)."""
        self._payment.authorization_id = carried.authorization_id
        self._payment.credit_reserved = carried.credit_reserved
        self._shipments.by_id = {s.shipment_id: s for s in self._view.shipments}
        self._shipments.next_no = carried.next_shipment_no
        self._shipments.shipping_on = CARRIED if carried.shipping_charged else None
        self._stock.claims, self._stock.reroutes = carried.claims, carried.reroutes
        self._stock.owed_since = carried.owed_since
        self._resends = carried.resends
        self._past_gate = True
        # It waited for stock: paid for and allocated, so it may be edited and cut.
        self._secured = self._allocated = True
        self._payment.token = carried.payment_token or self._payment.token
        self._lines.restore(carried.counters)
        self._edits.restore(carried.counters)
        self._claims.restore(carried.counters)
        # Claim at once (a wake-up signal may have come as the run before ended) and write
        # the carried view (its last line was never written).
        self._wake = True
        self._track.changed()

    async def _claim_backorders(self) -> None:
        async with self._stock_lock:
            await self._claim()

    async def _claim(self) -> None:
        fill = await self._stock.claim(self._shipments.next_no)
        if fill.shipments:
            lines = (ln for s in fill.shipments for ln in s.lines)
            self._track.note(f"Backorder filled: {views.units(lines)}")
            await self._shipments.start(fill.shipments, self._payment.authorization_id or "")
            self._refresh_status()

    async def _compensate(self) -> bool:
        """Undo everything not yet shipped; True when the whole order ended cancelled."""
        request = self._cancel or CancelOrder(reason="cancelled")
        await self._shipments.stop(request.reason)
        await self._stock.release()
        await self._payment.release()
        self._view.backordered = []
        self._cancel_done = True
        shipped = self._shipments.shipped()
        if not shipped:
            return True
        self._track.note(
            f"Cancel by {request.requested_by} came after {shipped[0].shipment_id} shipped; "
            "the rest was cancelled"
        )
        self._refresh_status()
        self._cancel_outcome = False
        return False

    async def _finish_cancelled(self) -> OrderResult:
        request = self._cancel or CancelOrder(reason="cancelled")
        if not self._cancel_done:
            await self._compensate()  # cancelled before allocation: release is idempotent
        self._view.cancel_reason = request.reason
        self._track.enter(
            OrderStatus.CANCELLED,
            f"Cancelled by {request.requested_by}: {request.reason}",
            by=request.requested_by,
        )
        self._cancel_outcome = True
        key = f"{self._inp.order_id}:cancelled"
        await self._email(key, "order_cancelled", reason=request.reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return OrderResult(order_id=self._inp.order_id, status=OrderStatus.CANCELLED)

    async def _reroute(self, request: RerouteShipment) -> None:
        old = self._shipments.by_id[request.shipment_id]
        self._track.note(
            f"Operations ({request.by}) re-routes {old.shipment_id} away from "
            f"{old.warehouse_id}: {request.reason}",
            by=f"ops:{request.by}",
        )
        await self._shipments.stop(f"re-routed: {request.reason}", only=old.shipment_id)
        if old.status != ShipmentStatus.CANCELLED:
            raise ApplicationError(
                f"{old.shipment_id} shipped before it could be re-routed", type="NotReroutable"
            )
        await self._stock.release(old.shipment_id)
        decision = await self._stock.allocate(
            self._shipments.next_no,
            old.lines,
            exclude_warehouses=[] if request.warehouse_id else [old.warehouse_id],
            only_warehouses=[request.warehouse_id] if request.warehouse_id else [],
        )
        self._track.note(views.allocation_note(decision))
        await self._shipments.start(decision.shipments, self._payment.authorization_id or "")
        self._stock.owe([*self._view.backordered, *decision.backordered])
        self._refresh_status()

    # --- changes under way ----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _changing_stock(self) -> AsyncIterator[None]:
        """One change of the order's stock at a time (an edit, a line cancellation, a
        claim); while any is under way or waiting, a whole-order cancel is refused."""
        self._changing += 1
        try:
            async with self._stock_lock:
                yield
        finally:
            self._changing -= 1

    @contextlib.contextmanager
    def _moving_shipments(self) -> Iterator[None]:
        """Shipments stop and others start (a re-route, an edit, a claim's reship): the
        order must not read as finished meanwhile; its status is worked out again after."""
        self._rerouting += 1
        try:
            yield
        finally:
            self._rerouting -= 1
            self._shipments.changed = True

    # --- status, read model, email -------------------------------------------------

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _refresh_status(self) -> None:
        """The status the shipments and backorders make, entered if it changed."""
        owed = self._view.backordered
        new = order_status(self._shipments.statuses(), bool(owed))
        if new == OrderStatus.CANCELLED and self._cancel is None:
            new = self._view.status  # only a cancel ends an order as cancelled
        stage = self._stock.owe(owed) if new in _OWED_STATUSES else {}
        if lifecycle.ORDER.step(new, stage.get("stage")) != self._track.step:
            self._track.enter(new, views.shipments_note(self._shipments.by_id.values()), **stage)
        else:
            self._track.changed()

    async def _record(self, view: OrderView) -> None:
        write = ReadModelWrite(order=view, shipments=self._shipments.placeholders)
        await workflow.execute_local_activity_method(
            ReadModelActivities.record_views,
            write,
            **policies.local_write(f"record {view.status}"),
        )
        self._shipments.take_placeholders(write.shipments)

    async def _email(self, key: str, template: str, **extra: str) -> None:
        inp = self._inp
        context = views.email_context(inp, self._view, **extra)
        await self._track.email(
            key, str(inp.customer.email), template, context, inp.customer.locale
        )
