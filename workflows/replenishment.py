"""ReplenishmentWorkflow: one low-stock episode of a SKU in a warehouse, from alert to goods in.

Workflow id ``replenish-<warehouse>-<sku>-<n>``. Raises a purchase order to the SKU's
supplier (no supplier: the team is told and the workflow waits for a ``retry`` signal),
emails the internal team once, sends the order to the supplier, waits for the supplier's
confirmation (``confirm`` update) with one reminder to the supplier and one escalation to
purchasing once the lead time has passed, then books deliveries (``receive`` update): each
raises on-hand stock, fills backorders first placed first served and wakes those orders.
A partial delivery keeps it open for the rest; when everything arrived the episode is
closed, so the next low-stock spell opens a new one. Its state lives in the store's
purchase-order tables (written by the activities), so it has no read-model row.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.replenishment import ReplenishmentActivities
    from activities.suppliers import SupplierActivities
    from oms.domain import lifecycle
    from oms.domain.replenishment import (
        confirmation_timers,
        purchase_order_id,
        replenishment_workflow_id,
    )
    from oms.models.ops import OpsNote
    from oms.models.orders import BackorderWake
    from oms.models.replenishment import (
        CloseEpisode,
        ConfirmPurchaseOrder,
        GoodsReceiptRequest,
        PurchaseOrder,
        PurchaseOrderRequest,
        ReceiveGoods,
        RecordConfirmation,
        ReplenishmentInput,
        ReplenishmentStatus,
        ReplenishmentView,
        RetryPurchaseOrder,
        SupplierMessage,
    )
    from oms.queues import EMAIL_QUEUE, INVENTORY_QUEUE
    from oms.views import replenishment as views
    from workflows import policies
    from workflows.legacy.replenishment import ReplenishmentV1
    from workflows.order_stock import wake
    from workflows.tracker import LIFECYCLE_PATCH, Tracker

Status = ReplenishmentStatus

# Patch: a run with this marker answers the receipt that completes its purchase order once
# the episode is closed; runs without it answered at once, with the status before.
RECEIPT_CLOSES_PATCH = "receipt-answers-closed"


@workflow.defn(name="ReplenishmentWorkflow")
class ReplenishmentWorkflow:
    """One episode; its state is available by the ``state`` query."""

    @workflow.init
    def __init__(self, inp: ReplenishmentInput) -> None:
        self._legacy = None if workflow.patched(LIFECYCLE_PATCH) else ReplenishmentV1(inp)
        if self._legacy is not None:
            self._legacy.install()
            return
        self._inp = inp
        self._view = ReplenishmentView(
            workflow_id=replenishment_workflow_id(inp.warehouse_id, inp.sku, inp.n),
            po_id=purchase_order_id(inp.warehouse_id, inp.sku, inp.n),
            warehouse_id=inp.warehouse_id,
            sku=inp.sku,
            n=inp.n,
            status=Status.LOW_STOCK,
        )
        self._track = Tracker(
            lifecycle.REPLENISHMENT,
            self._view,
            limits={lifecycle.STEP: inp.options.step_deadline_s},
            details=lambda view, step, since: views.details(view, step, since, inp),
            record=None,
            queue_prefix=inp.options.task_queue_prefix,
            since=inp.opened_at,
        )
        self._po: PurchaseOrder | None = None
        self._confirmation: ConfirmPurchaseOrder | None = None
        self._confirmed = False
        self._retry: RetryPurchaseOrder | None = None
        self._team_told = False  # one low-stock email per episode, with or without a supplier
        self._receipts = 0  # receipt numbers handed out: the business key of each delivery
        self._booking = 0  # units of deliveries being booked right now
        self._deadline: datetime | None = None

    # --- queries, updates, signals ---------------------------------------------------

    @workflow.query
    def state(self) -> ReplenishmentView:
        return self._view

    @workflow.update
    async def confirm(self, request: ConfirmPurchaseOrder) -> ReplenishmentView:
        """The supplier confirmed the purchase order; answers once it is recorded."""
        self._track.update_accepted()
        self._confirmation = request
        await workflow.wait_condition(lambda: self._confirmed)
        return self._view

    @confirm.validator
    def _validate_confirm(self, request: ConfirmPurchaseOrder) -> None:
        if self._view.status != Status.AWAITING_CONFIRMATION or self._confirmation is not None:
            raise ApplicationError(
                f"{self._view.po_id} is not waiting for the supplier's confirmation; "
                f"it is {self._view.status}",
                type="NotAwaitingConfirmation",
            )

    @workflow.update
    async def receive(self, request: ReceiveGoods) -> ReplenishmentView:
        """A delivery arrived at the warehouse: book it and fill backorders, oldest first.

        Goods arriving before any confirmation count as the supplier's confirmation.
        Raises ``ApplicationError`` ``ReceiptFailed`` when booking fails.
        """
        self._track.update_accepted()
        po = self._po
        assert po is not None  # the validator saw it
        self._receipts += 1
        self._booking += request.quantity
        if self._confirmation is None:
            self._confirmation = ConfirmPurchaseOrder(
                by=request.received_by, supplier_reference="confirmed by delivery"
            )
        try:
            result = await workflow.execute_activity_method(
                ReplenishmentActivities.receive,
                GoodsReceiptRequest(
                    key=f"{po.po_id}:receipt:{self._receipts}",
                    po_id=po.po_id,
                    warehouse_id=po.warehouse_id,
                    sku=self._inp.sku,
                    quantity=request.quantity,
                ),
                **policies.STORE.kwargs(
                    self._q(INVENTORY_QUEUE), f"book {request.quantity} x {self._inp.sku} received"
                ),
            )
        except ActivityError as err:
            raise ApplicationError(
                f"receipt not booked: {policies.cause(err)}", type="ReceiptFailed"
            ) from err
        finally:
            self._booking -= request.quantity
        self._view.received = result.received
        self._track.note(
            f"received {request.quantity} x {self._inp.sku} ({result.received} of "
            f"{result.ordered}); on hand {result.on_hand}",
            by=request.received_by,
        )
        for order_id in result.filled_orders:
            if order_id not in self._view.filled_orders:
                self._view.filled_orders.append(order_id)
            self._track.note(f"filled order {order_id}'s backorder", by="system")
            await wake(order_id, BackorderWake(warehouse_id=self._inp.warehouse_id))
        if result.received < result.ordered:
            self._enter(Status.PARTIALLY_RECEIVED, request.received_by, "waiting for the rest")
        elif workflow.patched(RECEIPT_CLOSES_PATCH):
            # The last receipt answers with the episode closed, as a GET a moment later
            # shows it, not with the status before (the run closes it: see ``run``).
            await workflow.wait_condition(lambda: self._view.status == Status.CLOSED)
        return self._view

    @receive.validator
    def _validate_receive(self, request: ReceiveGoods) -> None:
        open_statuses = (
            Status.AWAITING_CONFIRMATION,
            Status.AWAITING_GOODS,
            Status.PARTIALLY_RECEIVED,
        )
        if self._po is None or self._view.status not in open_statuses:
            raise ApplicationError(
                f"{self._view.po_id} is not waiting for goods; it is {self._view.status}",
                type="NotAwaitingGoods",
            )
        outstanding = self._view.ordered - self._view.received - self._booking
        if request.quantity > outstanding:
            raise ApplicationError(
                f"{request.quantity} x {self._inp.sku} is more than the {outstanding} still "
                f"expected on {self._view.po_id}",
                type="OverDelivery",
            )

    @workflow.signal
    def retry(self, request: RetryPurchaseOrder) -> None:
        """Purchasing linked the SKU to a supplier: try raising the purchase order again."""
        if self._view.status == Status.NO_SUPPLIER:
            self._retry = request

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention (``/ops/workflows/{id}/...``), kept in the episode's
        history with who and why, worded as in every kind."""
        # No patch: an episode's tracker records nothing (``record=None``) and a note moves
        # no stage, so the line issues no command, and a run that got this signal before
        # there was a handler replays unchanged (tests/histories/
        # replenishment_ops_note_unhandled_settled.json, recorded then, proves it).
        if self._legacy is None:
            self._track.ops_note(note.by, note.action, note.reason)

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ReplenishmentInput) -> ReplenishmentView:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        note = f"{inp.available} available, reorder point {inp.reorder_point}"
        self._enter(Status.LOW_STOCK, "system", note, clock_start=inp.opened_at)
        po = await self._raise_purchase_order()
        if not self._team_told:
            await self._email_team(po, None)
        await self._to_supplier(po, "purchase_order", "purchase-order")
        now = workflow.now()
        lead = po.supplier.lead_time_days
        remind_at, escalate_at = confirmation_timers(now, inp.options.supplier_reminder_s, lead)
        self._view.sent_at = now
        self._view.expected_by = now + timedelta(days=lead)
        note = f"purchase order sent to {po.supplier.name}"
        self._enter(Status.AWAITING_CONFIRMATION, "system", note, deadline=escalate_at)
        if not await self._wait_confirmation(remind_at, "supplier reminder"):
            await self._to_supplier(po, "reminder", "reminder")
            self._view.reminded_at = workflow.now()
            self._track.note(f"reminded {po.supplier.name}", by="system")
            if not await self._wait_confirmation(escalate_at, "escalation to purchasing"):
                await self._escalate(po)
                await workflow.wait_condition(lambda: self._confirmation is not None)
        await self._record_confirmation(po)
        if self._view.received == 0:
            by = self._view.confirmed_by or "supplier"
            self._enter(Status.AWAITING_GOODS, by, "confirmed", deadline=self._view.expected_by)
        await workflow.wait_condition(
            lambda: self._view.received >= self._view.ordered and self._booking == 0
        )
        await workflow.execute_activity_method(
            ReplenishmentActivities.close,
            CloseEpisode(warehouse_id=inp.warehouse_id, sku=inp.sku, n=inp.n),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "close the episode"),
        )
        self._enter(Status.CLOSED, "system", f"all {self._view.ordered} unit(s) received")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return self._view

    async def _raise_purchase_order(self) -> PurchaseOrder:
        """The purchase order; without a supplier, tell the team once and wait for a retry."""
        inp = self._inp
        while True:
            try:
                po = await workflow.execute_activity_method(
                    ReplenishmentActivities.purchase_order,
                    PurchaseOrderRequest(
                        po_id=self._view.po_id,
                        warehouse_id=inp.warehouse_id,
                        sku=inp.sku,
                        n=inp.n,
                    ),
                    **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "raise the purchase order"),
                )
            except ActivityError as err:
                cause = err.cause
                if not (isinstance(cause, ApplicationError) and cause.type == "NoSupplier"):
                    raise ApplicationError(
                        f"purchase order not raised: {policies.cause(err)}",
                        type="PurchaseOrderFailed",
                    ) from err
                self._enter(Status.NO_SUPPLIER, "system", cause.message)
                if not self._team_told:
                    await self._email_team(None, cause.message)
                await workflow.wait_condition(
                    lambda: self._retry is not None, timeout_summary="waiting for a supplier"
                )
                retry = self._retry
                assert retry is not None
                self._retry = None
                self._enter(Status.LOW_STOCK, retry.by, "retrying the purchase order")
                continue
            self._po = po
            self._view.supplier_id = po.supplier.supplier_id
            self._view.supplier_name = po.supplier.name
            self._view.ordered = sum(ln.quantity for ln in po.lines)
            note = f"purchase order {po.po_id}: {self._view.ordered} unit(s)"
            self._track.note(note, by="system")
            return po

    async def _wait_confirmation(self, until: datetime, summary: str) -> bool:
        """Wait for the confirmation (or a delivery) until ``until``; False when it timed out."""
        remaining = (until - workflow.now()).total_seconds()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._confirmation is not None,
                    timeout=remaining,
                    timeout_summary=summary,
                )
        return self._confirmation is not None

    async def _record_confirmation(self, po: PurchaseOrder) -> None:
        confirmation = self._confirmation
        assert confirmation is not None
        await workflow.execute_activity_method(
            ReplenishmentActivities.confirm,
            RecordConfirmation(
                po_id=po.po_id,
                by=confirmation.by,
                supplier_reference=confirmation.supplier_reference,
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "record the confirmation"),
        )
        self._view.confirmed_by = confirmation.by
        self._view.supplier_reference = confirmation.supplier_reference
        ref = f" (ref {confirmation.supplier_reference})" if confirmation.supplier_reference else ""
        self._track.note(f"confirmed{ref}", by=confirmation.by)
        self._confirmed = True

    # --- status and email ----------------------------------------------------------

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _enter(
        self,
        status: ReplenishmentStatus,
        by: str,
        note: str,
        *,
        deadline: datetime | None = None,
        clock_start: datetime | None = None,
    ) -> None:
        """Move to ``status``; a step with its own deadline keeps the last one if none given."""
        self._deadline = deadline or self._deadline
        own = lifecycle.REPLENISHMENT.step(status).clock == lifecycle.OWN_DEADLINE
        self._track.enter(
            status,
            note,
            by=by,
            clock_start=clock_start,
            deadline=self._deadline if own else None,
        )

    async def _email_team(self, po: PurchaseOrder | None, problem: str | None) -> None:
        self._team_told = True
        await self._track.email(
            f"{self._view.workflow_id}:low-stock",
            self._inp.options.purchasing_email,
            "low_stock",
            views.low_stock_context(self._inp, self._view, po, problem),
        )

    async def _escalate(self, po: PurchaseOrder) -> None:
        await self._track.email(
            f"{po.po_id}:escalation",
            self._inp.options.purchasing_email,
            "replenishment_escalation",
            views.escalation_context(self._view, po, self._inp.sku),
        )
        self._view.escalated_at = workflow.now()
        note = "escalated to purchasing: unconfirmed past the lead time"
        self._track.note(note, by="system")

    async def _to_supplier(self, po: PurchaseOrder, kind: str, key: str) -> None:
        try:
            await workflow.execute_activity_method(
                SupplierActivities.send,
                SupplierMessage(key=f"{po.po_id}:{key}", kind=kind, po=po),
                **policies.EMAIL.kwargs(self._q(EMAIL_QUEUE), f"{kind} to {po.supplier.name}"),
            )
        except ActivityError as err:
            # A refused address must not stop the episode: purchasing sees it in the history.
            note = f"{kind} not sent to the supplier: {policies.cause(err)}"
            self._track.note(note, by="system")
