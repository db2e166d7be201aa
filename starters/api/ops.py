"""``/ops``: every stuck workflow in one call, and the interventions that unblock them.

The finder is one visibility query on the OMS's search attributes (running,
and past ``OmsDeadline`` or flagged by the server's ``TemporalReportedProblems``),
then a describe of each hit for the retrying activity's attempt count and last
error. Histories are never scanned, so it stays fast with many open workflows.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetActivityRequest
from temporalio.client import WorkflowExecutionDescription, WorkflowUpdateFailedError
from temporalio.service import RPCError

from oms import ids
from oms import search_attributes as sa
from oms.domain.auth import Principal
from oms.domain.lifecycle import (
    ORDER,
    RETURN,
    SHIPMENT,
    deadline_query,
    limits_from,
    stage_query,
    visibility_time,
)
from oms.domain.ops import (
    STUCK_KINDS,
    Evidence,
    caller_advice,
    classify,
    held_advice,
    release_for,
    suggest,
)
from oms.models.common import SkuQuantity
from oms.models.ops import (
    ForceCancel,
    Intervention,
    InterventionResult,
    OpsNote,
    ReleaseHold,
    RerouteShipment,
    ResendNotification,
    StuckItem,
    StuckList,
)
from oms.models.orders import (
    CancelOrder,
    CreditApproval,
    HoldRequest,
    OrderStatus,
    OrderView,
    PaymentDetails,
    RetryPayment,
)
from oms.models.returns import ReturnStatus
from oms.models.shipments import ShipmentStatus, ShipmentView
from oms.store import inventory as inventory_store
from oms.store import orders as order_store
from oms.store import refusals as refusal_store
from oms.store import returns as return_store
from oms.store import subscriptions as subscription_store
from oms.store import webhooks as webhook_store
from starters.api.auth import acting_role, require
from starters.api.deps import (
    State,
    api_error,
    field_error,
    raise_from_update,
    record_view,
)
from starters.api.order_emails import has_ended, resend_ended
from starters.api.orders import ORDERS
from starters.api.shipments import stored_shipment
from workflows.order import OrderWorkflow
from workflows.webhooks import relay_workflow_id

router = APIRouter(prefix="/ops", tags=["ops"])
Operator = Annotated[Principal, Depends(require("ops"))]
# Finance may release a hold too: for an order over its credit limit that is a credit approval.
HoldReleaser = Annotated[Principal, Depends(require("ops", "finance", "cfo"))]
KIND_PATTERN = f"^({'|'.join(STUCK_KINDS)})$"
# A refusal of an own caller is listed while its latest is this recent (or until the
# caller is accepted again): one that stopped long ago is no current problem.
REFUSAL_WINDOW = timedelta(minutes=15)
# Describing every hit costs one call each: beyond this many, the rest are listed undescribed.
DESCRIBE_LIMIT = 200


NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


def stuck_query(
    now: datetime,
    kind: str | None = None,
    stage: str | None = None,
    warehouse: str | None = None,
    min_age_s: int | None = None,
) -> str:
    """The visibility query behind ``/ops/stuck`` (also usable in the Temporal UI's search)."""
    clauses = [deadline_query(now)]
    if kind:
        clauses.append(f"OmsKind = '{kind}'")
    if stage:
        clauses.append(f"OmsStage = '{stage}'")
    if warehouse:
        clauses.append(f"OmsWarehouse = '{warehouse}'")
    if min_age_s:
        since = visibility_time(now - timedelta(seconds=min_age_s))
        clauses.append(f"OmsWaitingSince < '{since}'")
    return " AND ".join(clauses)


@router.get("/stuck", response_model=StuckList)
async def stuck(
    state: State,
    caller: Operator,
    kind: Annotated[str | None, Query(pattern=KIND_PATTERN)] = None,
    # Both go into a visibility query inside quotes: names only, so nothing can break out.
    stage: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=64)] = None,
    warehouse: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=32)] = None,
    # At most ten years: a larger age overflows the date arithmetic (it was a 500).
    min_age_s: Annotated[int | None, Query(ge=0, le=10 * 365 * 24 * 3600)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> StuckList:
    """Every running workflow past its stage deadline or with a failing workflow task,
    with the reason, since when, the last error and the step that would unblock it."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    query = stuck_query(now, kind, stage, warehouse, min_age_s)
    hits = []
    async for execution in state.client.list_workflows(query, limit=limit):
        hits.append(execution)
    described = await asyncio.gather(
        *(_describe(state, h.id) for h in hits[:DESCRIBE_LIMIT]),
    )
    descriptions = dict(zip([h.id for h in hits[:DESCRIBE_LIMIT]], described, strict=True))
    items = [_item(state, h.id, h.typed_search_attributes, descriptions.get(h.id)) for h in hits]
    await run_in_threadpool(_waiting_reasons, state, items)
    if kind in (None, "webhook") and stage is None and warehouse is None:
        items.extend(await run_in_threadpool(_dead_deliveries, state, limit))
    if kind in (None, "caller") and stage is None and warehouse is None:
        items.extend(await run_in_threadpool(_refused_callers, state, now))
    items.sort(key=lambda i: i.since or now)
    by_stage = stage_query(now, limits_from(state.settings))
    return StuckList(
        items=items,
        count=len(items),
        query=query,
        ui_list_url=_ui_list_url(state, query),
        stage_query=by_stage,
        ui_stage_list_url=_ui_list_url(state, by_stage),
        took_ms=round((time.perf_counter() - started) * 1000, 1),
    )


# The stage a shipment the carrier refused waits in, for a person.
_HELD_STAGE = SHIPMENT.step(ShipmentStatus.HELD).stage
# The stage a return whose refund was declined waits in, for operations.
_REFUND_FAILED_STAGE = RETURN.step(ReturnStatus.REFUND_FAILED).stage


def _waiting_reasons(state: State, items: list[StuckItem]) -> None:
    """The last error of the items that wait on a person, not on a failing call, from the
    read model (one read session for all): a subscription's renewal declined or refused
    (:func:`_renewal_errors`), a shipment held (:func:`_held_reasons`), a return's refund
    declined (:func:`_refund_errors`)."""
    renewals = {i.business_id: i for i in items if i.kind == "subscription" and not i.last_error}
    held = [i for i in items if i.kind == "shipment" and i.stage == _HELD_STAGE]
    refunds = [
        i
        for i in items
        if i.kind == "return" and i.stage == _REFUND_FAILED_STAGE and not i.last_error
    ]
    if not renewals and not held and not refunds:
        return
    with state.db.read() as session:
        _renewal_errors(session, renewals)
        _held_reasons(session, held)
        _refund_errors(session, refunds)


def _renewal_errors(session: Session, waiting: dict[str, StuckItem]) -> None:
    """A subscription waits for the customer: its last error is the renewal's declined
    payment (or unknown SKU)."""
    for subscription_id, error in subscription_store.last_errors(session, waiting).items():
        waiting[subscription_id].last_error = error


def _held_reasons(session: Session, held: list[StuckItem]) -> None:
    """A held shipment waits for a person: its last error is why it was held (the carrier's
    refusal or the missing customs data, as its history says; the reason names the rule,
    never the address), and what to do about that hold."""
    for item in held:
        view = order_store.get_shipment(session, item.business_id)
        notes = [] if view is None else [h.note for h in view.history if h.status == "held"]
        if view is None or not notes or not notes[-1]:
            continue
        if not item.last_error:
            item.last_error = notes[-1]
        # The step's action names both holds; the note says which this one is.
        advice = held_advice(notes[-1], view.order_id, view.shipment_id)
        if advice is not None and item.reason == "needs_a_person":
            item.suggested_action = advice


def _refund_errors(session: Session, failed: list[StuckItem]) -> None:
    """A return whose refund the provider declined waits for operations: its last error is
    the declined refund's (the view's ``refund_error``)."""
    for item in failed:
        view = return_store.get_return(session, item.business_id)
        if view is not None and view.refund_error:
            item.last_error = view.refund_error


def _before(moment: datetime | None) -> str:
    """A ``since`` that replays the event first tried at ``moment``: the second before it,
    as the API takes it (ISO 8601, UTC)."""
    at = (moment or datetime.now(UTC)) - timedelta(seconds=1)
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _dead_deliveries(state: State, limit: int) -> list[StuckItem]:
    """Webhook deliveries given up on, with the receiver's last answer."""
    with state.db.read() as session:
        dead = webhook_store.dead_deliveries(session, limit)
    settings = state.settings
    return [
        StuckItem(
            kind="webhook",
            workflow_id=relay_workflow_id(d.endpoint_id),
            business_id=d.event_id,
            status="dead",
            stage=d.type,
            waiting_for=d.url,
            since=d.first_attempt_at,
            reason="delivery_dead",
            last_error=d.last_error,
            attempts=d.attempts,
            suggested_action=(
                f"The endpoint never took {d.type} {d.event_id}: fix the receiver, then POST "
                f"/webhooks/endpoints/{d.endpoint_id}/replay "
                f'{{"since": "{_before(d.first_attempt_at)}"}} (oms webhook replay).'
            ),
            ui_url=(
                f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
                f"/workflows/{relay_workflow_id(d.endpoint_id)}"
            ),
        )
        for d in dead
    ]


