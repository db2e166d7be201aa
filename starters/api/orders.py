"""``/orders``: place, read, list and cancel orders."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.domain.approval import order_rules
from oms.domain.auth import Principal
from oms.domain.fulfilment import progress
from oms.domain.lifecycle import ORDER
from oms.domain.money import format_money, order_total
from oms.domain.order_emails import note_for_customer
from oms.domain.tax import refund_tax
from oms.ids import order_refund_workflow_id, order_workflow_id
from oms.models.common import Page
from oms.models.orders import (
    CancelOrder,
    HoldRequest,
    NoteEntry,
    OrderInput,
    OrderLine,
    OrderMoney,
    OrderNote,
    OrderOptions,
    OrderRefund,
    OrderRefundInput,
    OrderResult,
    OrderSearch,
    OrderStatus,
    OrderView,
    PlaceOrder,
    PurchaseApproval,
    RefundOrder,
)
from oms.models.quotes import ApprovalPolicy
from oms.rules import load_approval_policy
from oms.settings import WORKFLOW_QUEUE, Settings
from oms.store import credit, late_scans, orders, prices, refunds, returns
from oms.store.db import Database
from oms.store.errors import CreditNoteRefused, InvalidCreditMovement
from oms.views.orders import for_buyer
from starters.api.auth import (
    ORDER_READERS,
    check_member,
    check_owner,
    listed_customer,
    require,
)
from starters.api.deps import (
    ApiState,
    Paging,
    State,
    api_error,
    content_hash,
    field_error,
    found,
    in_store,
    json_answer,
    raise_from_update,
    record_view,
)
from starters.api.destinations import check_country, check_customs, check_destination
from starters.api.idempotency import IdempotencyKey as RetryKey
from starters.api.idempotency import once
from starters.api.kinds import WorkflowKind, buyers_see
from starters.api.payment_terms import company_terms
from starters.api.pricing import PricedOrder, in_currency, price_order
from workflows.order import OrderWorkflow
from workflows.order_refund import OrderRefundWorkflow

router = APIRouter(prefix="/orders", tags=["orders"])
# Order ids kept for orders another object places, and why: a return's exchange order
# (oms.ids.exchange_order_id; taken first, it would block the exchange) and a
# subscription's renewals (oms.domain.subscriptions.order_id; the renewal that finds its id
# taken takes that order for its own).
KEPT_ORDER_IDS = (
    (re.compile(r"^RMA-.+-X$"), "RMA-...-X ids are kept for exchange orders"),
    (re.compile(r"^SUB-.+-\d+$"), "SUB-...-<n> ids are kept for subscriptions' renewals"),
)
Placer = Annotated[Principal, Depends(require("buyer", "sales", "support", "channel"))]
Reader = Annotated[Principal, Depends(require("buyer", *ORDER_READERS))]
Canceller = Annotated[Principal, Depends(require("buyer", "support", "ops"))]
# Staff who work on an order after it was placed (a buyer neither writes nor reads notes).
Noter = Annotated[
    Principal, Depends(require("support", "ops", "sales", "sales_manager", "finance", "warehouse"))
]
Holder = Annotated[Principal, Depends(require("support", "ops"))]
Refunder = Annotated[Principal, Depends(require("support", "ops", "finance"))]
RefundKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="the caller's key for this refund: the same key refunds at most once",
    ),
]


def finished(order: OrderView) -> bool:
    """Whether ``order`` is in a final status (its lifecycle's terminal steps: cancelled,
    completed), which no update changes any more."""
    return ORDER.step(order.status).terminal


def check_not_finished(order: OrderView, instead: str = "") -> None:
    """409 ``Finished`` when ``order`` is :func:`finished` (``instead``: what the caller can
    do, appended to the message)."""
    if finished(order):
        raise api_error(409, "Finished", f"order {order.order_id} is {order.status}{instead}")


def options_from(settings: Settings) -> OrderOptions:
    return OrderOptions(
        pick_sla_s=settings.pick_sla_s,
        backorder_recheck_s=settings.backorder_recheck_s,
        hold_timeout_s=settings.hold_timeout_s,
        payment_authorization_valid_s=settings.payment_authorization_valid_s,
        step_deadline_s=settings.step_deadline_s,
        backorder_alert_s=settings.backorder_alert_s,
        delivery_deadline_s=settings.delivery_deadline_s,
        ops_email=settings.ops_email,
        task_queue_prefix=settings.task_queue_prefix,
        short_pick_policy=settings.short_pick_policy,
        approval_reminder_s=settings.quote_approver_reminder_s,
    )


def _catalogue(db: Database, currency: str, skus: list[str]) -> dict[str, Any]:
    with db.read() as session:
        return prices.for_order(session, currency, skus)


async def _validate_against_store(state: State, body: PlaceOrder, caller: Principal) -> PricedOrder:
    """The order priced (``starters.api.pricing``); 422 naming the line of a duplicate or
    unknown SKU, or of a price that is not the list's.

    The store is asked in a worker thread: a blocking query inside the async handler
    would stall every other request on the event loop.
    """
    skus = [line.sku for line in body.lines]
    seen: set[str] = set()
    for i, sku in enumerate(skus):
        if sku in seen:
            raise field_error(["lines", i, "sku"], "duplicate SKU: put it on one line", sku)
        seen.add(sku)
    known = await run_in_threadpool(_catalogue, state.db, body.currency, skus)
    for i, sku in enumerate(skus):
        if sku not in known:
            raise field_error(["lines", i, "sku"], f"unknown SKU {sku!r}", sku)
    # Decided here, not at the label: a parcel that cannot be declared would only be held.
    await check_customs(state.db, body.ship_to.country, skus, ["lines"])
    return price_order(body, caller, known, state.settings)


@router.post(
    "",
    status_code=202,
    response_model=OrderResult,
    responses={200: {"model": OrderView}, 409: {}, 422: {}},
)
async def place_order(
    body: PlaceOrder,
    state: State,
    caller: Placer,
    request: Request,
    idempotency_key: RetryKey = None,
) -> Response:
    """Accept an order and start its workflow; a resubmission returns the existing order.

    A buyer may only place orders for their own customer id (403 otherwise); invoice
    terms only for a member of the company (404 for a buyer, 422 for staff otherwise), on
    the company's payment terms (other ``payment.terms`` are a 422 naming the field).
    An order id is taken for good: reused for other content, even after its workflow is
    gone from Temporal, it is a 409. With ``Idempotency-Key``, a retry gets the first answer.
    """
    return await once(request, state, caller, idempotency_key, lambda: _place(body, state, caller))


async def _place(body: PlaceOrder, state: ApiState, caller: Principal) -> Response:
    check_owner(caller, body.customer.id, what="customer id")
    paid = body.payment
    if paid.method == "invoice" and paid.company_id is not None:
        # Invoice terms spend a company's credit: only for its members (the store says who).
        await check_member(
            state, caller, paid.company_id, body.customer.id, ["payment", "company_id"]
        )
        # On the company's payment terms, which the order's view and invoices show.
        terms = await company_terms(state, paid.company_id, paid.terms, ["payment", "terms"])
        paid = paid.model_copy(update={"terms": terms})
    for kept, why in KEPT_ORDER_IDS:
        if body.order_id is not None and kept.match(body.order_id):
            raise field_error(["order_id"], why, body.order_id)
    check_destination(body.ship_to, ["ship_to"])
    if body.bill_to is not None:
        check_country(body.bill_to, ["bill_to"])
    priced = await _validate_against_store(state, body, caller)
    order_id = body.order_id or f"O-{uuid.uuid4().hex[:12].upper()}"
    digest = content_hash(body, "order_id")
    answered = await ORDERS.reserve(state, caller, order_id, digest)
    if answered is not None:
        return answered
    # After the digest: a retry that left the terms out is the same order.
    body = body.model_copy(update={"payment": paid})
    try:
        await start_order(
            state.client,
            state.settings,
            body,
            order_id,
            digest,
            priced,
            placed_by=caller.subject,
        )
    except WorkflowAlreadyStartedError:
        return await ORDERS.resubmitted(state, order_id, digest, caller)
    accepted = OrderResult(order_id=order_id, status=OrderStatus.RECEIVED)
    return json_answer(accepted, status_code=202)


@lru_cache(maxsize=4)
def _policy(path: str) -> ApprovalPolicy:
    return load_approval_policy(path)


def totals_in(settings: Settings, policy: ApprovalPolicy, currency: str) -> None:
    """Set the rules' minimum totals (in the base currency) in ``currency``, at today's rate.

    Raises HTTPException 422 ``no_exchange_rate`` for a currency the rates cannot convert.
    """
    for rule in policy.rules:
        if rule.min_total is not None:
            rule.min_total = in_currency(settings, rule.min_total, currency)


def purchase_approvals(
    settings: Settings, body: PlaceOrder, total: Decimal
) -> list[PurchaseApproval]:
    """The approvals a company order needs: the approval rules (the quotes' rules, their
    totals set in the base currency) on its ``total`` in its currency and its SKUs, for an
    order on invoice terms (a purchase order); none otherwise.

    Raises HTTPException 422 ``no_exchange_rate`` for a currency the rates cannot convert.
    """
    if body.payment.method != "invoice":
        return []
    policy = _policy(settings.approval_rules_path or "")
    if body.currency != settings.base_currency:
        policy = policy.model_copy(deep=True)  # the cached one stays in the base currency
        totals_in(settings, policy, body.currency)
    skus = len({line.sku for line in body.lines})
    return [
        PurchaseApproval(rule_id=r.rule_id, rule_name=r.name, role=r.role)
        for r in order_rules(total, skus, policy)
    ]


async def start_order(
    client: Client,
    settings: Settings,
    body: PlaceOrder,
    order_id: str,
    digest: str,
    priced: PricedOrder | None = None,
    placed_by: str | None = None,
) -> None:
    """Start the order's workflow with the input, memo, search attributes and summary every
    order starts with (the bench's raw start calls it too, to measure exactly this).
    Without ``priced`` the body's own prices are taken as they are, with no totals.

    A company order (invoice terms) the approval rules match waits for their approvers
    (``purchase_approvals``); ``placed_by`` (the caller) may not be one of them.
    Raises ``WorkflowAlreadyStartedError`` when the order id exists.
    """
    now = datetime.now(UTC)
    lines = (
        priced.lines
        if priced is not None
        else [OrderLine.model_validate(line.model_dump()) for line in body.lines]
    )
    totals = None if priced is None else priced.totals
    total = totals.total if totals is not None else order_total(lines)
    inp = OrderInput(
        order_id=order_id,
        channel=body.channel,
        customer=body.customer,
        currency=body.currency,
        lines=lines,
        ship_to=body.ship_to,
        bill_to=body.bill_to,
        shipping_speed=body.shipping_speed,
        payment=body.payment,
        placed_at=now,
        body_hash=digest,
        options=options_from(settings),
        approvals=purchase_approvals(settings, body, total),
        placed_by=placed_by,
        totals=totals,
        price_source=None if priced is None else priced.source,
    )
    await ORDERS.start(
        client,
        settings,
        order_id,
        inp,
        digest=digest,
        customer_id=body.customer.id,
        step=ORDER.step("received"),
        now=now,
        # Set once at the start (the UI's list shows it); edits and line cancels change the
        # lines and the total later, which the current details show: so say "placed".
        summary=(
            f"Order {order_id} · {body.channel} · placed with {len(body.lines)} line(s), "
            f"{format_money(total, body.currency, body.customer.locale)}"
        ),
        more_attributes={"OmsChannel": body.channel},
    )


def _read(session: Session, order_id: str) -> OrderView | None:
    """The order's stored view as :func:`_shown` shows it."""
    view = orders.get_order(session, order_id)
    return None if view is None else _shown(session, view)


def _shown(session: Session, view: OrderView) -> OrderView:
    """``view`` with its returns and refunds (and, for a return's replacement, what it
    replaces), the carrier scans that came after a parcel's workflow ended, and each
    shipment as the shipment last recorded itself (the order hears only when one ships or
    ends; a scan shows here)."""
    order_id = view.order_id
    # Each read once: the money below sums what the view shows.
    its_returns = returns.returns_of(session, order_id)
    its_refunds = refunds.for_order(session, order_id)
    shipments = [orders.get_shipment(session, s.shipment_id) for s in view.shipments]
    view.returns = returns.summaries(its_returns)
    refunds.show_on(view, its_refunds)
    late_scans.show_on(view, late_scans.for_order(session, order_id))
    if view.origin == "replacement":
        view.exchange_of = returns.exchange_of(session, order_id)
    room = returns.money_from(view, shipments, its_refunds, its_returns)
    view.money = OrderMoney(
        captured=room.captured,
        refunded=room.refunded,
        net=None if room.captured is None else room.captured - room.refunded,
    )
    for summary, shipment in zip(view.shipments, shipments, strict=True):
        if shipment is not None and progress(shipment.status) >= progress(summary.status):
            summary.status = shipment.status.value
            summary.carrier, summary.service = shipment.carrier, shipment.service
            summary.tracking_number = shipment.tracking_number
    return view


ORDERS = WorkflowKind(
    "order",
    OrderWorkflow.run,
    order_workflow_id,
    OrderWorkflow.state,
    _read,
    owner=lambda view: (view.customer.id, None),
    shown=_shown,
    # A buyer reads their order without staff's reasons, notes and names (docs/security.md).
    seen_by=buyers_see(OrderView, for_buyer),
)


@router.get("/{order_id}", response_model=OrderView)
async def get_order(order_id: str, state: State, caller: Reader) -> OrderView:
    """The order with its shipments, backorders, allocation decisions, history and returns;
    a buyer's own order as they may see it (``oms.views.orders.for_buyer``)."""
    return await ORDERS.load_seen(state, caller, order_id)


@router.get("", response_model=Page[OrderView])
def list_orders(
    state: State,
    caller: Reader,
    page: Paging,
    status: OrderStatus | None = None,
    customer_id: str | None = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=320,
            description="an order id, a customer's email, or the start of a customer's name",
        ),
    ] = None,
    email: Annotated[str | None, Query(min_length=1, max_length=320)] = None,
    sku: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    tracking_number: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    placed_from: Annotated[datetime | None, Query(description="placed at or after")] = None,
    placed_to: Annotated[datetime | None, Query(description="placed before")] = None,
) -> Page[OrderView]:
    """Orders from the read model, newest first, matching every filter given; a buyer
    sees only their own, as ``GET /orders/{id}`` shows them to the buyer."""
    customer_id = listed_customer(caller, customer_id, "orders")
    search = OrderSearch(
        q=q,
        email=email,
        sku=sku,
        tracking_number=tracking_number,
        channel=channel,
        placed_from=placed_from,
        placed_to=placed_to,
    )
    with state.db.read() as session:
        listed = orders.list_orders(
            session,
            status=status.value if status else None,
            customer_id=customer_id,
            limit=page.limit,
            cursor=page.cursor,
            search=search,
        )
    listed.items = [ORDERS.as_seen_by(caller, view) for view in listed.items]
    return listed


