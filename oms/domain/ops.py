"""Pure rules for operations: why a workflow counts as stuck and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from oms.models.ops import StuckReason


@dataclass(frozen=True)
class Evidence:
    """What visibility and describe say about one overdue workflow."""

    kind: str
    stage: str | None
    waiting_for: str | None
    reported_problems: bool
    activity_attempts: int | None
    workflow_task_attempts: int | None


def classify(evidence: Evidence, retry_threshold: int) -> StuckReason:
    """The most specific reason, in the order an operator should look at them."""
    if evidence.reported_problems or (evidence.workflow_task_attempts or 0) > 1:
        return "workflow_task_failing"
    if (evidence.activity_attempts or 0) >= retry_threshold:
        return "activity_retrying"
    if evidence.stage == "awaiting_stock":
        return "backordered_too_long"
    if evidence.stage in ("shipment_held", "awaiting_payment") and evidence.waiting_for in (
        "operations",
        "customer",
    ):
        return "needs_a_person"
    if evidence.kind == "replenishment" and evidence.stage == "no_supplier":
        return "needs_a_person"
    return "past_deadline"


def suggest(reason: StuckReason, evidence: Evidence, workflow_id: str, business_id: str) -> str:
    """A concrete next step for the operator, naming the endpoint that takes it."""
    wf = f"/ops/workflows/{workflow_id}"
    if reason == "workflow_task_failing":
        return (
            "A bug in workflow code: the task retries by itself. Fix and deploy the worker "
            "(see the stack trace in the UI); no data is lost meanwhile."
        )
    if reason == "activity_retrying":
        who = evidence.waiting_for or "the external system"
        return f"Check {who}; once it is back, retry now: POST {wf}/retry-now."
    if reason == "backordered_too_long":
        return (
            "Add stock (PUT /warehouses/{id}/stock/{sku}), raise a purchase order, or "
            f"cancel: POST /ops/orders/{business_id}/cancel."
        )
    if evidence.kind == "replenishment":
        return _suggest_replenishment(reason, evidence, workflow_id)
    if reason == "needs_a_person":
        if evidence.kind == "shipment":
            return "The carrier refused the address: contact the customer, or cancel the order."
        return f"Payment on hold: POST /ops/orders/{business_id}/release-hold, or cancel."
    stage = evidence.stage or ""
    if stage == "awaiting_pick" or stage == "shipment_picking":
        return "Pick late: ask the warehouse to pick, or cancel the order."
    if stage == "awaiting_approval":
        roles = (evidence.waiting_for or "approver:").partition(":")[2] or "the approver"
        return (
            f"Approval overdue: ask {roles} to decide (POST /quotes/{business_id}/approvals), "
            "or wait for the automatic escalation."
        )
    if stage in ("awaiting_proposal", "awaiting_buyer"):
        return "Quote idle: follow up with the seller or buyer before it expires."
    return f"Overdue in {stage or 'its stage'}: open it in the UI and look at its last events."


def _suggest_replenishment(reason: StuckReason, evidence: Evidence, workflow_id: str) -> str:
    """Purchasing's next step for a replenishment (its stage says who it waits for)."""
    ref = f"/replenishment/{workflow_id}"
    if evidence.stage == "no_supplier":
        return (
            "The SKU has no supplier: link one (PUT /warehouses/{wh}/reorder-policies/{sku} "
            f"with supplier_id), then POST {ref}/retry."
        )
    if evidence.stage == "awaiting_supplier":
        return (
            "The supplier has not confirmed past the lead time (reminded, purchasing "
            f"escalated): chase them, then POST {ref}/confirm."
        )
    if evidence.stage == "awaiting_goods":
        return (
            "Goods overdue: chase the supplier; book deliveries as they arrive with "
            f"POST {ref}/receipts."
        )
    return f"Overdue in {evidence.stage or 'its stage'}: open {workflow_id} in the UI."
