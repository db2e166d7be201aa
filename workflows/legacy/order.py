"""Frozen 0.1 code (see ``workflows/legacy/__init__.py``).

OrderWorkflow: one customer order from receipt to completion or cancellation.

Workflow id ``order-<order_id>``. Authorizes payment (holding the order when
declined), confirms, allocates stock to the nearest warehouse(s), starts one
``ShipmentWorkflow`` child per shipment, fills backorders when stock arrives
(first placed, first served, decided by the store), and completes when every
shipment is delivered. Cancel is an update: allowed until a shipment ships,
it releases every reservation, stops the shipments, voids the payment
authorization and tells the customer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities
    from oms import search_attributes as sa
    from oms.domain.approval import ApprovalRefused, check_credit_approval
    from oms.domain.fulfilment import is_finished, order_status
    from oms.domain.money import format_money
    from oms.domain.order_emails import told_why
    from oms.ids import shipment_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.credit import ReleaseCredit, ReserveCredit
    from oms.models.inventory import (
        AllocateRequest,
        AllocationDecision,
        BackorderCheck,
        PlannedShipment,
        ReleaseRequest,
    )
    from oms.models.notifications import EmailRequest
    from oms.models.ops import OpsNote, RerouteShipment, ResendNotification
    from oms.models.orders import (
        BackorderWake,
        CancelOrder,
        CreditApproval,
        HistoryEntry,
        OrderInput,
        OrderResult,
        OrderStatus,
        OrderView,
        RetryPayment,
        ShipmentSummary,
    )
    from oms.models.payments import AuthorizeRequest, VoidAuthorizationRequest
    from oms.models.shipments import (
        SHIPPED_STATES,
        CancelShipment,
        ShipmentInput,
        ShipmentLine,
        ShipmentProgress,
        ShipmentStatus,
        ShipmentView,
    )
    from oms.queues import EMAIL_QUEUE, INVENTORY_QUEUE, PAYMENTS_QUEUE, WORKFLOW_QUEUE
    from oms.views import orders as views
    from workflows import metrics, policies
    from workflows.legacy import read_model
    from workflows.legacy.common import send_email, stage_attributes, wake_order

# What an order in each status waits for: (stage, who), for search attributes and details.
_WAITING: dict[OrderStatus, tuple[str, str]] = {
    OrderStatus.RECEIVED: ("awaiting_payment", "payment_provider"),
    OrderStatus.ON_HOLD: ("awaiting_payment", "customer"),
    OrderStatus.CONFIRMED: ("awaiting_allocation", "inventory"),
    OrderStatus.BACKORDERED: ("awaiting_stock", "supplier"),
    OrderStatus.ALLOCATED: ("awaiting_pick", "warehouse"),
    OrderStatus.PICKING: ("awaiting_pick", "warehouse"),
    OrderStatus.PACKED: ("awaiting_carrier", "carrier"),
    OrderStatus.PARTIALLY_SHIPPED: ("in_transit", "carrier"),
    OrderStatus.SHIPPED: ("in_transit", "carrier"),
    OrderStatus.DELIVERED: ("done", "nobody"),
    OrderStatus.COMPLETED: ("done", "nobody"),
    OrderStatus.CANCELLED: ("done", "nobody"),
}


# Patch (``workflow.patched``): the order's placeholder view of a new shipment is set before
# the child starts, not after (where it overwrote progress signals applied first).
SHIPMENT_PLACEHOLDER_PATCH = "shipment-placeholder-before-start"


class OrderV1:
    """The whole life of one order; its state is available by the ``state`` query."""

    def __init__(self, inp: OrderInput) -> None:
        self._inp = inp
        # A 0.1 input has no totals or price source: the view 0.1 built, field for field.
        self._view = views.received(inp)
        self._shipments: dict[str, ShipmentView] = {}
        self._children: dict[str, workflow.ChildWorkflowHandle[Any, ShipmentView]] = {}
        self._backordered: list[SkuQuantity] = []
        self._cancel: CancelOrder | None = None
        self._cancel_done = False
        # True once the order ended cancelled, False when a shipment shipped first.
        self._cancel_outcome: bool | None = None
        self._retry: RetryPayment | None = None
        self._awaiting_credit = False
        self._credit_approval: CreditApproval | None = None
        self._wake = False
        self._dirty = False
        self._authorization_id: str | None = None
        self._credit_reserved = False
        self._resends = 0
        self._reroutes = 0
        self._rerouting = 0
        self._backordered_since: datetime | None = None
        self._stage_shown = ""
        self._next_shipment_no = 1
        self._claims = 0
        self._waiting_since = inp.placed_at

    def install(self) -> None:
        """Serve this run's signals, queries and updates with the legacy handlers."""
        workflow.set_query_handler("state", self.state)
        workflow.set_update_handler("cancel", self.cancel, validator=self._validate_cancel)
        workflow.set_signal_handler("shipment_progress", self.shipment_progress)
        workflow.set_update_handler(
            "approve_credit", self.approve_credit, validator=self._validate_credit
        )
        workflow.set_signal_handler("ops_note", self.ops_note)
        workflow.set_update_handler("resend_notification", self.resend_notification, validator=None)
        workflow.set_update_handler("reroute", self.reroute, validator=self._validate_reroute)
        workflow.set_signal_handler("retry_payment", self.retry_payment)
        workflow.set_signal_handler("backorder_wake", self.backorder_wake)

    # --- queries, updates, signals ---------------------------------------------------

    def state(self) -> OrderView:
        return self._view

    async def cancel(self, request: CancelOrder) -> OrderView:
        """Cancel with full compensation; answers once the compensation has run.

        Raises ``ApplicationError(type="AlreadyShipped")`` when a shipment shipped
        while the cancel ran (the other shipments are still cancelled).
        """
        self._cancel = request
        await workflow.wait_condition(lambda: self._cancel_outcome is not None)
        if not self._cancel_outcome:
            raise ApplicationError(
                "a shipment shipped while cancelling; the rest of the order was cancelled",
                type="AlreadyShipped",
            )
        return self._view

    def _validate_cancel(self, request: CancelOrder) -> None:
        if self._view.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
            raise ApplicationError(f"order is already {self._view.status}", type="NotCancellable")
        if self._cancel is not None:
            raise ApplicationError("order is already being cancelled", type="NotCancellable")
        if any(s.status in SHIPPED_STATES for s in self._shipments.values()):
            raise ApplicationError(
                "order cannot be cancelled: a shipment has shipped", type="AlreadyShipped"
            )

    def shipment_progress(self, progress: ShipmentProgress) -> None:
        shipment = progress.shipment
        known = self._shipments.get(shipment.shipment_id)
        if known is None or shipment.version >= known.version:
            if shipment.pick_late and not (known and known.pick_late):
                self._note(
                    f"Pick late: {shipment.shipment_id} not picked at {shipment.warehouse_id} "
                    "within its SLA; operations notified"
                )
            self._shipments[shipment.shipment_id] = shipment
            self._dirty = True

    async def approve_credit(self, approval: CreditApproval) -> OrderView:
        """Finance lets an order held over its company's credit limit go ahead."""
        self._credit_approval = approval
        self._note(
            f"Credit over the limit approved by {approval.approver} ({approval.role})"
            + (f": {approval.comment}" if approval.comment else "")
        )
        await workflow.wait_condition(lambda: not self._awaiting_credit)
        return self._view

    def _validate_credit(self, approval: CreditApproval) -> None:
        try:
            check_credit_approval(self._awaiting_credit, approval)
        except ApprovalRefused as refused:
            raise ApplicationError(str(refused), type=refused.code) from refused

    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the order's history with who and why."""
        self._note(f"Operations ({note.by}): {note.action}: {note.reason}")
        self._dirty = True

    async def resend_notification(self, request: ResendNotification) -> OrderView:
        """Send one of the order's customer emails again (a new outbox key per resend)."""
        self._resends += 1
        self._note(f"Operations ({request.by}) resent {request.notification}: {request.reason}")
        extra = {"reason": self._view.cancel_reason or request.reason}
        if request.notification == "order_cancelled":
            extra.update(views.cancelled_why(self._view))
        await self._email(
            f"{self._inp.order_id}:{request.notification}:resend:{self._resends}",
            request.notification,
            extra,
        )
        await self._record()
        return self._view

    async def reroute(self, request: RerouteShipment) -> OrderView:
        """Move a shipment that has not shipped to another warehouse.

        The old shipment is cancelled and its reservation released (freed units go to
        the oldest backorders there); its lines are allocated again without the old
        warehouse (or only at ``request.warehouse_id``); what no warehouse has is
        backordered. Recorded in the history with who and why.
        """
        old = self._shipments[request.shipment_id]
        # While the old shipment is cancelled and before the new one exists, the order must
        # not read as finished.
        self._rerouting += 1
        try:
            return await self._reroute(request, old)
        finally:
            self._rerouting -= 1
            self._dirty = True

    async def _reroute(self, request: RerouteShipment, old: ShipmentView) -> OrderView:
        self._note(
            f"Operations ({request.by}) re-routes {old.shipment_id} away from "
            f"{old.warehouse_id}: {request.reason}"
        )
        handle = self._children[old.shipment_id]
        await handle.signal("cancel", CancelShipment(reason=f"re-routed: {request.reason}"))
        self._shipments[old.shipment_id] = await handle
        released = await workflow.execute_activity_method(
            InventoryActivities.release,
            ReleaseRequest(order_id=self._inp.order_id, shipment_id=old.shipment_id),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"release {old.shipment_id}"),
        )
        for other in released.filled_orders:
            await wake_order(other, BackorderWake())
        self._reroutes += 1
        decision = await workflow.execute_activity_method(
            InventoryActivities.allocate,
            AllocateRequest(
                key=f"{self._inp.order_id}:reroute:{self._reroutes}",
                order_id=self._inp.order_id,
                lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in old.lines],
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
        await self._start_shipments(decision.shipments)
        if decision.backordered:
            self._backordered = [*self._backordered, *decision.backordered]
            self._backordered_since = self._backordered_since or workflow.now()
        self._note(views.allocation_note(decision))
        self._dirty = True
        await self._refresh_status()
        return self._view

    def _validate_reroute(self, request: RerouteShipment) -> None:
        shipment = self._shipments.get(request.shipment_id)
        if shipment is None:
            raise ApplicationError(
                f"order has no shipment {request.shipment_id}", type="UnknownShipment"
            )
        if shipment.status not in (ShipmentStatus.PICKING, ShipmentStatus.HELD):
            raise ApplicationError(
                "only a shipment that is picking or held can be re-routed; "
                f"it is {shipment.status}",
                type="NotReroutable",
            )
        if request.warehouse_id == shipment.warehouse_id:
            raise ApplicationError("that is the warehouse it ships from", type="NotReroutable")
        if self._cancel is not None:
            raise ApplicationError("the order is being cancelled", type="NotReroutable")

    def retry_payment(self, request: RetryPayment) -> None:
        self._retry = request

    def backorder_wake(self, _wake: BackorderWake) -> None:
        self._wake = True

    # --- the run -------------------------------------------------------------------

    async def run(self, inp: OrderInput) -> OrderResult:
        workflow.upsert_search_attributes(
            [
                sa.KIND.value_set("order"),
                sa.CUSTOMER_ID.value_set(inp.customer.id),
                sa.CHANNEL.value_set(inp.channel),
            ]
        )
        await self._set_status(OrderStatus.RECEIVED, f"Order received via {inp.channel}")
        if not await self._authorize():
            return await self._finish_cancelled()
        await self._set_status(OrderStatus.CONFIRMED, "Payment authorized; order confirmed")
        await self._email(f"{inp.order_id}:confirmed", "order_confirmed")
        if self._cancel is None:
            decision = await self._allocate()
            await self._start_shipments(decision.shipments)
            self._backordered = decision.backordered
            if self._backordered:
                self._backordered_since = workflow.now()
            await self._set_status(
                OrderStatus.BACKORDERED if self._backordered else OrderStatus.ALLOCATED,
                views.allocation_note(decision),
            )
            if self._backordered:
                await self._email(f"{inp.order_id}:backordered", "order_backordered")
        if await self._fulfil():
            return await self._finish_cancelled()
        await self._refresh_status()  # the last delivery may have arrived with the others
        await self._set_status(OrderStatus.COMPLETED, "Every shipment delivered")
        await self._email(f"{inp.order_id}:completed", "order_completed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderResult(order_id=inp.order_id, status=self._view.status)

    async def _authorize(self) -> bool:
        """Authorize the total; when declined, hold and wait for a retry or a cancel."""
        inp = self._inp
        if inp.payment.method == "invoice":
            return await self._reserve_credit()
        if inp.payment.method == "exchange":
            return self._cancel is None  # a return's replacement: nothing to authorize
        token = inp.payment.token
        attempt = 0
        while True:
            attempt += 1
            auth = await workflow.execute_activity_method(
                PaymentActivities.authorize,
                AuthorizeRequest(
                    idempotency_key=f"{inp.order_id}:authorize:{attempt}",
                    order_id=inp.order_id,
                    amount=self._view.total,
                    currency=inp.currency,
                    token=token,
                ),
                **policies.PAYMENTS.kwargs(
                    self._q(PAYMENTS_QUEUE), f"authorize {self._view.total} {inp.currency}"
                ),
            )
            if auth.status == "authorized":
                self._authorization_id = auth.authorization_id
                return self._cancel is None
            await self._set_status(
                OrderStatus.ON_HOLD, f"Payment declined: {auth.decline_reason or 'no reason given'}"
            )
            await self._email(
                f"{inp.order_id}:on_hold:{attempt}",
                "order_on_hold",
                {"reason": auth.decline_reason or ""},
            )
            if await self._hold(
                lambda: self._retry is not None,
                "waiting for the customer to fix payment",
                "payment not completed in time",
            ):
                return False
            if self._retry is not None and self._retry.payment is not None:
                token = self._retry.payment.token
            self._retry = None

    async def _reserve_credit(self) -> bool:
        """Invoice terms: hold the company's credit; over the limit, hold for finance or refuse."""
        inp = self._inp
        company = inp.payment.company_id or ""
        attempt = 0
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
                self._credit_reserved = True
                self._awaiting_credit = False
                return self._cancel is None
            reason = (
                f"credit limit of {company} exceeded: {reservation.amount} needed, "
                f"{reservation.available_before} available"
            )
            if reservation.over_limit_action == "refuse":
                self._cancel = CancelOrder(reason=reason, requested_by="system")
                return False
            self._awaiting_credit = True
            await self._set_status(OrderStatus.ON_HOLD, f"{reason}; waiting for finance")
            await self._email(f"{inp.order_id}:on_hold:credit", "order_on_hold", {"reason": reason})
            if await self._hold(
                lambda: self._credit_approval is not None,
                "waiting for finance to approve credit",
                f"{reason}; not approved in time",
            ):
                self._awaiting_credit = False
                return False

    async def _hold(self, released: Callable[[], bool], summary: str, too_late: str) -> bool:
        """Wait on hold until ``released`` or a cancel; past the hold timeout the system
        cancels with reason ``too_late``. True when the order is to be cancelled."""
        try:
            await workflow.wait_condition(
                lambda: released() or self._cancel is not None,
                timeout=timedelta(seconds=self._inp.options.hold_timeout_s),
                timeout_summary=summary,
            )
        except TimeoutError:
            self._cancel = CancelOrder(reason=too_late, requested_by="system")
        return self._cancel is not None

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

    async def _fulfil(self) -> bool:
        """Follow shipments and backorders to the end; True when the order was cancelled."""
        recheck = timedelta(seconds=self._inp.options.backorder_recheck_s)
        while True:
            statuses = [s.status for s in self._shipments.values()]
            if (
                self._shipments
                and not self._rerouting
                and is_finished(statuses, bool(self._backordered))
            ):
                # Children report delivery before their last email: let them finish.
                for handle in self._children.values():
                    await handle
                return False
            try:
                await workflow.wait_condition(
                    lambda: self._cancel is not None or self._wake or self._dirty,
                    timeout=recheck if self._backordered else None,
                    timeout_summary="backorder re-check" if self._backordered else None,
                )
            except TimeoutError:
                self._wake = True  # a missed wake-up signal costs one re-check period, no more
            if self._cancel is not None and not self._cancel_done and await self._compensate():
                return True
            if self._wake:
                self._wake = False
                if self._backordered:
                    await self._claim_backorders()
            if self._dirty:
                self._dirty = False
                await self._refresh_status()

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
        await self._start_shipments(fill.shipments)
        self._backordered = fill.still_backordered
        if not self._backordered:
            self._backordered_since = None
        self._note(f"Backorder filled: {views.units(ln for s in fill.shipments for ln in s.lines)}")
        await self._refresh_status()

    async def _start_shipments(self, planned: list[PlannedShipment]) -> None:
        inp = self._inp
        prices = {li.sku: li.unit_price for li in inp.lines}
        for plan in planned:
            if plan.ship_from is None:
                raise ApplicationError(
                    f"warehouse {plan.warehouse_id} has no address", type="WarehouseWithoutAddress"
                )
            lines = [
                ShipmentLine(sku=ln.sku, quantity=ln.quantity, unit_price=prices[ln.sku])
                for ln in plan.lines
            ]
            units = sum(ln.quantity for ln in plan.lines)
            placeholder = ShipmentView(
                shipment_id=plan.shipment_id,
                order_id=inp.order_id,
                warehouse_id=plan.warehouse_id,
                status=ShipmentStatus.PICKING,
                lines=lines,
                ship_to=inp.ship_to,
                updated_at=workflow.now(),
            )
            # The child's progress signals can arrive in the same activation as its start
            # (a worker that died with the task leaves both queued), and signals are applied
            # first: set the placeholder before the start, so it never overwrites them.
            keep_newer = workflow.patched(SHIPMENT_PLACEHOLDER_PATCH)
            if keep_newer:
                self._shipments[plan.shipment_id] = placeholder
            handle = await workflow.start_child_workflow(
                "ShipmentWorkflow",
                ShipmentInput(
                    shipment_id=plan.shipment_id,
                    order_id=inp.order_id,
                    warehouse_id=plan.warehouse_id,
                    ship_from=plan.ship_from,
                    ship_to=inp.ship_to,
                    lines=lines,
                    currency=inp.currency,
                    shipping_speed=inp.shipping_speed,
                    customer=inp.customer,
                    authorization_id=self._authorization_id or "",
                    payment_method=inp.payment.method,
                    pick_sla_s=inp.options.pick_sla_s,
                    ops_email=inp.options.ops_email,
                    step_deadline_s=inp.options.step_deadline_s,
                    delivery_deadline_s=inp.options.delivery_deadline_s,
                    task_queue_prefix=inp.options.task_queue_prefix,
                ),
                id=shipment_workflow_id(plan.shipment_id),
                result_type=ShipmentView,
                task_queue=self._q(WORKFLOW_QUEUE),
                static_summary=(
                    f"Shipment {plan.shipment_id} · {plan.warehouse_id} · {units} unit(s)"
                ),
            )
            self._children[plan.shipment_id] = handle
            self._next_shipment_no += 1
            if not keep_newer:
                self._shipments[plan.shipment_id] = placeholder

    async def _compensate(self) -> bool:
        """Undo everything not yet shipped; True when the whole order ended cancelled."""
        request = self._cancel or CancelOrder(reason="cancelled")
        for sid, handle in self._children.items():
            if self._shipments[sid].status not in SHIPPED_STATES:
                await handle.signal("cancel", CancelShipment(reason=request.reason))
        for sid, handle in self._children.items():
            self._shipments[sid] = await handle
        released = await workflow.execute_activity_method(
            InventoryActivities.release,
            ReleaseRequest(order_id=self._inp.order_id),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "release reservations"),
        )
        for other in released.filled_orders:
            await wake_order(other, BackorderWake())
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
        self._backordered = []
        self._cancel_done = True
        shipped = [s for s in self._shipments.values() if s.status in SHIPPED_STATES]
        if not shipped:
            return True
        self._note(
            f"Cancel by {request.requested_by} came after {shipped[0].shipment_id} shipped; "
            "the rest was cancelled"
        )
        await self._refresh_status()
        self._cancel_outcome = False
        return False

    async def _finish_cancelled(self) -> OrderResult:
        request = self._cancel or CancelOrder(reason="cancelled")
        if not self._cancel_done:
            # Cancelled before allocation: nothing reserved yet, but release is idempotent.
            await self._compensate()
        self._view.cancel_reason = request.reason
        self._view.cancel_note = request.customer_note
        await self._set_status(
            OrderStatus.CANCELLED, f"Cancelled by {request.requested_by}: {request.reason}"
        )
        self._cancel_outcome = True
        # The OMS's own reason as a code the template words in the customer's language, or
        # the note for the customer (a payload, not a command: the same commands 0.1 issued).
        why = told_why(request.reason, request.requested_by, request.customer_note)
        await self._email(
            f"{self._inp.order_id}:cancelled", "order_cancelled", {"reason": request.reason, **why}
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderResult(order_id=self._inp.order_id, status=OrderStatus.CANCELLED)

    # --- status, read model, email -------------------------------------------------

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _note(self, note: str) -> None:
        self._view.history.append(
            HistoryEntry(at=workflow.now(), status=self._view.status, note=note)
        )

    async def _refresh_status(self) -> None:
        statuses = [s.status for s in self._shipments.values()]
        new = order_status(statuses, bool(self._backordered))
        if new == OrderStatus.CANCELLED and self._cancel is None:
            new = self._view.status  # only a cancel ends an order as cancelled
        if new != self._view.status or self._stage(new)[0] != self._stage_shown:
            await self._set_status(new, _shipment_note(self._shipments.values()))
        else:
            await self._record()

    async def _set_status(self, status: OrderStatus, note: str) -> None:
        now = workflow.now()
        previous = self._view.status if self._view.history else None
        metrics.status_entered("order", str(status), previous, self._waiting_since)
        self._view.status = status
        self._view.history.append(HistoryEntry(at=now, status=status, note=note))
        stage, waiting_for = self._stage(status)
        self._stage_shown = stage
        if stage == "awaiting_stock":
            # The clock of a backorder runs from when stock was first missing.
            now = self._backordered_since or now
        deadline = self._deadline(status, now)
        workflow.upsert_search_attributes(
            [
                sa.ORDER_STATUS.value_set(str(status)),
                *stage_attributes(stage, waiting_for, now, deadline),
            ]
        )
        self._waiting_since = now
        await self._record()

    async def _record(self) -> None:
        workflow.set_current_details(self._details())
        self._view.version = read_model.stamp(self._view.version)
        self._view.updated_at = workflow.now()
        self._view.shipments = [ShipmentSummary.of(s) for s in self._shipments.values()]
        self._view.backordered = list(self._backordered)
        await read_model.record_order(
            self._view, self._q(INVENTORY_QUEUE), f"record {self._view.status}"
        )

    def _stage(self, status: OrderStatus) -> tuple[str, str]:
        """(stage, waiting for) of the order: units still owed make it wait for stock."""
        if self._backordered and status in (
            OrderStatus.BACKORDERED,
            OrderStatus.PARTIALLY_SHIPPED,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
        ):
            return ("awaiting_stock", "supplier")
        return _WAITING[status]

    def _deadline(self, status: OrderStatus, now: datetime) -> datetime | None:
        """When the order is overdue in ``status`` (None where its shipments carry the clock).

        Operations' stuck list is every running workflow past its deadline.
        """
        opts = self._inp.options
        if self._stage(status)[0] == "awaiting_stock":
            return now + timedelta(seconds=opts.backorder_alert_s)
        seconds = {
            OrderStatus.RECEIVED: opts.step_deadline_s,
            OrderStatus.CONFIRMED: opts.step_deadline_s,
            OrderStatus.ON_HOLD: opts.hold_timeout_s,
        }.get(status)
        return now + timedelta(seconds=seconds) if seconds is not None else None

    def _details(self) -> str:
        """The order's current state in Markdown, as the Temporal UI shows it."""
        view = self._view
        stage, waiting_for = self._stage(view.status)
        lines = [
            f"**Order {view.order_id}** · `{view.status}`",
            "",
            f"- stage: `{stage}`, waiting for **{waiting_for}** "
            f"since {self._waiting_since:%Y-%m-%d %H:%M:%S} UTC",
            f"- total: {view.total} {view.currency} · {len(view.lines)} line(s) · {view.channel}",
        ]
        for s in self._shipments.values():
            lines.append(
                f"- shipment {s.shipment_id} from {s.warehouse_id}: `{s.status}`"
                + (f" · tracking {s.tracking_number}" if s.tracking_number else "")
                + (" · **pick late**" if s.pick_late and s.status == "picking" else "")
            )
        if self._backordered:
            lines.append(f"- backordered: {views.units(self._backordered)}")
        if view.allocations:
            last = view.allocations[-1]
            considered = ", ".join(
                f"{c.warehouse_id} ({c.distance_km} km)" for c in last.candidates
            )
            lines.append(f"- allocation: {last.rule}; considered {considered}")
        return "\n".join(lines)

    async def _email(self, key: str, template: str, extra: dict[str, str] | None = None) -> None:
        inp = self._inp
        locale = inp.customer.locale
        context: dict[str, Any] = {
            "customer_name": inp.customer.name,
            "order_id": inp.order_id,
            "currency": inp.currency,
            "total": format_money(self._view.total, inp.currency, locale),
            "lines": [
                {
                    "sku": li.sku,
                    "quantity": li.quantity,
                    "unit_price": format_money(li.unit_price, inp.currency, locale),
                    "line_total": format_money(li.unit_price * li.quantity, inp.currency, locale),
                }
                for li in inp.lines
            ],
            "backordered": [{"sku": b.sku, "quantity": b.quantity} for b in self._backordered],
            **(extra or {}),
        }
        request = EmailRequest(
            key=key, to=str(inp.customer.email), locale=locale, template=template, context=context
        )
        if (err := await send_email(request, self._q(EMAIL_QUEUE))) is not None:
            self._note(f"Email {template} not sent: {err.cause or err}")


def _shipment_note(shipments: Any) -> str:
    return "; ".join(f"{s.shipment_id} {s.status}" for s in shipments)