@router.post("/{order_id}/cancel", response_model=OrderView)
async def cancel_order(
    order_id: str, body: CancelOrder, state: State, caller: Canceller
) -> OrderView:
    """Cancel with full compensation; 409 once a shipment has shipped, 409 ``Finished``
    (naming the order and its status) once it completed or was cancelled, like every other
    change to an order that ended.

    ``reason`` is kept in the order's history; the customer's email says ``customer_note``
    when given, a buyer's own reason when the buyer cancels, and no reason otherwise; a buyer
    is answered the order as they may see it (no staff reason)."""
    current = await ORDERS.load_visible(state, caller, order_id)  # 404 unknown or another buyer's
    # The reason is internal; the email tells the customer the note, or a buyer's own words.
    note = note_for_customer(caller.is_buyer, body.reason, body.customer_note)
    body = body.model_copy(update={"requested_by": caller.subject, "customer_note": note})
    check_not_finished(current)
    cancelled = await ORDERS.update(state, order_id, OrderWorkflow.cancel, body)
    seen: OrderView = ORDERS.as_seen_by(caller, cancelled)
    return seen


@router.post("/{order_id}/notes", response_model=OrderView, responses={404: {}, 422: {}})
async def add_note(order_id: str, body: OrderNote, state: State, caller: Noter) -> OrderView:
    """Keep a note (with optional tags) on the order, written by the caller.

    A running order's workflow takes it (update ``add_note``: its history and Temporal UI
    details show it); a finished order's note, or one whose workflow is gone (past the
    namespace's retention), goes to the read model directly.
    """
    current = await ORDERS.load(state, order_id)  # 404 when unknown
    body = body.model_copy(update={"by": caller.subject})
    if not finished(current):
        handle = ORDERS.handle(state, order_id)
        try:
            view: OrderView = await handle.execute_update(OrderWorkflow.add_note, body)
        except (WorkflowUpdateFailedError, RPCError) as err:
            ended = isinstance(err, RPCError) and (
                "already completed" in err.message or err.status == RPCStatusCode.NOT_FOUND
            )
            if not ended:
                raise_from_update(err, f"order {order_id}")
            # Finished between the read and the update, or gone (it ended without reaching
            # a terminal status: WorkflowKind.gone): its last write is in the store.
        else:
            await record_view(state, view)
            shown: OrderView = await ORDERS.show(state, view)
            return shown
    entry = NoteEntry(at=datetime.now(UTC), by=body.by, text=body.text, tags=body.tags)

    def note(session: Session) -> OrderView | None:
        noted = orders.add_note(session, order_id, entry)
        return None if noted is None else _shown(session, noted)

    return found(await in_store(state, note), api_error(404, "NotFound", f"order {order_id}"))


