"""``/subscriptions``: start, follow, pause, resume, skip, change and cancel subscriptions.

Each subscription is one ``SubscriptionWorkflow``; every action is an update that
answers with the subscription's view (rejections: 409 for the subscription's state,
422 for a bad request). A buyer acts on their own subscriptions only (the customer id
of the token); support acts on any; staff who read orders read subscriptions too.
Lines are checked against the catalogue here; renewals are priced there, never from
the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.exceptions import WorkflowAlreadyStartedError

from oms.domain.auth import Principal
from oms.domain.lifecycle import SUBSCRIPTION
from oms.models.common import Page
from oms.models.subscriptions import (
    CancelSubscription,
    ChangeSubscription,
    CreateSubscription,
    PauseSubscription,
    ResumeSubscription,
    SkipRenewal,
    SubscriptionAccepted,
    SubscriptionInput,
    SubscriptionLine,
    SubscriptionOptions,
    SubscriptionStatus,
    SubscriptionView,
)
from oms.settings import Settings
from oms.store import subscriptions
from oms.store.errors import CurrencyMismatch, UnknownSku
from starters.api.auth import ORDER_READERS, check_owner, listed_customer, require
from starters.api.deps import (
    ApiState,
    Paging,
    State,
    content_hash,
    field_error,
    json_answer,
    read_store,
)
from starters.api.destinations import check_customs, check_destination
from starters.api.kinds import WorkflowKind
from starters.api.orders import options_from
from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
Actor = Annotated[Principal, Depends(require("buyer", "support"))]
Reader = Annotated[Principal, Depends(require("buyer", *ORDER_READERS))]


def subscription_options(settings: Settings) -> SubscriptionOptions:
    """Timings a new subscription runs with, from the merchant's settings."""
    return SubscriptionOptions(
        reminder_s=settings.subscription_reminder_days * 86400,
        dunning_retry_s=[int(s) for s in settings.subscription_dunning_s.split(",") if s.strip()],
        step_deadline_s=settings.step_deadline_s,
        task_queue_prefix=settings.task_queue_prefix,
        order_options=options_from(settings),
    )


async def _check_lines(state: State, lines: Sequence[SubscriptionLine], currency: str) -> None:
    """422 naming the line whose SKU the catalogue does not sell in ``currency``."""

    def prices() -> None:
        with state.db.session() as session:
            subscriptions.catalogue_prices(session, [ln.sku for ln in lines], currency)

    try:
        await run_in_threadpool(prices)
    except (UnknownSku, CurrencyMismatch) as err:
        bad = next((i for i, ln in enumerate(lines) if ln.sku in str(err)), 0)
        raise field_error(["lines", bad, "sku"], str(err), lines[bad].sku) from None


@router.post(
    "",
    status_code=202,
    response_model=SubscriptionAccepted,
    responses={200: {"model": SubscriptionView}, 403: {}, 409: {}, 422: {}},
)
async def create_subscription(body: CreateSubscription, state: State, caller: Actor) -> Response:
    """Start a subscription; its first order is placed at ``start_at`` (default now).

    A resubmission of the same body returns the subscription (200); the same id with
    another body is a 409. A buyer may only subscribe for their own customer id. A 422
    names the fields of ``ship_to`` every renewal's shipment would be held for (unknown
    country, a postal code not of its country's format, no US state, no phone through
    customs: ``starters.api.destinations``) or the line of a SKU not sold in ``currency``.
    """
    check_owner(caller, body.customer.id, what="customer id")
    check_destination(body.ship_to, ["ship_to"])
    await _check_lines(state, body.lines, body.currency)
    await check_customs(state.db, body.ship_to.country, [ln.sku for ln in body.lines], ["lines"])
    now = datetime.now(UTC)
    if body.start_at is not None and body.start_at < now - timedelta(minutes=5):
        raise field_error(["start_at"], "must not be in the past", body.start_at.isoformat())
    subscription_id = body.subscription_id or f"S-{uuid.uuid4().hex[:12].upper()}"
    digest = content_hash(body, "subscription_id")
    # Taken for good in the store, like order, quote and return ids: Temporal forgets a
    # closed subscription after its retention, and its id must not start another one.
    answered = await SUBSCRIPTIONS.reserve(state, caller, subscription_id, digest)
    if answered is not None:
        return answered
    start = max(body.start_at or now, now)
    settings = state.settings
    try:
        await SUBSCRIPTIONS.start(
            state.client,
            settings,
            subscription_id,
            SubscriptionInput(
                subscription_id=subscription_id,
                customer=body.customer,
                currency=body.currency,
                lines=body.lines,
                ship_to=body.ship_to,
                shipping_speed=body.shipping_speed,
                interval=body.interval,
                start_at=start,
                payment=body.payment,
                created_at=now,
                body_hash=digest,
                options=subscription_options(settings),
            ),
            digest=digest,
            customer_id=body.customer.id,
            step=SUBSCRIPTION.step("active"),
            now=now,
            deadline=start + timedelta(seconds=settings.step_deadline_s),
            summary=(
                f"Subscription {subscription_id} · {len(body.lines)} line(s) · every "
                f"{body.interval}"
            ),
        )
    except WorkflowAlreadyStartedError:
        return await SUBSCRIPTIONS.resubmitted(state, subscription_id, digest)
    accepted = SubscriptionAccepted(
        subscription_id=subscription_id, status=SubscriptionStatus.ACTIVE
    )
    return json_answer(accepted, status_code=202)


