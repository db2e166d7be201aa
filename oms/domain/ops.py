"""Pure rules for operations: why a workflow counts as stuck and what to do about it.

Both read the lifecycle declarations (``oms/domain/lifecycle.py``): which step waits for a
person, and what operations should do once a step is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass

from oms.domain.auth import DEV_PREFIX, OPERATOR_SUBJECT, SIMULATOR_SUBJECT
from oms.domain.lifecycle import LIFECYCLES, Step
from oms.domain.shipping import hold_noted
from oms.models.ops import StuckReason

# What ``/ops/stuck`` lists, its ``kind`` filter and ``oms ops stuck --kind``: every
# workflow kind with a lifecycle, plus ``webhook`` (dead webhook deliveries) and ``caller``
# (the OMS's own callers the API refused), both read from the store.
STUCK_KINDS: tuple[str, ...] = (*LIFECYCLES, "webhook", "caller")


@dataclass(frozen=True)
class Evidence:
    """What visibility and describe say about one overdue workflow."""

    kind: str
    stage: str | None
    waiting_for: str | None
    reported_problems: bool
    activity_attempts: int | None
    workflow_task_attempts: int | None

    @property
    def step(self) -> Step | None:
        """The declared step the search attributes describe (None for an unknown kind)."""
        lifecycle = LIFECYCLES.get(self.kind)
        return lifecycle.find(self.stage, self.waiting_for) if lifecycle else None


def classify(evidence: Evidence, retry_threshold: int) -> StuckReason:
    """The most specific reason, in the order an operator should look at them."""
    if evidence.reported_problems or (evidence.workflow_task_attempts or 0) > 1:
        return "workflow_task_failing"
    if (evidence.activity_attempts or 0) >= retry_threshold:
        return "activity_retrying"
    if evidence.stage == "awaiting_stock":
        return "backordered_too_long"
    step = evidence.step
    if step is not None and step.person:
        return "needs_a_person"
    return "past_deadline"


def suggest(reason: StuckReason, evidence: Evidence, workflow_id: str, business_id: str) -> str:
    """A concrete next step for the operator, naming the endpoint that takes it."""
    if reason == "workflow_task_failing":
        return (
            "A bug in workflow code: the task retries by itself. Fix and deploy the worker "
            "(see the stack trace in the UI); no data is lost meanwhile."
        )
    if reason == "activity_retrying":
        who = evidence.waiting_for or "the external system"
        return (
            f"Check {who}; once it is back, retry now: POST /ops/workflows/{workflow_id}/retry-now."
        )
    step = evidence.step
    if step is not None and step.action:
        return step.advice(business_id, workflow_id, evidence.waiting_for)
    stage = evidence.stage or "its stage"
    return f"Overdue in {stage}: open {workflow_id} in the UI and look at its last events."


def held_advice(note: str, order_id: str, shipment_id: str) -> str | None:
    """What to do about shipment ``shipment_id`` of order ``order_id`` held for a person,
    from the note it
    was held with (its ``last_error``): a refused address and missing customs data are fixed
    in different places. None for a note that names neither (the step's action stands)."""
    hold = hold_noted(note)
    return hold.advice(order_id, shipment_id) if hold is not None else None


# How ``POST /ops/orders/{id}/release-hold`` lets an order on hold go on, by the stage of
# ``on_hold`` it waits in (its ``OmsStage``, kept by the order's lifecycle tracker):
RELEASES: dict[str, str] = {
    # A person's or the risk rules' hold (the view's ``hold``): the order's ``release``.
    "held_for_review": "release",
    # Over the company's credit limit: finance approves the credit (``approve_credit``).
    "awaiting_credit": "approve_credit",
    # The card was declined: authorize again (``retry_payment``, optionally a new token).
    "awaiting_payment": "retry_payment",
}


def release_for(stage: str | None, held: bool) -> str | None:
    """How an order ``on_hold`` in ``stage`` is released (a :data:`RELEASES` value), or
    None when this route cannot release it (a purchase-order approval waits for its
    approvers). ``held``: the view's ``hold`` is set, which is all a run without a stage
    (older code) shows of a review hold."""
    if stage in RELEASES:
        return RELEASES[stage]
    return "release" if stage is None and held else None


def caller_advice(caller: str) -> str:
    """What to do about one of the OMS's own callers the API refuses (``/ops/stuck``):
    ``caller`` is the subject of its stored token, or the dev token it presented while dev
    tokens are off (``oms.store.refusals.internal_caller``)."""
    if caller == SIMULATOR_SUBJECT:
        return (
            f"The API refuses {caller}, so orders wait at picking (the simulated warehouse "
            "picks, packs and ships them). Give it a stored token of the warehouse role: "
            "restart make run (it provisions one), or oms token create --role warehouse "
            "and set OMS_SIMULATOR_TOKEN."
        )
    if caller == OPERATOR_SUBJECT:
        return (
            f"The API refuses {caller}, the admin token make run provisions for the CLI, "
            "make demo, the bench and the chaos harness (orders do not wait on it; those "
            "commands fail). Restart make run (it provisions a new one into OMS_TOKEN_FILE, "
            "var/api-token), or oms token create --role admin and set OMS_TOKEN."
        )
    if caller.startswith(DEV_PREFIX):
        return (
            f"A caller presents the dev token {caller}, which the API refuses: dev tokens are "
            "off (OMS_AUTH_DEV_TOKENS). Give it a stored token: oms token create --role "
            f"{caller[len(DEV_PREFIX) :].partition('-')[0]} (the simulated warehouse takes it as "
            "OMS_SIMULATOR_TOKEN, the CLI as OMS_TOKEN)."
        )
    return (
        f"The API refuses {caller}: give it a stored token of the role it needs "
        "(oms token create), or find out why its token was revoked."
    )
