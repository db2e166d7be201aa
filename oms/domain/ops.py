"""Pure rules for operations: why a workflow counts as stuck and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from oms.models.ops import StuckReason
from oms.settings import Settings


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


@dataclass(frozen=True)
class StageClock:
    """How long a workflow may wait in one stage (for one party) before it counts as stuck.

    The workflows set ``OmsDeadline`` to ``OmsWaitingSince`` plus these limits, so a
    query on stage and waiting-since finds the same set as one on the deadline.
    """

    kind: str
    stage: str
    # None: the limit differs per workflow (a supplier's lead time), so only its deadline tells.
    seconds: int | None
    waiting_for: str | None = None  # None: whoever the stage waits for


def stage_clocks(settings: Settings) -> list[StageClock]:
    """Every stage that has a clock, with its limit under ``settings`` (the workflows' own)."""
    step, delivery = settings.step_deadline_s, settings.delivery_deadline_s
    return [
        StageClock("order", "awaiting_payment", step, "payment_provider"),
        StageClock("order", "awaiting_payment", settings.hold_timeout_s, "customer"),
        StageClock("order", "awaiting_allocation", step),
        StageClock("order", "awaiting_stock", settings.backorder_alert_s),
        StageClock("shipment", "shipment_picking", settings.pick_sla_s),
        StageClock("shipment", "shipment_packed", step),
        StageClock("shipment", "shipment_held", 0),
        *(
            StageClock("shipment", f"shipment_{s}", delivery)
            for s in ("shipped", "in_transit", "out_for_delivery", "exception")
        ),
        StageClock("quote", "awaiting_approval", settings.quote_approver_reminder_s),
        StageClock("return", "awaiting_authorization", settings.return_authorize_deadline_s),
        StageClock("return", "awaiting_label", step),
        StageClock("return", "awaiting_receipt", settings.return_receipt_timeout_s),
        StageClock("return", "resolving", step),
        StageClock("return", "refund_failed", 0),
        StageClock("return", "closing", step),
        StageClock("replenishment", "raising_purchase_order", step),
        StageClock("replenishment", "no_supplier", 0),
        StageClock("replenishment", "awaiting_supplier", None),
        StageClock("replenishment", "awaiting_goods", None),
    ]


def stage_query(now: datetime, clocks: list[StageClock]) -> str:
    """The stuck set as a query on ``OmsStage`` and ``OmsWaitingSince`` (for the UI's list view).

    One clause per stage clock (``OmsStage = 's' AND OmsWaitingSince < now - limit``), or'ed,
    plus the workflows whose tasks fail, which have no stage clock of their own.
    """
    clauses = []
    for clock in clocks:
        clause = f"OmsKind = '{clock.kind}' AND OmsStage = '{clock.stage}'"
        if clock.waiting_for:
            clause += f" AND OmsWaitingFor = '{clock.waiting_for}'"
        if clock.seconds is None:
            clause += f" AND OmsDeadline < '{_iso(now)}'"
        else:
            before = _iso(now - timedelta(seconds=clock.seconds))
            clause += f" AND OmsWaitingSince < '{before}'"
        clauses.append(f"({clause})")
    clauses.append("TemporalReportedProblems IS NOT NULL")
    return f"ExecutionStatus = 'Running' AND ({' OR '.join(clauses)})"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