def _refused_callers(state: State, now: datetime) -> list[StuckItem]:
    """The OMS's own callers the API refused lately: what they serve stalls meanwhile."""
    with state.db.read() as session:
        refused = refusal_store.recent(session, now - REFUSAL_WINDOW)
    return [
        StuckItem(
            kind="caller",
            workflow_id="",
            business_id=r.caller,
            status=str(r.status),
            waiting_for=r.caller,
            since=r.first_at,
            reason="caller_refused",
            last_error=f"{r.status} on {r.method} {r.path}: {r.detail}",
            attempts=r.count,
            suggested_action=caller_advice(r.caller),
            ui_url="",
        )
        for r in refused
    ]


def _ui_list_url(state: State, query: str) -> str:
    """The Temporal UI's workflow list filtered on ``query``."""
    settings = state.settings
    return (
        f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows"
        f"?query={quote(query)}"
    )


async def _describe(state: State, workflow_id: str) -> WorkflowExecutionDescription | None:
    try:
        return await state.client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return None  # finished between the query and now


def _item(
    state: State,
    workflow_id: str,
    attrs: Any,
    description: WorkflowExecutionDescription | None,
) -> StuckItem:
    raw = description.raw_description if description else None
    retrying = None
    if raw is not None and raw.pending_activities:
        retrying = max(raw.pending_activities, key=lambda a: a.attempt)
    problems = attrs.get(sa.REPORTED_PROBLEMS) if sa.REPORTED_PROBLEMS in attrs else None
    task_attempts = (
        raw.pending_workflow_task.attempt
        if raw is not None and raw.HasField("pending_workflow_task")
        else None
    )
    evidence = Evidence(
        kind=attrs.get(sa.KIND) or "unknown",
        stage=attrs.get(sa.STAGE),
        waiting_for=attrs.get(sa.WAITING_FOR),
        reported_problems=bool(problems),
        activity_attempts=retrying.attempt if retrying is not None else None,
        workflow_task_attempts=task_attempts,
    )
    reason = classify(evidence, state.settings.stuck_attempts)
    last_error = None
    if retrying is not None and retrying.HasField("last_failure"):
        last_error = retrying.last_failure.message
    elif raw is not None and problems:
        last_error = ", ".join(problems)
    next_retry = None
    if retrying is not None and retrying.HasField("next_attempt_schedule_time"):
        next_retry = retrying.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
    business_id = ids.business_id(workflow_id)
    return StuckItem(
        kind=evidence.kind,
        workflow_id=workflow_id,
        business_id=business_id,
        status=attrs.get(sa.ORDER_STATUS),
        stage=evidence.stage,
        waiting_for=evidence.waiting_for,
        warehouse=attrs.get(sa.WAREHOUSE),
        since=attrs.get(sa.WAITING_SINCE),
        deadline=attrs.get(sa.DEADLINE),
        reason=reason,
        last_error=last_error,
        attempts=retrying.attempt if retrying is not None else None,
        activity=retrying.activity_type.name if retrying is not None else None,
        next_retry_at=next_retry,
        suggested_action=suggest(reason, evidence, workflow_id, business_id),
        ui_url=(
            f"{state.settings.temporal_ui_url}/namespaces/"
            f"{state.settings.temporal_namespace}/workflows/{workflow_id}"
        ),
    )


