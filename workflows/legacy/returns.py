"""Frozen 0.1 code (see ``workflows/legacy/__init__.py``).

ReturnWorkflow: one return (RMA) from request to refund or exchange.

Workflow id ``return-<rma_id>``. Checks eligibility again against the store
(the API checked before starting), authorizes automatically when the
merchant's rules allow or waits for support (``authorize`` / ``reject``
updates), buys a prepaid return label and emails it, and waits for the parcel
(``receive`` update; not received within the timeout -> ``expired``). On
receipt, resellable units go back on the receiving warehouse's shelf (filling
its backorders, whose orders are woken), damaged units are written off and
wrong items go to manual review. Then the resolution: a refund per line
against the order's captured payment (idempotent per return and line; a
declined refund waits in ``refund_failed`` for ``retry_refund``), or a
replacement order at no charge. The customer is emailed at each step; the
order shows its returns from the returns read model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carrier import CarrierActivities
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities
    from activities.returns import ReturnActivities
    from oms import search_attributes as sa
    from oms.domain.lifecycle import Step
    from oms.domain.money import format_money
    from oms.domain.returns import (
        apply_receipt,
        authorization_reason,
        receipt_problems,
        refund_due,
        replacement_order,
        replacement_units,
    )
    from oms.ids import exchange_order_id, order_workflow_id
    from oms.models.carrier import VoidLabelRequest
    from oms.models.common import HistoryEntry, Locale
    from oms.models.notifications import EmailRequest
    from oms.models.ops import OpsNote
    from oms.models.orders import BackorderWake, OrderLine
    from oms.models.returns import (
        AuthorizeReturn,
        EligibilityRequest,
        ReceiveReturn,
        RefundRequest,
        RejectReturn,
        RetryRefund,
        ReturnInput,
        ReturnLabel,
        ReturnLabelRequest,
        ReturnStatus,
        ReturnView,
        StockMovement,
    )
    from oms.queues import (
        CARRIER_QUEUE,
        EMAIL_QUEUE,
        INVENTORY_QUEUE,
        PAYMENTS_QUEUE,
        WORKFLOW_QUEUE,
    )
    from oms.views import returns as views
    from oms.views.common import when
    from workflows import policies
    from workflows.legacy.common import cause, send_email, stage_attributes, wake_order

# What a return in each status waits for: (stage, who), for search attributes and details.
_WAITING: dict[ReturnStatus, tuple[str, str]] = {
    ReturnStatus.REQUESTED: ("awaiting_authorization", "support"),
    ReturnStatus.AUTHORIZED: ("awaiting_label", "carrier"),
    ReturnStatus.AWAITING_RECEIPT: ("awaiting_receipt", "customer"),
    ReturnStatus.RECEIVED: ("resolving", "payment_provider"),
    ReturnStatus.REFUND_FAILED: ("refund_failed", "operations"),
    ReturnStatus.REFUNDED: ("closing", "nobody"),
    ReturnStatus.EXCHANGED: ("closing", "nobody"),
}


class ReturnV1:
    """The whole life of one return; its state is available by the ``state`` query."""

    def __init__(self, inp: ReturnInput) -> None:
        self._inp = inp
        self._view = ReturnView(
            rma_id=inp.rma_id,
            order_id=inp.order_id,
            status=ReturnStatus.REQUESTED,
            resolution=inp.resolution,
            customer=inp.customer,
            currency=inp.currency,
            lines=[line.model_copy() for line in inp.lines],
            requested_at=inp.requested_at,
            updated_at=inp.requested_at,
        )
        self._awaiting_decision = False
        self._decision: AuthorizeReturn | RejectReturn | None = None
        self._receipt: ReceiveReturn | None = None
        self._retry: RetryRefund | None = None
        self._inspected = False
        self._waiting_since = inp.requested_at

    def install(self) -> None:
        """Serve this run's signals, queries and updates with the legacy handlers."""
        workflow.set_query_handler("state", self.state)
        workflow.set_update_handler("authorize", self.authorize, validator=self._validate_authorize)
        workflow.set_update_handler("reject", self.reject, validator=self._validate_reject)
        workflow.set_update_handler("receive", self.receive, validator=self._validate_receive)
        workflow.set_update_handler(
            "retry_refund", self.retry_refund, validator=self._validate_retry
        )
        workflow.set_signal_handler("ops_note", self.ops_note)

    # --- queries, updates, signals ---------------------------------------------------

    def state(self) -> ReturnView:
        return self._view

    async def authorize(self, request: AuthorizeReturn) -> ReturnView:
        """Support lets a return the rules did not authorize go ahead."""
        self._decision = request
        await workflow.wait_condition(lambda: self._view.status != ReturnStatus.REQUESTED)
        return self._view

    def _validate_authorize(self, request: AuthorizeReturn) -> None:
        self._require_decision("authorize")

    async def reject(self, request: RejectReturn) -> ReturnView:
        """Support refuses the return, with a reason the customer is told."""
        self._decision = request
        await workflow.wait_condition(lambda: self._view.status != ReturnStatus.REQUESTED)
        return self._view

    def _validate_reject(self, request: RejectReturn) -> None:
        self._require_decision("reject")

    async def receive(self, receipt: ReceiveReturn) -> ReturnView:
        """The warehouse received the parcel; answers once it is inspected and restocked.

        The refund or exchange follows in the background (see ``state``).
        """
        self._receipt = receipt
        await workflow.wait_condition(lambda: self._inspected)
        return self._view

    def _validate_receive(self, receipt: ReceiveReturn) -> None:
        status = self._view.status
        if status != ReturnStatus.AWAITING_RECEIPT or self._receipt is not None:
            raise ApplicationError(
                f"the return is not awaiting receipt; it is {status}", type="NotAwaitingReceipt"
            )
        problems = receipt_problems(self._view.lines, receipt.lines)
        if problems:
            raise ApplicationError("; ".join(problems), type="ReceiptMismatch")

    async def retry_refund(self, request: RetryRefund) -> ReturnView:
        """A person retries a refund the provider declined (after fixing the cause)."""
        self._retry = request
        await workflow.wait_condition(lambda: self._retry is None)
        return self._view

    def _validate_retry(self, request: RetryRefund) -> None:
        if self._view.status != ReturnStatus.REFUND_FAILED or self._retry is not None:
            raise ApplicationError(
                f"no failed refund to retry; the return is {self._view.status}",
                type="NoFailedRefund",
            )

    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the return's history with who and why."""
        self._history(f"ops:{note.by}", f"{note.action}: {note.reason}")

    # --- the run -------------------------------------------------------------------

    async def run(self, inp: ReturnInput) -> ReturnView:
        workflow.upsert_search_attributes(
            [sa.KIND.value_set("return"), sa.CUSTOMER_ID.value_set(inp.customer.id)]
        )
        asked = ", ".join(f"{ln.quantity} x {ln.sku} ({ln.reason})" for ln in inp.lines)
        await self._set(ReturnStatus.REQUESTED, "customer", f"{asked}; resolution {inp.resolution}")
        await self._email("requested", "return_requested")
        check = await workflow.execute_activity_method(
            ReturnActivities.check_eligibility,
            EligibilityRequest.of(inp),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "check return eligibility"),
        )
        if not check.eligible:
            why = "; ".join(p.message for p in check.problems)
            return await self._rejected("system", f"not eligible: {why}")
        if not await self._authorized():
            assert isinstance(self._decision, RejectReturn)
            return await self._rejected(self._decision.by, self._decision.reason)
        await self._buy_label(check.return_warehouse_id, check.return_to)
        due = workflow.now() + timedelta(seconds=inp.options.receipt_timeout_s)
        self._view.receipt_due_at = due
        await self._set(ReturnStatus.AWAITING_RECEIPT, "system", f"send the parcel by {when(due)}")
        label = self._view.label
        await self._email(
            "authorized",
            "return_authorized",
            {
                "tracking_number": label.tracking_number if label else "",
                "carrier": label.carrier if label else "",
                "receipt_due": when(due),
            },
        )
        try:
            await workflow.wait_condition(
                lambda: self._receipt is not None,
                timeout=timedelta(seconds=inp.options.receipt_timeout_s),
                timeout_summary="waiting for the customer's parcel",
            )
        except TimeoutError:
            return await self._expired()
        await self._inspect()
        if inp.resolution == "refund":
            await self._refund()
        else:
            await self._exchange()
        await self._set(ReturnStatus.CLOSED, "system", "return closed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _authorized(self) -> bool:
        """Authorize by the merchant's rules, or wait for support; False when rejected."""
        reason = authorization_reason(self._view.lines, self._inp.options.policy)
        if reason is not None:
            self._view.authorization = "automatic"
            self._view.authorized_by = "system"
            await self._set(
                ReturnStatus.AUTHORIZED, "system", f"authorized automatically: {reason}"
            )
            return True
        self._awaiting_decision = True
        self._history("system", "needs a person to authorize: over the automatic rules")
        await self._record()
        await self._email_ops(
            "authorize",
            f"Return {self._inp.rma_id} of order {self._inp.order_id} needs authorization "
            f"(POST /returns/{self._inp.rma_id}/authorize or /reject)",
        )
        await workflow.wait_condition(
            lambda: self._decision is not None, timeout_summary="waiting for support to decide"
        )
        self._awaiting_decision = False
        decision = self._decision
        if isinstance(decision, RejectReturn):
            return False
        assert isinstance(decision, AuthorizeReturn)
        self._view.authorization = "manual"
        self._view.authorized_by = decision.by
        note = "authorized" + (f": {decision.comment}" if decision.comment else "")
        await self._set(ReturnStatus.AUTHORIZED, decision.by, note)
        return True

    async def _rejected(self, by: str, reason: str) -> ReturnView:
        self._view.rejection_reason = reason
        await self._set(ReturnStatus.REJECTED, by, reason)
        await self._email("rejected", "return_rejected", {"reason": reason})
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _buy_label(self, warehouse_id: str | None, return_to: Any) -> None:
        inp = self._inp
        if warehouse_id is None or return_to is None:
            self._history("system", "no return label: the shipping warehouse has no address")
            return
        try:
            label = await workflow.execute_activity_method(
                CarrierActivities.buy_return_label,
                ReturnLabelRequest(
                    idempotency_key=f"{inp.rma_id}:return-label",
                    rma_id=inp.rma_id,
                    ship_from=inp.ship_to,
                    ship_to=return_to,
                ),
                **policies.CARRIER.kwargs(self._q(CARRIER_QUEUE), "buy return label"),
            )
        except ActivityError as err:
            # The customer can still send the parcel; support sees why there is no label.
            self._history("system", f"return label not bought: {err.cause or err}")
            return
        self._view.label = ReturnLabel(
            label_id=label.label_id,
            tracking_number=label.tracking_number,
            carrier=label.carrier,
            service=label.service,
            return_to_warehouse_id=warehouse_id,
        )
        self._history("system", f"return label {label.tracking_number} to {warehouse_id}")

    async def _expired(self) -> ReturnView:
        days = self._inp.options.receipt_timeout_s // 86400
        await self._set(ReturnStatus.EXPIRED, "system", f"nothing received within {days} days")
        if self._view.label is not None:
            try:
                await workflow.execute_activity_method(
                    CarrierActivities.void_label,
                    VoidLabelRequest(
                        shipment_id=self._inp.rma_id, label_id=self._view.label.label_id
                    ),
                    **policies.CARRIER.kwargs(self._q(CARRIER_QUEUE), "void return label"),
                )
            except ActivityError as err:
                self._history("system", f"return label not voided: {err.cause or err}")
        await self._email("expired", "return_expired")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _inspect(self) -> None:
        """Count what arrived, restock the resellable units, write off the damaged ones."""
        receipt = self._receipt
        assert receipt is not None
        inp = self._inp
        warehouse = receipt.warehouse_id
        self._view.lines = apply_receipt(self._view.lines, receipt.lines)
        self._view.received_at_warehouse = warehouse
        got = ", ".join(f"{ln.quantity} x {ln.sku} {ln.condition}" for ln in receipt.lines)
        await self._set(
            ReturnStatus.RECEIVED, receipt.received_by, f"received at {warehouse}: {got}"
        )
        for line in self._view.lines:
            if line.received_resellable:
                receipt_ = await workflow.execute_activity_method(
                    InventoryActivities.restock,
                    StockMovement(
                        key=f"{inp.rma_id}:restock:{line.sku}",
                        rma_id=inp.rma_id,
                        warehouse_id=warehouse,
                        sku=line.sku,
                        quantity=line.received_resellable,
                    ),
                    **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"restock {line.sku}"),
                )
                line.restocked = line.received_resellable
                self._history("system", f"restocked {line.restocked} x {line.sku} at {warehouse}")
                for order_id in receipt_.filled_orders:
                    self._history(
                        "system", f"restocked {line.sku} filled order {order_id}'s backorder"
                    )
                    await wake_order(order_id, BackorderWake())
            if line.received_damaged:
                await workflow.execute_activity_method(
                    InventoryActivities.write_off,
                    StockMovement(
                        key=f"{inp.rma_id}:write_off:{line.sku}",
                        rma_id=inp.rma_id,
                        warehouse_id=warehouse,
                        sku=line.sku,
                        quantity=line.received_damaged,
                    ),
                    **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"write off {line.sku}"),
                )
                line.written_off = line.received_damaged
                self._history("system", f"wrote off {line.written_off} damaged x {line.sku}")
            if line.received_wrong_item:
                problem = (
                    f"{line.received_wrong_item} unit(s) received for {line.sku} are not the "
                    "product sold: not refunded, manual review"
                )
                self._view.manual_review.append(problem)
                self._history("system", problem)
                await self._email_ops(f"review:{line.sku}", f"Return {inp.rma_id}: {problem}")
        await self._record()
        self._inspected = True
        await self._email("received", "return_received")

    async def _refund(self) -> None:
        """Refund each line once; a declined refund waits for a person to retry it."""
        inp = self._inp
        while True:
            failure = None
            for line in self._view.lines:
                due = refund_due(line)
                if due <= 0 or line.refunded >= due:
                    continue
                try:
                    refund = await workflow.execute_activity_method(
                        PaymentActivities.refund,
                        RefundRequest(
                            idempotency_key=f"{inp.rma_id}:refund:{line.sku}",
                            order_id=inp.order_id,
                            amount=due,
                            currency=inp.currency,
                            reason=f"return {inp.rma_id}: {line.sku}",
                        ),
                        **policies.PAYMENTS.kwargs(
                            self._q(PAYMENTS_QUEUE), f"refund {due} {inp.currency} for {line.sku}"
                        ),
                    )
                except ActivityError as err:
                    failure = f"refund for {line.sku} failed: {cause(err)}"
                    break
                line.refunded = refund.amount
                self._view.refund_total = sum(
                    (ln.refunded for ln in self._view.lines), Decimal("0.00")
                )
                self._history("system", f"refunded {refund.amount} {inp.currency} for {line.sku}")
                await self._record()
            if failure is None:
                break
            self._view.refund_error = failure
            await self._set(ReturnStatus.REFUND_FAILED, "system", failure)
            await self._email_ops("refund_failed", f"Return {inp.rma_id}: {failure}")
            await workflow.wait_condition(
                lambda: self._retry is not None, timeout_summary="waiting for a refund retry"
            )
            retry = self._retry
            assert retry is not None
            self._view.refund_error = None
            await self._set(
                ReturnStatus.RECEIVED,
                retry.by,
                "refund retried" + (f": {retry.reason}" if retry.reason else ""),
            )
            self._retry = None
        total = self._view.refund_total
        if total > 0:
            await self._set(ReturnStatus.REFUNDED, "system", f"refunded {total} {inp.currency}")
            await self._email(
                "refunded",
                "return_refunded",
                {"amount": format_money(total, inp.currency, inp.customer.locale)},
            )
        else:
            self._history("system", "nothing to refund")

    async def _exchange(self) -> None:
        """Send the received units again as a replacement order, at no charge."""
        inp = self._inp
        lines = [
            OrderLine(sku=ln.sku, quantity=replacement_units(ln), unit_price=Decimal("0.00"))
            for ln in self._view.lines
            if replacement_units(ln) > 0
        ]
        if not lines:
            self._history("system", "nothing to replace")
            return
        order_id = exchange_order_id(inp.rma_id)
        await workflow.start_child_workflow(
            "OrderWorkflow",
            replacement_order(inp, order_id, lines, workflow.now()),
            id=order_workflow_id(order_id),
            task_queue=self._q(WORKFLOW_QUEUE),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=f"Order {order_id} · exchange for return {inp.rma_id} · no charge",
        )
        self._view.exchange_order_id = order_id
        units = ", ".join(f"{ln.quantity} x {ln.sku}" for ln in lines)
        await self._set(ReturnStatus.EXCHANGED, "system", f"replacement order {order_id}: {units}")
        await self._email("exchanged", "return_exchanged", {"new_order_id": order_id})

    # --- status, read model, email -------------------------------------------------

    def _require_decision(self, action: str) -> None:
        if not self._awaiting_decision or self._decision is not None:
            raise ApplicationError(
                f"cannot {action}: the return is {self._view.status} "
                f"({self._view.authorization} authorization), not waiting for a decision",
                type="NotAwaitingAuthorization",
            )

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _history(self, by: str, note: str) -> None:
        self._view.history.append(
            HistoryEntry(at=workflow.now(), status=self._view.status, by=by, note=note)
        )

    async def _set(self, status: ReturnStatus, by: str, note: str) -> None:
        now = workflow.now()
        self._view.status = status
        self._history(by, note)
        step = _step(status)
        deadline = self._deadline(status, now)
        workflow.upsert_search_attributes(
            [
                sa.ORDER_STATUS.value_set(str(status)),
                *stage_attributes(step.stage, step.waiting_for, now, deadline),
            ]
        )
        self._waiting_since = now
        await self._record()

    def _deadline(self, status: ReturnStatus, now: datetime) -> datetime | None:
        """When the return is overdue in ``status`` (operations' stuck list is all past it)."""
        opts = self._inp.options
        if status == ReturnStatus.REQUESTED:
            return now + timedelta(seconds=opts.authorize_deadline_s)
        if status == ReturnStatus.AWAITING_RECEIPT:
            return self._view.receipt_due_at
        if status == ReturnStatus.REFUND_FAILED:
            return now  # waits for a person: overdue at once
        if status in (
            ReturnStatus.AUTHORIZED,
            ReturnStatus.RECEIVED,
            ReturnStatus.REFUNDED,
            ReturnStatus.EXCHANGED,
        ):
            return now + timedelta(seconds=opts.step_deadline_s)
        return None

    async def _record(self) -> None:
        workflow.set_current_details(self._details())
        self._view.version += 1
        self._view.updated_at = workflow.now()
        await workflow.execute_activity_method(
            ReturnActivities.record_return,
            self._view,
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"record {self._view.status}"),
        )

    def _details(self) -> str:
        return views.details(self._view, _step(self._view.status), self._waiting_since)

    async def _email(self, key: str, template: str, extra: dict[str, Any] | None = None) -> None:
        inp = self._inp
        context = views.email_context(inp, self._view, **(extra or {}))
        await self._send(
            f"return:{inp.rma_id}:{key}",
            str(inp.customer.email),
            template,
            inp.customer.locale,
            context,
        )

    async def _email_ops(self, key: str, problem: str) -> None:
        context = views.ops_context(self._inp, problem)
        await self._send(
            f"return:{self._inp.rma_id}:ops:{key}",
            self._inp.options.ops_email,
            "return_ops_alert",
            "en",
            context,
        )

    async def _send(
        self, key: str, to: str, template: str, locale: Locale, context: dict[str, Any]
    ) -> None:
        request = EmailRequest(key=key, to=to, locale=locale, template=template, context=context)
        if (err := await send_email(request, self._q(EMAIL_QUEUE))) is not None:
            self._history("system", f"email {template} not sent: {err.cause or err}")


def _step(status: ReturnStatus) -> Step:
    stage, waiting_for = _WAITING.get(status, ("done", "nobody"))
    return Step(str(status), stage, waiting_for)
