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

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.orders import ReadModelActivities
    from oms.domain import lifecycle
    from oms.domain.order_emails import NOTED_CHANGE_EMAILS
    from oms.domain.risk import order_origin
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
        HoldRequest,
        OrderInput,
        OrderNote,
        OrderResult,
        OrderStatus,
        OrderView,
        PurchaseDecision,
        ReadModelWrite,
        RetryPayment,
    )
    from oms.models.shipments import ShipmentMilestone
    from oms.views import orders as views
    from workflows import policies
    from workflows.legacy.order import OrderV1
    from workflows.order_approval import PurchaseApprovals
    from workflows.order_cancel import Cancellation
    from workflows.order_claims import Claims
    from workflows.order_continue import Continuation
    from workflows.order_edits import Edits
    from workflows.order_fulfil import CONTINUE_AS_NEW_PATCH, Fulfilment
    from workflows.order_holds import HOLDS_PATCH, Holds
    from workflows.order_lines import LINE_CANCEL_RECORDED_FIRST_PATCH, LineCancels
    from workflows.order_notes import Notes
    from workflows.order_payment import Payment
    from workflows.order_shipments import Shipments
    from workflows.order_state import OrderRun, OrderState
    from workflows.order_stock import WAKE_SIGNAL, Stock
    from workflows.tracker import LIFECYCLE_PATCH, Tracker