@router.post("/{order_id}/hold", response_model=OrderView, responses={404: {}, 409: {}})
async def hold_order(order_id: str, body: HoldRequest, state: State, caller: Holder) -> OrderView:
    """Hold the order before allocation (support and ops; who and why in its history).

    409 ``TooLateToHold`` once its stock is allocated, ``Finished`` once it ended,
    ``AlreadyHeld``.
    """
    return await _order_update(state, order_id, OrderWorkflow.hold, body, caller)


@router.post("/{order_id}/release", response_model=OrderView, responses={404: {}, 409: {}})
async def release_order(
    order_id: str, body: HoldRequest, state: State, caller: Holder
) -> OrderView:
    """Release the order's hold: it goes on to confirmation and allocation.

    409 ``NotHeld`` when nothing holds it (an order on hold for its payment is released
    with ``POST /ops/orders/{id}/release-hold``).
    """
    return await _order_update(state, order_id, OrderWorkflow.release, body, caller)


async def _order_update(
    state: State, order_id: str, update: Any, body: HoldRequest, caller: Principal
) -> OrderView:
    """Run ``update`` on the order's workflow with ``body`` signed by the caller; 404 for an
    unknown order, 409 naming why for a refused one (nothing changed then)."""
    check_not_finished(await ORDERS.load(state, order_id))  # 404 when unknown
    view: OrderView = await ORDERS.update(state, order_id, update, body, caller)
    return view


