"""A company order's purchase-order approval, for ``OrderWorkflow``.

An order on invoice terms that matches the merchant's approval rules (the quotes' rules,
on its total and SKUs: ``oms.domain.approval.order_rules``, applied by the API at
placement) waits, on hold and visible in ``/ops/stuck`` past its approval deadline, until
every rule's role approved it; one rejection, or no decision within the hold timeout,
cancels it. Whoever placed the order may not approve it, and nobody decides twice.

Workflow code (no I/O).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.domain.order_emails import PO_NOT_APPROVED, SYSTEM
    from oms.models.orders import (
        CancelOrder,
        OrderInput,
        OrderStatus,
        OrderView,
        PurchaseApproval,
        PurchaseDecision,
    )
    from workflows.tracker import Tracker

STAGE = "awaiting_po_approval"


def _person(name: str) -> str:
    return " ".join(name.split()).casefold()


class PurchaseApprovals:
    """The approvals the order's input asks for, as its view shows them."""

    def __init__(self, inp: OrderInput, view: OrderView, track: Tracker[OrderView]) -> None:
        self._inp, self._view, self._track = inp, view, track
        self.awaiting = False

    def pending(self) -> list[PurchaseApproval]:
        return [a for a in self._view.approvals if a.decision is None]

    def validate(self, decision: PurchaseDecision) -> None:
        """Raises ``ApplicationError`` ``NotAwaitingApproval``, ``SelfApproval`` (the
        order's placer), ``AlreadyDecided`` or ``WrongRole`` (no approval awaits the role)."""
        if not self.awaiting or not self.pending():
            raise ApplicationError(
                "the order is not waiting for a purchase-order approval",
                type="NotAwaitingApproval",
            )
        placer = self._inp.placed_by
        if placer is not None and _person(decision.approver) == _person(placer):
            raise ApplicationError(
                "whoever placed a company order may not approve it; ask another approver",
                type="SelfApproval",
            )
        for approval in self._view.approvals:
            if approval.decided_by and _person(approval.decided_by) == _person(decision.approver):
                raise ApplicationError(
                    f"{decision.approver} already decided this order (as {approval.role})",
                    type="AlreadyDecided",
                )
        if not any(a.role == decision.role for a in self.pending()):
            awaited = ", ".join(sorted({a.role for a in self.pending()}))
            raise ApplicationError(
                f"no approval pending for role {decision.role}; awaiting: {awaited}",
                type="WrongRole",
            )

    def decide(self, decision: PurchaseDecision) -> None:
        """Record a decision the validator let through."""
        approval = next(a for a in self.pending() if a.role == decision.role)
        approval.decision, approval.decided_by = decision.decision, decision.approver
        approval.decided_at, approval.comment = workflow.now(), decision.comment
        verb = "approved" if decision.decision == "approve" else "rejected"
        self._track.note(
            f"Purchase order {verb} by {decision.approver} ({decision.role}): "
            f"{approval.rule_name}" + (f": {decision.comment}" if decision.comment else ""),
            by=decision.approver,
            action=f"po_{verb}",
        )

    async def wait(self, cancelled: Callable[[], bool]) -> CancelOrder | None:
        """Hold until every approval is given: None then (or once the order's own cancel
        came), else why the order ends (rejected, or not decided within the hold timeout)."""
        if not self._view.approvals:
            self._view.approvals = [a.model_copy() for a in self._inp.approvals]
        self.awaiting = True
        try:
            while (pending := self.pending()) and not cancelled():
                if any(a.decision == "reject" for a in self._view.approvals):
                    break
                roles = ", ".join(sorted({a.role for a in pending}))
                names = "; ".join(a.rule_name for a in pending)
                self._track.enter(
                    OrderStatus.ON_HOLD,
                    f"Waiting for purchase-order approval by {roles} ({names})",
                    stage=STAGE,
                    waiting_for=f"approver:{pending[0].role}",
                )
                count = len(pending)
                try:
                    await workflow.wait_condition(
                        lambda: cancelled() or len(self.pending()) < count,  # noqa: B023
                        timeout=timedelta(seconds=self._inp.options.hold_timeout_s),
                        timeout_summary=f"waiting for {roles} to approve",
                    )
                except TimeoutError:
                    return CancelOrder(reason=PO_NOT_APPROVED, requested_by=SYSTEM)
        finally:
            self.awaiting = False
        rejected = next((a for a in self._view.approvals if a.decision == "reject"), None)
        if rejected is not None:
            why = f": {rejected.comment}" if rejected.comment else ""
            return CancelOrder(
                reason=f"purchase order rejected by {rejected.decided_by}{why}",
                requested_by=rejected.decided_by or "approver",
            )
        return None