async def _note(state: State, workflow_id: str, action: str, body: Intervention) -> None:
    """Record the intervention in the workflow's own history (a signal carrying who and why)."""
    handle = state.client.get_workflow_handle(workflow_id)
    await handle.signal("ops_note", OpsNote(by=body.by, action=action, reason=body.reason))


@router.post("/workflows/{workflow_id}/retry-now", response_model=InterventionResult)
async def retry_now(
    workflow_id: str, body: Intervention, state: State, caller: Operator
) -> InterventionResult:
    """Retry the workflow's failing calls at once instead of waiting out the backoff."""
    body = body.model_copy(update={"by": caller.subject})
    try:
        description = await state.client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        raise_from_update(err, f"workflow {workflow_id}")
    pending = list(description.raw_description.pending_activities)
    if not pending:
        raise api_error(409, "NothingToRetry", "no call is pending or retrying")
    await _note(state, workflow_id, "retry_now", body)
    execution = WorkflowExecution(workflow_id=workflow_id, run_id=description.run_id or "")
    retried, skipped = [], []
    for activity in pending:
        try:
            await state.client.workflow_service.reset_activity(
                ResetActivityRequest(
                    namespace=state.settings.temporal_namespace,
                    execution=execution,
                    id=activity.activity_id,
                    identity=f"ops:{body.by}",
                )
            )
            retried.append(activity)
        except RPCError as err:
            # Completed (or gone) between describe and reset: nothing left to retry.
            skipped.append(f"{activity.activity_type.name}: {err.message}")
    names = ", ".join(f"{a.activity_type.name} (attempt {a.attempt})" for a in retried)
    if skipped:
        names += "; skipped " + "; ".join(skipped)
    return InterventionResult(
        workflow_id=workflow_id, action="retry_now", detail=f"retried {names}"
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderView)
async def force_cancel(
    order_id: str, body: ForceCancel, state: State, caller: Operator
) -> OrderView:
    """Cancel with full compensation on an operator's authority. The cancel records who and
    why in the order's history ("Cancelled by ops:<who>: <reason>"); a refused one (409
    ``AlreadyShipped``, ``NotCancellable``) leaves nothing there. The reason is internal:
    the customer's email gives ``customer_note`` as the reason when sent, none otherwise."""
    body = body.model_copy(update={"by": caller.subject})
    handle = ORDERS.handle(state, order_id)
    cancel = CancelOrder(
        reason=body.reason, requested_by=f"ops:{body.by}", customer_note=body.customer_note
    )
    try:
        view = await handle.execute_update(OrderWorkflow.cancel, cancel)
    except (WorkflowUpdateFailedError, RPCError) as err:
        await ORDERS.refused(state, order_id, err)
    await record_view(state, view)
    return view


