"""An order's holds, for ``OrderWorkflow``: before it is confirmed and allocated, the risk
review (its findings hold the order), any purchase-order approval, and a person's hold
(``hold``/``release`` updates) keep it ``on_hold`` until released or cancelled.

Workflow code (no I/O).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.orders import RiskActivities
    from oms.domain.risk import RISK_REVIEW, order_origin
    from oms.models.orders import Hold, HoldRequest, OrderStatus
    from oms.models.risk import RiskCheck
    from oms.queues import INVENTORY_QUEUE
    from workflows import policies
    from workflows.order_approval import PurchaseApprovals
    from workflows.order_shipments import Shipments
    from workflows.order_state import OrderRun

# Patch: a run with this marker passes the risk review and waits while held before it is
# confirmed and allocated; one without goes straight on (it was never reviewed).
HOLDS_PATCH = "order-holds"
# Patch: a company order the approval rules name approvers for waits for them before it
# is confirmed (a purchase-order approval); asked only of orders whose input names any.
PURCHASE_APPROVAL_PATCH = "order-purchase-approval"
# Patch: a subscription's renewal skips the risk review (the OMS placed it on what the
# customer agreed to, with the card authorized first); asked only of renewals, so other
# orders' histories gain no marker. A renewal without it is reviewed, as it was.
RENEWAL_UNREVIEWED_PATCH = "order-renewal-unreviewed"


class Holds:
    """The order's hold (its view's ``hold``) and the gate before allocation."""

    def __init__(self, run: OrderRun, approvals: PurchaseApprovals, shipments: Shipments) -> None:
        self._inp, self._view, self._track, self._state = run.inp, run.view, run.track, run.state
        self._approvals, self._shipments = approvals, shipments

    def check_hold(self) -> None:
        """Raises ``ApplicationError`` ``NotHoldable`` (cancelling), ``TooLateToHold``
        (allocation started) or ``AlreadyHeld``."""
        self._state.refuse_closing(self._view.status, "NotHoldable")
        if self._state.past_gate:
            raise ApplicationError(
                f"too late to hold: the order is {self._view.status} and its stock is "
                f"allocated or being allocated; {self._instead()}",
                type="TooLateToHold",
            )
        if self._view.hold is not None:
            raise ApplicationError(
                f"already held by {self._view.hold.by}: {self._view.hold.reason}",
                type="AlreadyHeld",
            )

    def _instead(self) -> str:
        """What can still stop the order once a hold cannot: the advice names only what
        the order would accept (a cancel of a shipped order is refused too)."""
        # What the cancel refuses as shipped (Cancellation.check): shipped or claimed.
        gone = len(self._shipments.shipped()) + len(self._shipments.claimed())
        if not gone:
            return "cancel it instead"
        if self._view.backordered or gone < len(self._shipments.by_id):
            return (
                "cancel the lines not shipped yet instead "
                f"(POST /orders/{self._inp.order_id}/lines/<sku>/cancel)"
            )
        return "every parcel has left the warehouse: open a claim or a return instead"

    def hold(self, request: HoldRequest) -> None:
        """Hold the order (who and why in its history); the gate waits on it."""
        self._view.hold = Hold(reason=request.reason, by=request.by, at=workflow.now())
        self._track.note(f"Held by {request.by}: {request.reason}", by=request.by, action="hold")

    def check_release(self) -> None:
        """Raises ``ApplicationError(type="NotHeld")`` when nothing holds the order."""
        if self._view.hold is None:
            waits = (
                "; it waits for its payment (POST /ops/orders/{id}/release-hold)"
                if self._view.status == OrderStatus.ON_HOLD
                else ""
            )
            raise ApplicationError(f"the order is not held{waits}", type="NotHeld")

    def release(self, request: HoldRequest) -> None:
        """Lift the hold: the gate lets the order on to confirmation and allocation."""
        hold = self._view.hold
        self._view.hold = None
        self._track.note(
            f"Released by {request.by}: {request.reason}"
            + (f" (held by {hold.by}: {hold.reason})" if hold else ""),
            by=request.by,
            action="release",
        )

    async def gate(self) -> None:
        """Before confirmation and allocation: the risk review, then wait while held (by a
        person or the rules) until released or cancelled. Runs without the patch skip it."""
        state = self._state
        if not workflow.patched(HOLDS_PATCH):
            state.past_gate = True
            return
        inp = self._inp
        # A return's replacement and an accepted B2B quote's order were reviewed already; a
        # subscription's renewal was placed by the OMS on what the customer agreed to.
        renewal = order_origin(inp) == "renewal" and workflow.patched(RENEWAL_UNREVIEWED_PATCH)
        if inp.payment.method != "exchange" and inp.quote_id is None and not renewal:
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
                **policies.STORE.kwargs(
                    inp.options.task_queue_prefix + INVENTORY_QUEUE, "risk review"
                ),
            )
            if review.findings and self._view.hold is None:
                self._view.hold = Hold(
                    reason=RISK_REVIEW, by="risk-rules", at=workflow.now(), findings=review.findings
                )
        if state.cancel is None and inp.approvals and workflow.patched(PURCHASE_APPROVAL_PATCH):
            refused = await self._approvals.wait(lambda: state.cancel is not None)
            state.cancel = state.cancel or refused
        while (hold := self._view.hold) is not None and state.cancel is None:
            # A person's hold says why in its reason; the risk rules' in their findings.
            said = f"{hold.reason}, by {hold.by}" if hold.findings else f"by {hold.by}"
            why = "; ".join(hold.findings) or hold.reason
            self._track.enter(
                OrderStatus.ON_HOLD,
                f"On hold before allocation ({said}): {why}",
                by=hold.by,
                action="hold",
                stage="held_for_review",
            )
            await workflow.wait_condition(
                lambda: self._view.hold is not hold or state.cancel is not None
            )
        if state.cancel is not None:
            self._view.hold = None  # the history keeps why it was held
        # Nothing may be held from here on: the order is confirmed and allocated next.
        state.past_gate = True
