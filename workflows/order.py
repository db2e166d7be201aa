"""OrderWorkflow: one customer order from receipt to completion or cancellation.

Workflow id ``order-<order_id>``. Authorizes payment (holding the order when declined),
confirms, allocates stock to the nearest warehouse(s), starts one ``ShipmentWorkflow``
child per shipment, fills backorders when stock arrives (first placed, first served,
decided by the store), and completes when every shipment is delivered. A shipment tells
the order only what it acts on: shipped and held by signal, delivered or cancelled by its
result. Cancel is an update: allowed until a shipment ships, it releases every
reservation, stops the shipments, voids the payment authorization and tells the customer.
Status, search attributes, details, metrics and the read model follow from the tracker.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.inventory import InventoryActivities
    from activities.orders import ReadModelActivities
    from activities.payments import PaymentActivities
    from oms import search_attributes as sa
    from oms.domain import lifecycle
    from oms.domain.fulfilment import is_finished, order_status
    from oms.domain.money import order_total
    from oms.ids import order_workflow_id, shipment_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.credit import ReleaseCredit, ReserveCredit
    from oms.models.inventory import (
        AllocateRequest,
        AllocationDecision,
        BackorderCheck,
        PlannedShipment,
        ReleaseRequest,
    )
    from oms.models.ops import OpsNote, RerouteShipment, ResendNotification
    from oms.models.orders import (
        BackorderWake,
        CancelOrder,
        CreditApproval,
        OrderInput,
        OrderResult,
        OrderStatus,
        OrderView,
        ReadModelWrite,
        RetryPayment,
        ShipmentSummary,
    )
    from oms.models.payments import AuthorizeRequest, VoidAuthorizationRequest
    from oms.models.shipments import (
        SHIPPED_STATES,
        CancelShipment,
        ShipmentInput,
        ShipmentLine,
        ShipmentMilestone,
        ShipmentStatus,
        ShipmentView,
    )
    from oms.queues import INVENTORY_QUEUE, PAYMENTS_QUEUE, WORKFLOW_QUEUE
    from oms.views import orders as views
    from oms.views import shipments as shipment_views
    from workflows import policies
    from workflows.legacy.order import OrderV1
    from workflows.shipment import ShipmentWorkflow
    from workflows.tracker import Tracker

__all__ = ["LIFECYCLE_PATCH", "OrderWorkflow", "order_workflow_id"]

# Patch: a run with this marker uses the tracker; one without runs the 0.1 code.
LIFECYCLE_PATCH = "lifecycle-tracker"
_DONE = frozenset({*SHIPPED_STATES, ShipmentStatus.CANCELLED})
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
        self._view = OrderView(
            order_id=inp.order_id,
            status=OrderStatus.RECEIVED,
            channel=inp.channel,
            customer=inp.customer,
            currency=inp.currency,
            total=order_total(inp.lines),
            lines=inp.lines,
            ship_to=inp.ship_to,
            shipping_speed=inp.shipping_speed,
            placed_at=inp.placed_at,
            updated_at=inp.placed_at,
        )
        self._track = Tracker(
            lifecycle.ORDER,
            self._view,
            limits={
                lifecycle.STEP: opts.step_deadline_s,
                lifecycle.HOLD: opts.hold_timeout_s,
                lifecycle.BACKORDER: opts.backorder_alert_s,
            },
            details=views.details,
            record=self._record,
            queue_prefix=opts.task_queue_prefix,
            since=inp.placed_at,
        )
        self._shipments: dict[str, ShipmentSummary] = {}
        self._children: dict[str, workflow.ChildWorkflowHandle[Any, ShipmentView]] = {}
        self._placeholders: list[ShipmentView] = []
        self._followers: list[asyncio.Task[None]] = []
        self._child_failure: ChildWorkflowError | None = None
        self._cancel: CancelOrder | None = None
        self._cancel_done = False
        self._cancel_outcome: bool | None = None  # True: ended cancelled; False: shipped first
        self._retry: RetryPayment | None = None
        self._awaiting_credit = False
        self._credit_approval: CreditApproval | None = None
        self._wake = False
        self._dirty = False
        self._authorization_id: str | None = None
        self._credit_reserved = False
        self._resends = self._reroutes = self._rerouting = self._claims = 0
        self._next_shipment_no = 1
        self._backordered_since: datetime | None = None

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
        if any(s.status in SHIPPED_STATES for s in self._shipments.values()):
            raise ApplicationError(
                "order cannot be cancelled: a shipment has shipped", type="AlreadyShipped"
            )

    @workflow.signal
    def shipment_milestone(self, milestone: ShipmentMilestone) -> None:
        """A shipment shipped or is held (delivered and cancelled come as its result)."""
        known = self._shipments.get(milestone.shipment_id)
        if known is None or known.status in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED):
            return
        known.status = str(milestone.status)
        known.carrier, known.service = milestone.carrier, milestone.service
        known.tracking_number = milestone.tracking_number
        self._track.note(f"{milestone.shipment_id}: {milestone.note}")
        self._dirty = True

    @workflow.update
    async def approve_credit(self, approval: CreditApproval) -> OrderView:
        """Finance lets an order held over its company's credit limit go ahead."""
        self._track.update_accepted()
        self._credit_approval = approval
        self._track.note(
            f"Credit over the limit approved by {approval.approver} ({approval.role})"
            + (f": {approval.comment}" if approval.comment else ""),
            by=approval.approver,
        )
        await workflow.wait_condition(lambda: not self._awaiting_credit)
        return self._track.for_caller()

    @approve_credit.validator
    def _validate_credit(self, approval: CreditApproval) -> None:
        if not self._awaiting_credit:
            raise ApplicationError(
                "the order is not waiting for a credit approval", type="NotAwaitingCredit"
            )
        if approval.role not in ("finance", "cfo"):
            raise ApplicationError(
                f"only finance can approve credit over the limit, not {approval.role}",
                type="WrongRole",
            )

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the order's history with who and why."""
        self._track.note(
            f"Operations ({note.by}): {note.action}: {note.reason}", by=f"ops:{note.by}"
        )

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
        # While the old shipment is cancelled and before the new one exists, the order
        # must not read as finished.
        self._rerouting += 1
        try:
            await self._reroute(request)
        finally:
            self._rerouting -= 1
            self._dirty = True
        return self._track.for_caller()

    @reroute.validator
    def _validate_reroute(self, request: RerouteShipment) -> None:
        shipment = self._shipments.get(request.shipment_id)
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
        if self._cancel is not None:
            raise ApplicationError("the order is being cancelled", type="NotReroutable")

    @workflow.signal
    def retry_payment(self, request: RetryPayment) -> None:
        self._retry = request

    @workflow.signal
    def backorder_wake(self, _wake: BackorderWake) -> None:
        self._wake = True

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: OrderInput) -> OrderResult:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        note = f"Order received via {inp.channel}"
        self._track.enter(OrderStatus.RECEIVED, note, clock_start=inp.placed_at)
        if not await self._authorize():
            return await self._finish_cancelled()
        self._track.enter(OrderStatus.CONFIRMED, "Payment authorized; order confirmed")
        confirmed = self._email(f"{inp.order_id}:confirmed", "order_confirmed")
        if self._cancel is not None:
            await confirmed
        else:
            # The confirmation and the allocation need nothing of each other.
            decision, _ = await asyncio.gather(self._allocate(), confirmed)
            self._track.enter(
                OrderStatus.BACKORDERED if decision.backordered else OrderStatus.ALLOCATED,
                views.allocation_note(decision),
                **self._backorder(decision.backordered),
            )
            await self._start_shipments(decision.shipments)
            self._refresh_status()
            if decision.backordered:
                await self._email(f"{inp.order_id}:backordered", "order_backordered")
        if await self._fulfil():
            return await self._finish_cancelled()
        self._track.enter(OrderStatus.COMPLETED, "Every shipment delivered")
        await self._email(f"{inp.order_id}:completed", "order_completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return OrderResult(order_id=inp.order_id, status=self._view.status)

    async def _authorize(self) -> bool:
        """Authorize the total; when declined, hold and wait for a retry or a cancel."""
        inp = self._inp
        if inp.payment.method == "invoice":
            return await self._reserve_credit()
        if inp.payment.method == "exchange":
            return self._cancel is None  # a return's replacement: nothing to authorize
        token, attempt, total = inp.payment.token, 0, self._view.total
        while True:
            attempt += 1
            auth = await workflow.execute_activity_method(
                PaymentActivities.authorize,
                AuthorizeRequest(
                    idempotency_key=f"{inp.order_id}:authorize:{attempt}",
                    order_id=inp.order_id,
                    amount=total,
                    currency=inp.currency,
                    token=token,
                ),
                **policies.PAYMENTS.kwargs(
                    self._q(PAYMENTS_QUEUE), f"authorize {total} {inp.currency}"
                ),
            )
            if auth.status == "authorized":
                self._authorization_id = auth.authorization_id
                return self._cancel is None
            reason = auth.decline_reason or ""
            self._track.enter(
                OrderStatus.ON_HOLD, f"Payment declined: {reason or 'no reason given'}"
            )
            await self._email(f"{inp.order_id}:on_hold:{attempt}", "order_on_hold", reason=reason)
            retried = lambda: self._retry is not None  # noqa: E731
            if not await self._hold(
                retried, "the customer to fix payment", "payment not completed in time"
            ):
                return False
            if self._retry is not None and self._retry.payment is not None:
                token = self._retry.payment.token
            self._retry = None

    async def _hold(self, released: Any, who: str, timed_out: str) -> bool:
        """Wait on hold until ``released()`` or a cancel; past the hold timeout, cancel
        with the reason ``timed_out``."""
        try:
            await workflow.wait_condition(
                lambda: released() or self._cancel is not None,
                timeout=timedelta(seconds=self._inp.options.hold_timeout_s),
                timeout_summary=f"waiting for {who}",
            )
        except TimeoutError:
            self._cancel = CancelOrder(reason=timed_out, requested_by="system")
        return self._cancel is None

    async def _reserve_credit(self) -> bool:
        """Invoice terms: hold the company's credit; over the limit, hold for finance or refuse."""
        inp, company, attempt = self._inp, self._inp.payment.company_id or "", 0
        while True:
            attempt += 1
            reservation = await workflow.execute_activity_method(
                CreditActivities.reserve,
                ReserveCredit(
                    key=f"{inp.order_id}:credit:{attempt}",
                    company_id=company,
                    order_id=inp.order_id,
                    amount=self._view.total,
                    currency=inp.currency,
                    allow_over_limit=self._credit_approval is not None,
                ),
                **policies.PAYMENTS.kwargs(
                    self._q(PAYMENTS_QUEUE), f"reserve {self._view.total} {inp.currency} credit"
                ),
            )
            if reservation.status == "reserved":
                self._credit_reserved, self._awaiting_credit = True, False
                return self._cancel is None
            reason = (
                f"credit limit of {company} exceeded: {reservation.amount} needed, "
                f"{reservation.available_before} available"
            )
            if reservation.over_limit_action == "refuse":
                self._cancel = CancelOrder(reason=reason, requested_by="system")
                return False
            self._awaiting_credit = True
            note = f"{reason}; waiting for finance"
            self._track.enter(OrderStatus.ON_HOLD, note, stage="awaiting_credit")
            await self._email(f"{inp.order_id}:on_hold:credit", "order_on_hold", reason=reason)
            approved = lambda: self._credit_approval is not None  # noqa: E731
            if not await self._hold(
                approved, "finance to approve credit", f"{reason}; not approved in time"
            ):
                self._awaiting_credit = False
                return False

    async def _allocate(self) -> AllocationDecision:
        inp = self._inp
        decision = await workflow.execute_activity_method(
            InventoryActivities.allocate,
            AllocateRequest(
                key=f"{inp.order_id}:allocate",
                order_id=inp.order_id,
                lines=[SkuQuantity(sku=li.sku, quantity=li.quantity) for li in inp.lines],
                postal_code=inp.ship_to.postal_code,
                city=inp.ship_to.city,
                country=inp.ship_to.country,
                placed_at=inp.placed_at,
                first_shipment_no=self._next_shipment_no,
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "allocate stock"),
        )
        self._view.allocations.append(decision)
        return decision

    def _backorder(self, owed: list[SkuQuantity]) -> dict[str, Any]:
        """Set what is owed; the stage and clock a status takes while units are owed."""
        self._view.backordered = list(owed)
        if not owed:
            self._backordered_since = None
            return {}
        self._backordered_since = self._backordered_since or workflow.now()
        return {"stage": "awaiting_stock", "clock_start": self._backordered_since}

    async def _fulfil(self) -> bool:
        """Follow shipments and backorders to the end; True when the order was cancelled."""
        recheck = timedelta(seconds=self._inp.options.backorder_recheck_s)
        while True:
            if self._child_failure is not None:
                raise self._child_failure
            if self._dirty:
                self._dirty = False
                self._refresh_status()
            statuses = [ShipmentStatus(s.status) for s in self._shipments.values()]
            owed = bool(self._view.backordered)
            if self._shipments and not self._rerouting and is_finished(statuses, owed):
                return False
            try:
                await workflow.wait_condition(
                    lambda: self._cancel is not None or self._wake or self._dirty,
                    timeout=recheck if owed else None,
                    timeout_summary="backorder re-check" if owed else None,
                )
            except TimeoutError:
                self._wake = True  # a missed wake-up signal costs one re-check period, no more
            if self._cancel is not None and not self._cancel_done and await self._compensate():
                return True
            if self._wake:
                self._wake = False
                if self._view.backordered:
                    await self._claim_backorders()

    async def _claim_backorders(self) -> None:
        self._claims += 1
        fill = await workflow.execute_activity_method(
            InventoryActivities.claim_backorders,
            BackorderCheck(
                key=f"{self._inp.order_id}:claim:{self._claims}",
                order_id=self._inp.order_id,
                first_shipment_no=self._next_shipment_no,
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "claim arrived stock"),
        )
        if not fill.shipments:
            return
        filled = ", ".join(f"{ln.sku} x{ln.quantity}" for s in fill.shipments for ln in s.lines)
        self._track.note(f"Backorder filled: {filled}")
        self._backorder(fill.still_backordered)
        await self._start_shipments(fill.shipments)
        self._refresh_status()

    async def _start_shipments(self, planned: list[PlannedShipment]) -> None:
        inp, now = self._inp, workflow.now()
        prices = {li.sku: li.unit_price for li in inp.lines}
        step = lifecycle.SHIPMENT.step(ShipmentStatus.PICKING)
        for plan in planned:
            if plan.ship_from is None:
                raise ApplicationError(
                    f"warehouse {plan.warehouse_id} has no address", type="WarehouseWithoutAddress"
                )
            lines = [
                ShipmentLine(sku=ln.sku, quantity=ln.quantity, unit_price=prices[ln.sku])
                for ln in plan.lines
            ]
            child = _shipment_input(inp, plan, lines, self._authorization_id or "")
            # Known before the start: the child's first milestone may come in the same
            # activation as its start (a worker that died with the task leaves both queued).
            summary = ShipmentSummary(
                shipment_id=plan.shipment_id,
                warehouse_id=plan.warehouse_id,
                lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in plan.lines],
                status=ShipmentStatus.PICKING.value,
            )
            self._shipments[plan.shipment_id] = summary
            self._view.shipments.append(summary)
            self._placeholders.append(shipment_views.placeholder(child, now))
            self._track.changed()
            limits = {lifecycle.PICK: child.pick_sla_s}
            handle = await workflow.start_child_workflow(
                ShipmentWorkflow.run,
                child,
                id=shipment_workflow_id(plan.shipment_id),
                task_queue=self._q(WORKFLOW_QUEUE),
                static_summary=(
                    f"Shipment {plan.shipment_id} · {plan.warehouse_id} · "
                    f"{sum(ln.quantity for ln in plan.lines)} unit(s)"
                ),
                search_attributes=sa.typed(
                    {
                        "OmsKind": "shipment",
                        "OmsWarehouse": plan.warehouse_id,
                        **lifecycle.attributes(step, now, limits),
                    }
                ),
            )
            self._children[plan.shipment_id] = handle
            self._next_shipment_no += 1
            self._followers.append(asyncio.create_task(self._follow(plan.shipment_id, handle)))

    async def _follow(
        self, shipment_id: str, handle: workflow.ChildWorkflowHandle[Any, ShipmentView]
    ) -> None:
        """Note a shipment's end: delivered or cancelled (or a failure the run re-raises)."""
        try:
            result = await handle
        except ChildWorkflowError as err:
            self._child_failure = err
        else:
            summary = self._shipments[shipment_id]
            summary.status = result.status.value
            summary.carrier, summary.service = result.carrier, result.service
            summary.tracking_number = result.tracking_number
        self._dirty = True

    async def _compensate(self) -> bool:
        """Undo everything not yet shipped; True when the whole order ended cancelled."""
        request = self._cancel or CancelOrder(reason="cancelled")
        for sid, handle in self._children.items():
            if self._shipments[sid].status not in _DONE:
                await handle.signal(ShipmentWorkflow.cancel, CancelShipment(reason=request.reason))
        # Each stops, or ships if the cancel came after its label.
        await workflow.wait_condition(
            lambda: all(s.status in _DONE for s in self._shipments.values())
        )
        await self._release(ReleaseRequest(order_id=self._inp.order_id), "release reservations")
        if self._credit_reserved:
            await workflow.execute_activity_method(
                CreditActivities.release,
                ReleaseCredit(order_id=self._inp.order_id),
                **policies.PAYMENTS.kwargs(self._q(PAYMENTS_QUEUE), "release reserved credit"),
            )
        if self._authorization_id:
            await workflow.execute_activity_method(
                PaymentActivities.void_authorization,
                VoidAuthorizationRequest(
                    idempotency_key=f"{self._inp.order_id}:void",
                    authorization_id=self._authorization_id,
                ),
                **policies.PAYMENTS.kwargs(self._q(PAYMENTS_QUEUE), "void payment authorization"),
            )
        self._view.backordered = []
        self._cancel_done = True
        shipped = [s for s in self._shipments.values() if s.status in SHIPPED_STATES]
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
        old = self._shipments[request.shipment_id]
        self._track.note(
            f"Operations ({request.by}) re-routes {old.shipment_id} away from "
            f"{old.warehouse_id}: {request.reason}",
            by=f"ops:{request.by}",
        )
        reason = f"re-routed: {request.reason}"
        await self._children[old.shipment_id].signal(
            ShipmentWorkflow.cancel, CancelShipment(reason=reason)
        )
        await workflow.wait_condition(lambda: old.status in _DONE)
        if old.status != ShipmentStatus.CANCELLED:
            raise ApplicationError(
                f"{old.shipment_id} shipped before it could be re-routed", type="NotReroutable"
            )
        release = ReleaseRequest(order_id=self._inp.order_id, shipment_id=old.shipment_id)
        await self._release(release, f"release {old.shipment_id}")
        self._reroutes += 1
        decision = await workflow.execute_activity_method(
            InventoryActivities.allocate,
            AllocateRequest(
                key=f"{self._inp.order_id}:reroute:{self._reroutes}",
                order_id=self._inp.order_id,
                lines=old.lines,
                postal_code=self._inp.ship_to.postal_code,
                city=self._inp.ship_to.city,
                country=self._inp.ship_to.country,
                placed_at=self._inp.placed_at,
                first_shipment_no=self._next_shipment_no,
                exclude_warehouses=[] if request.warehouse_id else [old.warehouse_id],
                only_warehouses=[request.warehouse_id] if request.warehouse_id else [],
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"re-allocate {old.shipment_id}"),
        )
        self._view.allocations.append(decision)
        self._track.note(views.allocation_note(decision))
        await self._start_shipments(decision.shipments)
        self._backorder([*self._view.backordered, *decision.backordered])
        self._refresh_status()

    async def _release(self, request: ReleaseRequest, summary: str) -> None:
        """Release reservations and tell the orders whose backorders the freed units fill."""
        released = await workflow.execute_activity_method(
            InventoryActivities.release,
            request,
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), summary),
        )
        for other in released.filled_orders:
            try:
                await workflow.get_external_workflow_handle(order_workflow_id(other)).signal(
                    OrderWorkflow.backorder_wake, BackorderWake()
                )
            except Exception:
                workflow.logger.warning("could not wake order %s", other)

    # --- status, read model, email -------------------------------------------------

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _refresh_status(self) -> None:
        """The status the shipments and backorders make, entered if it changed."""
        statuses = [ShipmentStatus(s.status) for s in self._shipments.values()]
        owed = self._view.backordered
        new = order_status(statuses, bool(owed))
        if new == OrderStatus.CANCELLED and self._cancel is None:
            new = self._view.status  # only a cancel ends an order as cancelled
        stage = self._backorder(owed) if new in _OWED_STATUSES else {}
        if lifecycle.ORDER.step(new, stage.get("stage")) != self._track.step:
            note = views.shipments_note(self._shipments.values())
            self._track.enter(new, note, **stage)
        else:
            self._track.changed()

    async def _record(self, view: OrderView) -> None:
        write = ReadModelWrite(order=view, shipments=self._placeholders)
        await workflow.execute_local_activity_method(
            ReadModelActivities.record_views,
            write,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=policies.STORE.retry,
            summary=f"record {view.status}",
        )
        self._placeholders = [p for p in self._placeholders if p not in write.shipments]

    async def _email(self, key: str, template: str, **extra: str) -> None:
        inp = self._inp
        context = views.email_context(inp, self._view, **extra)
        await self._track.email(
            key, str(inp.customer.email), template, context, inp.customer.locale
        )


def _shipment_input(
    inp: OrderInput, plan: PlannedShipment, lines: list[ShipmentLine], authorization_id: str
) -> ShipmentInput:
    assert plan.ship_from is not None  # checked by the caller
    opts = inp.options
    return ShipmentInput(
        shipment_id=plan.shipment_id,
        order_id=inp.order_id,
        warehouse_id=plan.warehouse_id,
        ship_from=plan.ship_from,
        ship_to=inp.ship_to,
        lines=lines,
        currency=inp.currency,
        shipping_speed=inp.shipping_speed,
        customer=inp.customer,
        authorization_id=authorization_id,
        payment_method=inp.payment.method,
        pick_sla_s=opts.pick_sla_s,
        ops_email=opts.ops_email,
        step_deadline_s=opts.step_deadline_s,
        delivery_deadline_s=opts.delivery_deadline_s,
        task_queue_prefix=opts.task_queue_prefix,
        reports="milestones",
    )