@router.post("/orders/{order_id}/release-hold", response_model=InterventionResult)
async def release_hold(
    order_id: str, body: ReleaseHold, state: State, caller: HoldReleaser
) -> InterventionResult:
    """Release an order on hold, as the stage it waits in says (``oms.domain.ops.RELEASES``):
    a review hold (a person's or the risk rules') through the order's ``release``, credit
    over the company's limit by approving it, a declined card by authorizing it again
    (``payment_token``: a new card). 409 ``NotOnHold``, or ``NotReleasable`` for an order on
    hold for something else (a purchase-order approval: its approvers decide).

    The credit approval is recorded as the caller in the caller's role (an admin may name
    one); releasing a review hold takes the ops role, as ``POST /orders/{id}/release`` does.
    """
    role = acting_role(caller, body.role, "role" in body.model_fields_set, "ops")
    body = body.model_copy(update={"by": caller.subject, "role": role})
    handle = ORDERS.handle(state, order_id)
    workflow_id = handle.id
    try:
        view = await handle.query(OrderWorkflow.state)
        if view.status != OrderStatus.ON_HOLD:
            raise api_error(
                409,
                "NotOnHold",
                f"order {order_id} is {view.status}, not on hold: nothing to release",
            )
        # The stage of on_hold it waits in, as its lifecycle tracker keeps it.
        stage = (await handle.describe()).typed_search_attributes.get(sa.STAGE)
        how = release_for(stage, view.hold is not None)
        if how is None:
            raise api_error(409, "NotReleasable", _not_releasable(order_id, workflow_id, stage))
        if how == "release" and not caller.may(frozenset({"ops"})):
            raise api_error(
                403, "Forbidden", f"role {caller.role} may not release a hold for review: ops may"
            )
        # Each update records who and why itself, and only once its validator accepted it:
        # a refused release (403 WrongRole, 409 NotHeld ...) leaves no trace in the history.
        if how == "release":
            held = view.hold
            released = await handle.execute_update(
                OrderWorkflow.release, HoldRequest(reason=body.reason, by=f"ops:{body.by}")
            )
            await record_view(state, released)
            detail = "hold released" + (f" ({held.reason}, held by {held.by})" if held else "")
            detail += "; the order goes on to confirmation and allocation"
        elif how == "approve_credit":
            await record_view(
                state,
                await handle.execute_update(
                    OrderWorkflow.approve_credit,
                    CreditApproval(approver=body.by, role=body.role, comment=body.reason),
                ),
            )
            detail = "credit over the limit approved"
        else:
            # A signal carries no who or why: the intervention's note does, sent first.
            await _note(state, workflow_id, "release_hold", body)
            payment = PaymentDetails(token=body.payment_token) if body.payment_token else None
            await handle.signal(OrderWorkflow.retry_payment, RetryPayment(payment=payment))
            detail = "payment authorization retried" + (" with the new token" if payment else "")
        if body.payment_token and how != "retry_payment":
            detail += " (payment_token not used: the card was not declined)"
    except (WorkflowUpdateFailedError, RPCError) as err:
        await ORDERS.refused(state, order_id, err)
    return InterventionResult(workflow_id=workflow_id, action="release_hold", detail=detail)