__all__ = [
    "CONTINUE_AS_NEW_PATCH",
    "HOLDS_PATCH",
    "LIFECYCLE_PATCH",
    "OrderWorkflow",
    "order_workflow_id",
]


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
        # A continued run's view already shows its totals.
        self._view = carried.view if carried else views.received(inp)
        # A view carried from a run before ``origin`` existed reads "customer": say who.
        self._view.origin = order_origin(inp)
        # A view carried from a run before ``payment`` existed: how the order is paid.
        self._view.payment = self._view.payment or views.payment_of(inp)
        if carried is None:
            # Kept from the start (a carried view keeps its own, None from a run before).
            self._view.backorder_emailed = False
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
        self._state = OrderState()
        self._payment = Payment(
            inp, self._track, self._email, lambda: self._state.cancel is not None
        )
        self._shipments = Shipments(inp, self._view, self._track)
        self._stock = Stock(inp, self._view)
        self._approvals = PurchaseApprovals(inp, self._view, self._track)
        self._lines = LineCancels(
            inp, self._view, self._track, self._shipments, self._stock, self._payment, self._email
        )
        parts = (self._shipments, self._stock, self._payment, self._lines)
        self._edits = Edits(inp, self._view, self._track, parts, self._email)
        money = (self._shipments, self._stock, self._payment)
        run = OrderRun(inp, self._view, self._track, self._state, self._email)
        self._notes = Notes(run)
        self._fulfilment = Fulfilment(run, (*money, self._lines))
        status = (self._state, self._fulfilment.refresh_status)
        self._claims = Claims(inp, self._view, self._track, money, self._email, status)
        self._cancellation = Cancellation(run, money, self._fulfilment.refresh_status)
        self._continuation = Continuation(run, money, (self._lines, self._edits, self._claims))
        self._holds = Holds(run, self._approvals, self._shipments)
        if carried is not None:
            self._continuation.resume(carried)

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
        await self._cancellation.request(request)
        return self._track.for_caller()

    @cancel.validator
    def _validate_cancel(self, request: CancelOrder) -> None:
        self._cancellation.check()

    @workflow.signal
    def shipment_milestone(self, milestone: ShipmentMilestone) -> None:
        """A shipment shipped, is held or is late (delivered and cancelled: its result)."""
        self._shipments.milestone(milestone)

    @workflow.update
    async def approve_credit(self, approval: CreditApproval) -> OrderView:
        """Finance lets an order held over its company's credit limit go ahead."""
        self._track.update_accepted()
        self._payment.approve_credit(approval)
        await workflow.wait_condition(lambda: not self._payment.awaiting_credit)
        return self._track.for_caller()

    @approve_credit.validator
    def _validate_credit(self, approval: CreditApproval) -> None:
        self._payment.check_credit_approval(approval)

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
        self._track.ops_note(note.by, note.action, note.reason)

    @workflow.update
    async def add_note(self, note: OrderNote) -> OrderView:
        """Keep a note (and its tags) on the order: in its view, its history and the
        Temporal UI's details. Answers at once; the caller records the view it returns."""
        self._track.update_accepted()
        self._notes.add(note)
        return self._track.for_caller()

    @add_note.validator
    def _validate_note(self, note: OrderNote) -> None:
        self._refuse_legacy("notes")

    def _refuse_legacy(self, what: str) -> None:
        if self._legacy is not None:
            raise ApplicationError(
                f"this order runs the 0.1 code, which has no {what}", type="NotSupported"
            )

    @workflow.update
    async def hold(self, request: HoldRequest) -> OrderView:
        """Hold the order before allocation (who and why in its history).

        Taken at once; the order waits ``on_hold`` as soon as its payment is secured (now,
        if it is). Raises ``ApplicationError`` ``TooLateToHold`` once allocation started,
        ``AlreadyHeld`` when held, ``NotHoldable`` while cancelling (from the validator).
        """
        self._track.update_accepted()
        self._holds.hold(request)
        return self._track.for_caller()

    @hold.validator
    def _validate_hold(self, request: HoldRequest) -> None:
        self._refuse_legacy("holds")
        self._holds.check_hold()

    @workflow.update
    async def release(self, request: HoldRequest) -> OrderView:
        """Release the order's hold: it goes on to confirmation and allocation.

        Raises ``ApplicationError(type="NotHeld")`` when nothing holds it (from the validator).
        """
        self._track.update_accepted()
        self._holds.release(request)
        return self._track.for_caller()

    @release.validator
    def _validate_release(self, request: HoldRequest) -> None:
        self._refuse_legacy("holds")
        self._holds.check_release()

    @workflow.update
    async def resend_notification(self, request: ResendNotification) -> OrderView:
        """Send one of the order's customer emails again (a new outbox key per resend)."""
        self._track.update_accepted()
        await self._notes.resend(request, self._payment.hold_email)
        return self._track.for_caller()

    @resend_notification.validator
    def _validate_resend(self, request: ResendNotification) -> None:
        self._notes.check_resend(request, self._payment.held)

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
        with self._state.moving_shipments(self._shipments):
            await self._fulfilment.reroute(request)
        return self._track.for_caller()

    @reroute.validator
    def _validate_reroute(self, request: RerouteShipment) -> None:
        self._fulfilment.check_reroute(request)

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
        if not self._state.allocated:
            await workflow.wait_condition(lambda: self._state.allocated)
        async with self._state.changing_stock(request.customer_note):
            # A stopped shipment must not end the order before the cancellation is recorded
            # (its events and emails carried the total from before).
            first = workflow.patched(LINE_CANCEL_RECORDED_FIRST_PATCH)
            with self._state.recording_lines_first(self._shipments, first):
                await self._lines.cancel(request, lambda: self._state.cancel is not None)
        return self._track.for_caller()

    @cancel_line.validator
    def _validate_cancel_line(self, request: CancelLine) -> None:
        self._refuse_legacy("line cancellation")
        self._state.check_line_cancellable(self._view.status)
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
        async with self._state.changing_stock(request.customer_note):
            self._state.check_editable(self._view.status)
            # While old shipments stop and new ones start.
            with self._state.moving_shipments(self._shipments):
                await self._edits.edit(request, self._state.allocated)
        return self._track.for_caller()

    @edit.validator
    def _validate_edit(self, request: EditOrder) -> None:
        self._refuse_legacy("edits")
        self._state.check_editable(self._view.status)
        self._edits.check(request)

    @workflow.update
    async def open_claim(self, request: OpenClaim) -> OrderView:
        """A parcel was lost or damaged in transit: settle it and reship its lines at no
        charge or refund them (who and why in the history).

        Raises ``ApplicationError`` ``UnknownShipment``, ``AlreadyClaimed``, ``NotShipped``,
        ``NotLost``, ``NotSupported``, ``RefundDeclined``, ``NotClaimable`` (the order is
        being cancelled).
        """
        self._track.update_accepted()
        async with self._state.changing_stock():
            # The settled parcel must not end the order before its reship.
            with self._state.moving_shipments(self._shipments):
                await self._claims.open(request)
        return self._track.for_caller()

    @open_claim.validator
    def _validate_claim(self, request: OpenClaim) -> None:
        self._refuse_legacy("claims")
        self._state.refuse_closing(self._view.status, "NotClaimable")
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
        self._state.wake = True

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: OrderInput) -> OrderResult:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        if inp.carried is not None:
            return await self._finish()
        note = f"Order received via {inp.channel}"
        self._track.enter(OrderStatus.RECEIVED, note, clock_start=inp.placed_at)
        self._state.cancel = await self._payment.secure() or self._state.cancel
        self._state.secured = self._state.cancel is None
        if self._state.cancel is None:
            await self._holds.gate()
        if self._state.cancel is not None:
            return await self._cancellation.finish()
        self._track.enter(OrderStatus.CONFIRMED, self._payment.confirmed_note())
        confirmed = self._email(f"{inp.order_id}:confirmed", "order_confirmed")
        if self._state.cancel is not None:
            await confirmed
        elif await self._fulfilment.allocate(confirmed):
            await self._email(f"{inp.order_id}:backordered", "order_backordered")
            self._view.backorder_emailed = True
        return await self._finish()

    async def _finish(self) -> OrderResult:
        """Follow the order to its end: completed, or cancelled (compensated)."""
        if await self._fulfilment.follow(self._cancellation, self._continuation):
            return await self._cancellation.finish()
        inp = self._inp
        settled = " or settled by a claim" if self._view.claims else ""
        await self._payment.release_unused_credit()
        self._track.enter(OrderStatus.COMPLETED, f"Every shipment delivered{settled}")
        await self._email(f"{inp.order_id}:completed", "order_completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return OrderResult(order_id=inp.order_id, status=self._view.status)

    # --- status, read model, email -------------------------------------------------

    async def _record(self, view: OrderView) -> None:
        write = ReadModelWrite(order=view, shipments=self._shipments.placeholders)
        await workflow.execute_local_activity_method(
            ReadModelActivities.record_views,
            write,
            **policies.local_write(f"record {view.status}"),
        )
        self._shipments.take_placeholders(write.shipments)

    async def _email(self, key: str, template: str, **extra: Any) -> None:
        inp = self._inp
        if template in NOTED_CHANGE_EMAILS:
            # What the change's caller chose to tell the customer; its reason is internal
            # (the templates show only this). A context, not a command: no patch.
            extra["customer_note"] = self._state.customer_note
        context = views.email_context(self._view, **extra)
        await self._track.email(
            key, str(inp.customer.email), template, context, inp.customer.locale
        )