@router.post(
    "/{order_id}/refunds",
    response_model=OrderRefund,
    responses={404: {}, 409: {}, 422: {}},
)
async def refund_order(
    order_id: str, body: RefundOrder, key: RefundKey, state: State, caller: Refunder
) -> OrderRefund:
    """Refund part of what the order captured without a return (appeasement, late delivery,
    shipping), exactly once per ``Idempotency-Key``: the same key answers the same refund.

    An order on invoice terms is refunded with a credit note instead (its number is the
    refund's ``refund_id``; see ``GET /orders/{id}/invoices``), which gives the amount back
    to the company's credit; more than invoiced minus credited is declined.

    409 ``RefundDeclined`` naming why (more than captured minus already refunded, nothing
    captured) and ``IdempotencyKeyReused`` for a key that refunded another amount or reason.
    """
    current = await ORDERS.load(state, order_id)  # 404 when unknown
    claimed = await in_store(
        state, lambda session: _claim(session, current, key, body, caller.subject)
    )
    if claimed.status == "pending" and await in_store(
        state, lambda session: credit.is_invoice_order(session, order_id)
    ):
        # Nothing was captured from a card: the company is credited instead.
        claimed = await in_store(state, lambda session: _credit_note(session, claimed))
    if claimed.status == "pending":
        inp = OrderRefundInput(
            order_id=order_id,
            key=key,
            amount=body.amount,
            currency=current.currency,
            reason=body.reason,
            task_queue_prefix=state.settings.task_queue_prefix,
        )
        workflow_id = order_refund_workflow_id(order_id, key)
        try:
            handle = await state.client.start_workflow(
                OrderRefundWorkflow.run,
                inp,
                id=workflow_id,
                task_queue=state.settings.queue(WORKFLOW_QUEUE),
                static_summary=f"Refund {body.amount} {current.currency} of order {order_id}",
            )
        except WorkflowAlreadyStartedError:
            # A retry of a request that started it (the row said pending): wait for it.
            handle = state.client.get_workflow_handle_for(OrderRefundWorkflow.run, workflow_id)
        claimed = await handle.result()
    if claimed.status == "declined":
        # The stored error leads with the provider's error type (the order's history shows
        # it); the problem's title already says it.
        why = (claimed.error or "declined").removeprefix("RefundDeclined: ")
        raise api_error(409, "RefundDeclined", why)
    return claimed


def _credit_note(session: Session, refund: OrderRefund) -> OrderRefund:
    """Settle a refund of an invoice-term order with a credit note (its number is the
    refund's id), or decline it naming why; in one transaction with the refund's row."""
    note_number = error = None
    try:
        with session.begin_nested():
            note = credit.credit_note(
                session, refund.order_id, refund.key, refund.amount, refund.reason, tax=refund.tax
            )
        note_number = note.number
    except (CreditNoteRefused, InvalidCreditMovement) as err:
        error = str(err)
    return refunds.finish(
        session, refund.order_id, refund.key, note_number, error, datetime.now(UTC)
    )


def _claim(session: Session, order: OrderView, key: str, body: RefundOrder, by: str) -> OrderRefund:
    try:
        return refunds.claim(
            session,
            order.order_id,
            key,
            body.amount,
            order.currency,
            body.reason,
            by,
            datetime.now(UTC),
            # Split as the order was taxed; an order placed without totals is not.
            tax=None
            if order.prices_include_tax is None
            else refund_tax(body.amount, order.tax, order.currency),
        )
    except refunds.RefundKeyReused as err:
        raise api_error(409, "IdempotencyKeyReused", str(err)) from err