def _not_releasable(order_id: str, workflow_id: str, stage: str | None) -> str:
    """Why ``release-hold`` cannot release an order on hold in ``stage``, and what can."""
    try:
        step = ORDER.step(OrderStatus.ON_HOLD, stage)
    except KeyError:
        return f"order {order_id} is on hold ({stage or 'no stage'}) for nothing this releases"
    action = step.advice(order_id, workflow_id)
    return f"order {order_id} is on hold in {step.stage}, which this does not release. {action}"


@router.post("/shipments/{shipment_id}/reroute", response_model=OrderView)
async def reroute(
    shipment_id: str, body: RerouteShipment, state: State, caller: Operator
) -> OrderView:
    """Move a shipment that has not shipped to another warehouse (re-allocation with
    compensation of the old reservation); 409 once it is packed or shipped.

    To a named warehouse only when it has every unit of the shipment available now: 422
    naming ``warehouse_id`` for no active warehouse of that id, 409 ``NotInStock`` naming
    each SKU it lacks, before anything changes. The check reads the stock; it reserves
    nothing, so an order placed in between can still leave units owed (and emailed)."""
    body = body.model_copy(update={"by": caller.subject})
    shipment = await run_in_threadpool(stored_shipment, state, shipment_id)
    if body.shipment_id != shipment_id:
        raise field_error(["shipment_id"], "must match the path", body.shipment_id)
    if body.warehouse_id is not None and body.warehouse_id != shipment.warehouse_id:
        await run_in_threadpool(_check_stock_at, state, body.warehouse_id, shipment)
    return await ORDERS.update(state, shipment.order_id, OrderWorkflow.reroute, body)


def _check_stock_at(state: State, warehouse_id: str, shipment: ShipmentView) -> None:
    """Raises the re-route's 422 (no such warehouse) or 409 ``NotInStock`` (it lacks units
    of ``shipment``). Blocking: run in a thread."""
    with state.db.read() as session:
        if not inventory_store.warehouse_exists(session, warehouse_id):
            raise field_error(["warehouse_id"], "no active warehouse has this id", warehouse_id)
        lacking = inventory_store.shortfall_at(
            session,
            warehouse_id,
            [SkuQuantity(sku=li.sku, quantity=li.quantity) for li in shipment.lines],
        )
    if lacking:
        missing = ", ".join(f"{sku} (needs {n}, has {has})" for sku, n, has in lacking)
        raise api_error(
            409,
            "NotInStock",
            f"{warehouse_id} lacks units of {shipment.shipment_id}: {missing}; re-route "
            "without a warehouse to let the OMS choose, or restock first",
        )


@router.post("/orders/{order_id}/resend", response_model=OrderView)
async def resend(
    order_id: str, body: ResendNotification, state: State, caller: Operator
) -> OrderView:
    """Send one of the order's customer emails again, only one it sent (409 ``NotSent``),
    on a new key; an ended order's from its stored view (``starters.api.order_emails``)."""
    order = await ORDERS.load(state, order_id)  # 404 when unknown
    if await has_ended(state, order):
        return await resend_ended(state, order, body.model_copy(update={"by": caller.subject}))
    return await ORDERS.update(state, order_id, OrderWorkflow.resend_notification, body, caller)