async def _load(state: ApiState, subscription_id: str) -> SubscriptionView:
    """The read model's view, else the workflow's own; with each order's current status."""

    def read(session: Session) -> tuple[SubscriptionView | None, dict[str, str]]:
        view = subscriptions.get_subscription(session, subscription_id)
        ids = [o.order_id for o in view.orders] if view else []
        return view, subscriptions.order_statuses(session, ids)

    view, statuses = await read_store(state, read)
    if view is None:
        view = await SUBSCRIPTIONS.query(state, subscription_id)
    for order in view.orders:
        order.status = statuses.get(order.order_id, order.status)
    return view


class _Subscriptions(WorkflowKind[SubscriptionView]):
    """Subscriptions: a view shows each of its orders' current status (:func:`_load`)."""

    async def load(self, state: ApiState, id_: str) -> SubscriptionView:
        return await _load(state, id_)


SUBSCRIPTIONS = _Subscriptions(
    "subscription",
    SubscriptionWorkflow.run,
    subscription_workflow_id,
    SubscriptionWorkflow.state,
    subscriptions.get_subscription,
    owner=lambda view: (view.customer.id, None),
)


@router.get("/{subscription_id}", response_model=SubscriptionView)
async def get_subscription(subscription_id: str, state: State, caller: Reader) -> SubscriptionView:
    """Status, interval, lines, next renewal, the orders placed (with status), history."""
    return await SUBSCRIPTIONS.load_visible(state, caller, subscription_id)


@router.get("", response_model=Page[SubscriptionView])
def list_subscriptions(
    state: State,
    caller: Reader,
    page: Paging,
    customer_id: str | None = None,
    status: SubscriptionStatus | None = None,
) -> Page[SubscriptionView]:
    """Subscriptions newest first, a page at a time; a buyer sees only their own."""
    customer_id = listed_customer(caller, customer_id, "subscriptions")
    with state.db.read() as session:
        return subscriptions.list_subscriptions(
            session, customer_id=customer_id, status=status, limit=page.limit, cursor=page.cursor
        )


@router.post("/{subscription_id}/pause", response_model=SubscriptionView)
async def pause(
    subscription_id: str, state: State, caller: Actor, body: PauseSubscription | None = None
) -> SubscriptionView:
    """Pause renewals until ``until``, or until resumed (409 while a renewal is under way)."""
    request = body or PauseSubscription()
    return await SUBSCRIPTIONS.update_visible(
        state, caller, subscription_id, SubscriptionWorkflow.pause, request
    )


@router.post("/{subscription_id}/resume", response_model=SubscriptionView)
async def resume(
    subscription_id: str, state: State, caller: Actor, body: ResumeSubscription | None = None
) -> SubscriptionView:
    """Resume a paused or past-due subscription, optionally with a new card."""
    request = body or ResumeSubscription()
    return await SUBSCRIPTIONS.update_visible(
        state, caller, subscription_id, SubscriptionWorkflow.resume, request
    )


@router.post("/{subscription_id}/skip", response_model=SubscriptionView)
async def skip(subscription_id: str, state: State, caller: Actor) -> SubscriptionView:
    """The next renewal places no order; the next renewal moves one interval on."""
    return await SUBSCRIPTIONS.update_visible(
        state, caller, subscription_id, SubscriptionWorkflow.skip, SkipRenewal()
    )


@router.post("/{subscription_id}/cancel", response_model=SubscriptionView)
async def cancel(
    subscription_id: str, state: State, caller: Actor, body: CancelSubscription | None = None
) -> SubscriptionView:
    """End now, or with ``at_period_end`` at the next renewal (which then places nothing)."""
    request = body or CancelSubscription()
    return await SUBSCRIPTIONS.update_visible(
        state, caller, subscription_id, SubscriptionWorkflow.cancel, request
    )


@router.patch("/{subscription_id}", response_model=SubscriptionView)
async def change(
    subscription_id: str, body: ChangeSubscription, state: State, caller: Actor
) -> SubscriptionView:
    """New lines and/or address from the next renewal on; lines checked against the catalogue
    in the subscription's currency, a new ``ship_to`` as ``POST /subscriptions`` checks it
    (422 naming the field)."""
    current = await SUBSCRIPTIONS.load_visible(state, caller, subscription_id)
    if body.ship_to is not None:
        check_destination(body.ship_to, ["ship_to"])
    if body.lines is not None:
        await _check_lines(state, body.lines, current.currency)
    # What the next renewals ship, to where they ship it.
    await check_customs(
        state.db,
        (body.ship_to or current.ship_to).country,
        [ln.sku for ln in body.lines or []],
        ["lines"],
        kept=[] if body.lines is not None else [ln.sku for ln in current.lines],
        kept_loc=["ship_to", "country"],
    )
    return await SUBSCRIPTIONS.update(
        state, subscription_id, SubscriptionWorkflow.change, body, caller
    )
