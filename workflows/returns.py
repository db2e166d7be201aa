"""ReturnWorkflow: one return (RMA) from request to refund or exchange.

Workflow id ``return-<rma_id>``. Checks eligibility again against the store (the API
checked before starting), authorizes automatically when the merchant's rules allow or
waits for support (``authorize`` / ``reject`` updates), buys a prepaid return label and
emails it, and waits for the parcel (``receive`` update; not received within the timeout
-> ``expired``). On receipt, resellable units go back on the receiving warehouse's shelf
(filling its backorders, whose orders are woken), damaged units are written off and wrong
items go to manual review. Then the resolution: a refund per line against the order's
captured payment (idempotent per return and line; a declined refund waits in
``refund_failed`` for ``retry_refund``), or a replacement order at no charge.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.returns import ReturnActivities
    from oms.domain import lifecycle
    from oms.domain.returns import (
        authorization_reason,
        missing_note,
        missing_units,
        receipt_problems,
    )
    from oms.ids import exchange_order_id, return_workflow_id
    from oms.models.ops import OpsNote
    from oms.models.returns import (
        AuthorizeReturn,
        EligibilityRequest,
        ReceiveReturn,
        RejectReturn,
        RetryRefund,
        ReturnInput,
        ReturnStatus,
        ReturnView,
    )
    from oms.queues import INVENTORY_QUEUE
    from oms.views import returns as views
    from oms.views.common import span
    from workflows import policies
    from workflows.legacy.returns import ReturnV1
    from workflows.return_exchange import RECEIVED_UNITS_PATCH, Exchange
    from workflows.return_label import ReturnLabels
    from workflows.return_receipt import Receipt
    from workflows.return_refund import REFUND_CAP_PATCH, Refunds
    from workflows.tracker import LIFECYCLE_PATCH, Tracker

__all__ = [
    "PARTIAL_RECEIPTS_PATCH",
    "RECEIVED_UNITS_PATCH",
    "REFUND_CAP_PATCH",
    "ReturnWorkflow",
    "exchange_order_id",
    "return_workflow_id",
]

# A first parcel with fewer units than authorized is settled and the return waits, in
# ``partially_received``, for the rest until the receipt is due; later parcels add to it.
# Before, the return closed at the first parcel and refused the rest.
PARTIAL_RECEIPTS_PATCH = "return-partial-receipts"


@workflow.defn(name="ReturnWorkflow")
class ReturnWorkflow:
    """The whole life of one return; its state is available by the ``state`` query."""

    @workflow.init
    def __init__(self, inp: ReturnInput) -> None:
        self._legacy = None if workflow.patched(LIFECYCLE_PATCH) else ReturnV1(inp)
        if self._legacy is not None:
            self._legacy.install()
            return
        self._inp, opts = inp, inp.options
        self._view = ReturnView(
            rma_id=inp.rma_id,
            order_id=inp.order_id,
            status=ReturnStatus.REQUESTED,
            resolution=inp.resolution,
            customer=inp.customer,
            currency=inp.currency,
            lines=[line.model_copy() for line in inp.lines],
            exchange_for=[line.model_copy() for line in inp.exchange_for],
            requested_at=inp.requested_at,
            updated_at=inp.requested_at,
        )
        self._track = Tracker(
            lifecycle.RETURN,
            self._view,
            limits={
                lifecycle.AUTHORIZE: opts.authorize_deadline_s,
                lifecycle.STEP: opts.step_deadline_s,
                lifecycle.RECEIPT: opts.receipt_timeout_s,
            },
            details=views.details,
            record=policies.recorder(ReturnActivities.record_return),
            queue_prefix=opts.task_queue_prefix,
        )
        self._awaiting_decision = False
        self._decision: AuthorizeReturn | RejectReturn | None = None
        self._receipt: ReceiveReturn | None = None
        # Later parcels of a return received in parts, in the order they came, not yet taken.
        self._pending: list[ReceiveReturn] = []
        self._inspected = 0  # parcels inspected so far
        self._parcels_closed = False
        self._receiving = Receipt(inp, self._view, self._track, self._email_ops)
        self._labels = ReturnLabels(inp, self._view, self._track)
        mail = (self._email, self._email_ops)
        self._refunds = Refunds(
            inp, self._view, self._track, self._receiving, mail, lambda: self._exchanging
        )
        self._exchanging = Exchange(inp, self._view, self._track, mail, self._refunds.settle)

    # --- queries, updates, signals ---------------------------------------------------

    @workflow.query
    def state(self) -> ReturnView:
        return self._view

    @workflow.update
    async def authorize(self, request: AuthorizeReturn) -> ReturnView:
        """Support lets a return the rules did not authorize go ahead."""
        return await self._decide(request)

    @authorize.validator
    def _validate_authorize(self, request: AuthorizeReturn) -> None:
        self._require_decision("authorize")

    @workflow.update
    async def reject(self, request: RejectReturn) -> ReturnView:
        """Support refuses the return, with a reason the customer is told."""
        return await self._decide(request)

    @reject.validator
    def _validate_reject(self, request: RejectReturn) -> None:
        self._require_decision("reject")

    @workflow.update
    async def receive(self, receipt: ReceiveReturn) -> ReturnView:
        """The warehouse received the parcel; answers once it is inspected and restocked.

        The refund or exchange follows in the background (see ``state``).
        """
        self._track.update_accepted()
        if self._receiving.in_parts:
            # A later parcel waits its turn behind those still being settled.
            self._pending.append(receipt)
            parcel = self._inspected + len(self._pending)
        else:
            self._receipt = receipt
            parcel = self._inspected + 1
        await workflow.wait_condition(lambda: self._inspected >= parcel)
        return self._track.for_caller()

    @receive.validator
    def _validate_receive(self, receipt: ReceiveReturn) -> None:
        status = self._view.status
        if self._receiving.in_parts and not self._parcels_closed:
            # Received in parts (patch ``return-partial-receipts``): a later parcel is taken
            # whenever the return is still open for parcels, also while an earlier one is
            # settled, counting the parcels waiting their turn as received.
            pending = [ln for r in self._pending for ln in r.lines]
        elif self._receipt is not None and not self._parcels_closed and not self._inspected:
            # The first parcel is being inspected: it decides whether more may come.
            raise ApplicationError(
                "the return's first parcel is being inspected; post this one again in a moment",
                type="NotAwaitingReceipt",
            )
        elif status != ReturnStatus.AWAITING_RECEIPT or self._receipt is not None:
            raise ApplicationError(
                f"the return is not awaiting receipt; it is {status}", type="NotAwaitingReceipt"
            )
        else:
            pending = []
        problems = receipt_problems(self._view.lines, receipt.lines, pending)
        if problems:
            raise ApplicationError("; ".join(problems), type="ReceiptMismatch")

    @workflow.update
    async def retry_refund(self, request: RetryRefund) -> ReturnView:
        """A person retries a refund the provider declined (after fixing the cause)."""
        self._track.update_accepted()
        self._refunds.retry = request
        await workflow.wait_condition(lambda: self._refunds.retry is None)
        return self._track.for_caller()

    @retry_refund.validator
    def _validate_retry(self, request: RetryRefund) -> None:
        if self._view.status != ReturnStatus.REFUND_FAILED or self._refunds.retry is not None:
            raise ApplicationError(
                f"no failed refund to retry; the return is {self._view.status}",
                type="NoFailedRefund",
            )

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the return's history with who and why."""
        self._track.ops_note(note.by, note.action, note.reason)

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnView:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        asked = ", ".join(f"{ln.quantity} x {ln.sku} ({ln.reason})" for ln in inp.lines)
        note = f"{asked}; resolution {inp.resolution}"
        self._track.enter(
            ReturnStatus.REQUESTED,
            note,
            by=inp.requested_by or "customer",
            clock_start=inp.requested_at,
        )
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
        await self._labels.buy(check.return_warehouse_id, check.return_to)
        due = workflow.now() + timedelta(seconds=inp.options.receipt_timeout_s)
        self._view.receipt_due_at = due
        self._enter(
            ReturnStatus.AWAITING_RECEIPT, "system", f"send the parcel by {views.when(due)}"
        )
        label = self._view.label
        await self._email(
            "authorized",
            "return_authorized",
            tracking_number=label.tracking_number if label else "",
            carrier=label.carrier if label else "",
            receipt_due=views.when(due),
        )
        try:
            await workflow.wait_condition(
                lambda: self._receipt is not None,
                timeout=timedelta(seconds=inp.options.receipt_timeout_s),
                timeout_summary="waiting for the customer's parcel",
            )
        except TimeoutError:
            return await self._expired()
        assert self._receipt is not None
        await self._receiving.inspect(self._receipt)
        self._inspected += 1
        await self._email("received", "return_received", **views.received_context(self._view))
        # Asked only when units are missing: a whole parcel records no marker.
        if missing_units(self._view.lines) and workflow.patched(PARTIAL_RECEIPTS_PATCH):
            return await self._in_parts(due)
        if inp.resolution == "refund":
            await self._refunds.settle()
        else:
            await self._exchanging.replace()
        self._enter(ReturnStatus.CLOSED, "system", "return closed")
        return await self._finish()

    async def _in_parts(self, due: datetime) -> ReturnView:
        """Settle each parcel of a return received in parts until every unit arrived or the
        receipt is ``due``, then close, naming what never arrived (patch
        ``return-partial-receipts``).

        A refund return refunds each parcel's units as it is inspected (keys of the second
        and later parcels end ``:r<n>``). An exchange waits for every unit or the due date
        and then replaces what arrived, as one replacement order.
        """
        inp, receiving = self._inp, self._receiving
        receiving.in_parts = True
        clock_start = due - timedelta(seconds=inp.options.receipt_timeout_s)
        while True:
            if inp.resolution == "refund":
                await self._refunds.settle()
            missing = missing_units(self._view.lines)
            left = due - workflow.now()
            if not self._pending and (not missing or left <= timedelta(0)):
                break  # a parcel taken before the due date is settled even after it
            if not self._pending:
                note = f"waiting for {missing_note(missing)} by {views.when(due)}"
                self._track.enter(
                    ReturnStatus.PARTIALLY_RECEIVED, note, by="system", clock_start=clock_start
                )
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._pending),
                        timeout=left,
                        timeout_summary="waiting for the rest of the return",
                    )
                except TimeoutError:
                    if not self._pending:  # else a parcel came with the due date: take it
                        break
            receiving.number += 1
            await receiving.inspect(self._pending.pop(0))
            self._inspected += 1
            await self._email(
                f"received:r{receiving.number}",
                "return_received",
                **views.received_context(self._view),
            )
        self._parcels_closed = True  # no parcel is taken while the return closes
        missing = missing_units(self._view.lines)
        if inp.resolution != "refund" and inp.exchange_for and missing:
            # Other variants were asked for the whole return, with no unit-for-unit match
            # to what arrived: sending them all would replace (and charge the difference
            # on) units never sent back. What arrived is refunded instead.
            self._track.note(
                f"the exchange to other variants needs every unit; {missing_note(missing)} "
                "never arrived: the received units are refunded instead",
                by="system",
            )
            await self._refunds.settle()
        elif inp.resolution != "refund":
            await self._exchanging.replace()
        if not missing:
            self._enter(ReturnStatus.CLOSED, "system", "return closed")
            return await self._finish()
        self._view.never_arrived = missing
        what = missing_note(missing)
        self._enter(ReturnStatus.CLOSED, "system", f"return closed; never arrived: {what}")
        await self._email(
            "closed_short",
            "return_closed_short",
            missing=[{"sku": sku, "quantity": qty} for sku, qty in missing.items()],
            receipt_due=views.when(due),
        )
        return await self._finish()

    async def _finish(self) -> ReturnView:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return self._view

    async def _decide(self, request: AuthorizeReturn | RejectReturn) -> ReturnView:
        self._track.update_accepted()
        self._decision = request
        await workflow.wait_condition(lambda: self._view.status != ReturnStatus.REQUESTED)
        return self._track.for_caller()

    async def _authorized(self) -> bool:
        """Authorize by the merchant's rules, or wait for support; False when rejected."""
        reason = authorization_reason(self._view.lines, self._inp.options.policy)
        if reason is not None:
            self._view.authorization, self._view.authorized_by = "automatic", "system"
            note = f"authorized automatically: {reason}"
            self._enter(ReturnStatus.AUTHORIZED, "system", note)
            return True
        self._awaiting_decision = True
        self._track.note("needs a person to authorize: over the automatic rules", by="system")
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
        self._view.authorization, self._view.authorized_by = "manual", decision.by
        note = "authorized" + (f": {decision.comment}" if decision.comment else "")
        self._enter(ReturnStatus.AUTHORIZED, decision.by, note)
        return True

    async def _rejected(self, by: str, reason: str) -> ReturnView:
        self._view.rejection_reason = reason
        self._enter(ReturnStatus.REJECTED, by, reason)
        await self._email("rejected", "return_rejected", reason=reason)
        return await self._finish()

    async def _expired(self) -> ReturnView:
        within = span(self._inp.options.receipt_timeout_s)
        self._enter(ReturnStatus.EXPIRED, "system", f"nothing received within {within}")
        await self._labels.void()
        await self._email("expired", "return_expired")
        return await self._finish()

    # --- status and email ----------------------------------------------------------

    def _require_decision(self, action: str) -> None:
        if not self._awaiting_decision or self._decision is not None:
            raise ApplicationError(
                f"cannot {action}: the return is {self._view.status} "
                f"({self._view.authorization} authorization), not waiting for a decision",
                type="NotAwaitingAuthorization",
            )

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _enter(self, status: ReturnStatus, by: str, note: str) -> None:
        self._track.enter(status, note, by=by)

    async def _email(self, key: str, template: str, **extra: Any) -> None:
        inp = self._inp
        context = views.email_context(inp, self._view, **extra)
        await self._track.email(
            f"return:{inp.rma_id}:{key}",
            str(inp.customer.email),
            template,
            context,
            inp.customer.locale,
        )

    async def _email_ops(self, key: str, problem: str) -> None:
        inp = self._inp
        await self._track.email(
            f"return:{inp.rma_id}:ops:{key}",
            inp.options.ops_email,
            "return_ops_alert",
            views.ops_context(inp, problem),
        )
