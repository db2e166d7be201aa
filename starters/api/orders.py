"""``/orders``: place, read, list and cancel orders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from oms import search_attributes as sa
from oms.domain.auth import Principal
from oms.domain.fulfilment import progress
from oms.domain.lifecycle import ORDER, attributes, limits_from
from oms.domain.money import format_money, order_total
from oms.ids import order_workflow_id
from oms.models.common import Page
from oms.models.orders import (
    CancelOrder,
    OrderAccepted,
    OrderInput,
    OrderOptions,
    OrderStatus,
    OrderView,
    PlaceOrder,
)
from oms.settings import WORKFLOW_QUEUE, Settings
from oms.store import inventory, orders, returns
from oms.store.db import Database
from starters.api.auth import ORDER_READERS, check_owner, require
from starters.api.deps import (
    Paging,
    State,
    content_hash,
    field_error,
    query_state,
    require_same_body,
    run_update,
)
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/orders", tags=["orders"])
Placer = Annotated[Principal, Depends(require("buyer", "sales", "support"))]
Reader = Annotated[Principal, Depends(require("buyer", *ORDER_READERS))]
Canceller = Annotated[Principal, Depends(require("buyer", "support", "ops"))]


def options_from(settings: Settings) -> OrderOptions:
    return OrderOptions(
        pick_sla_s=settings.pick_sla_s,
        backorder_recheck_s=settings.backorder_recheck_s,
        hold_timeout_s=settings.hold_timeout_s,
        step_deadline_s=settings.step_deadline_s,
        backorder_alert_s=settings.backorder_alert_s,
        delivery_deadline_s=settings.delivery_deadline_s,
        ops_email=settings.ops_email,
        task_queue_prefix=settings.task_queue_prefix,
    )


# Products are never deleted, so a SKU found once stays valid: each store's known SKUs
# are kept here and only a SKU not seen before costs a query.
_KNOWN_SKUS: WeakKeyDictionary[Database, set[str]] = WeakKeyDictionary()


def _lookup_skus(db: Database, skus: list[str]) -> set[str]:
    with db.session() as session:
        return inventory.known_skus(session, skus)


async def _validate_against_store(state: State, body: PlaceOrder) -> None:
    """422 naming the line of a duplicate or unknown SKU.

    The store is asked in a worker thread: a blocking query inside the async handler
    would stall every other request on the event loop.
    """
    skus = [line.sku for line in body.lines]
    seen: set[str] = set()
    for i, sku in enumerate(skus):
        if sku in seen:
            raise field_error(["lines", i, "sku"], "duplicate SKU: put it on one line", sku)
        seen.add(sku)
    known = _KNOWN_SKUS.setdefault(state.db, set())
    missing = [sku for sku in skus if sku not in known]
    if missing:
        known.update(await run_in_threadpool(_lookup_skus, state.db, missing))
    for i, sku in enumerate(skus):
        if sku not in known:
            raise field_error(["lines", i, "sku"], f"unknown SKU {sku!r}", sku)


@router.post(
    "",
    status_code=202,
    response_model=OrderAccepted,
    responses={200: {"model": OrderView}, 409: {}, 422: {}},
)
async def place_order(body: PlaceOrder, state: State, caller: Placer) -> Response:
    """Accept an order and start its workflow; a resubmission returns the existing order.

    A buyer may only place orders for their own customer id (403 otherwise).
    """
    check_owner(caller, body.customer.id, what="customer id")
    await _validate_against_store(state, body)
    order_id = body.order_id or f"O-{uuid.uuid4().hex[:12].upper()}"
    digest = content_hash(body, "order_id")
    try:
        await start_order(state.client, state.settings, body, order_id, digest)
    except WorkflowAlreadyStartedError:
        return await _resubmitted(state, order_id, digest)
    accepted = OrderAccepted(order_id=order_id, status=OrderStatus.RECEIVED)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


async def start_order(
    client: Client, settings: Settings, body: PlaceOrder, order_id: str, digest: str
) -> None:
    """Start the order's workflow with the input, memo, search attributes and summary every
    order starts with (the bench's raw start calls it too, to measure exactly this).

    Raises ``WorkflowAlreadyStartedError`` when the order id exists.
    """
    now = datetime.now(UTC)
    inp = OrderInput(
        order_id=order_id,
        channel=body.channel,
        customer=body.customer,
        currency=body.currency,
        lines=body.lines,
        ship_to=body.ship_to,
        shipping_speed=body.shipping_speed,
        payment=body.payment,
        placed_at=now,
        body_hash=digest,
        options=options_from(settings),
    )
    await client.start_workflow(
        OrderWorkflow.run,
        inp,
        id=order_workflow_id(order_id),
        task_queue=settings.queue(WORKFLOW_QUEUE),
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        memo={"body_hash": digest},
        search_attributes=sa.typed(
            {
                "OmsKind": "order",
                "OmsCustomerId": body.customer.id,
                "OmsChannel": body.channel,
                # What the first workflow task would set: a broken task shows as stuck.
                **attributes(ORDER.step("received"), now, limits_from(settings)),
            }
        ),
        static_summary=(
            f"Order {order_id} · {len(body.lines)} line(s) · "
            f"{format_money(order_total(body.lines), body.currency, 'sv')} · {body.channel}"
        ),
    )


async def _resubmitted(state: State, order_id: str, digest: str) -> Response:
    await require_same_body(
        state.client, order_workflow_id(order_id), digest, "OrderIdConflict", f"order {order_id}"
    )
    view = await _load(state, order_id)
    return JSONResponse(view.model_dump(mode="json"), status_code=200)


def _read(db: Database, order_id: str) -> OrderView | None:
    """The order's stored view with its returns, and each shipment as the shipment last
    recorded itself (the order hears only when one ships or ends; a scan shows here)."""
    with db.session() as session:
        view = orders.get_order(session, order_id)
        if view is None:
            return None
        view.returns = returns.summaries(session, order_id)
        for summary in view.shipments:
            shipment = orders.get_shipment(session, summary.shipment_id)
            if shipment is not None and progress(shipment.status) >= progress(summary.status):
                summary.status = shipment.status.value
                summary.carrier, summary.service = shipment.carrier, shipment.service
                summary.tracking_number = shipment.tracking_number
        return view


async def _load(state: State, order_id: str) -> OrderView:
    """The read model's order, or the workflow's own state in the moment before it is written."""
    view = await run_in_threadpool(_read, state.db, order_id)
    if view is not None:
        return view
    handle = state.client.get_workflow_handle(order_workflow_id(order_id))
    return await query_state(handle, OrderWorkflow.state, f"order {order_id}")


@router.get("/{order_id}", response_model=OrderView)
async def get_order(order_id: str, state: State, caller: Reader) -> OrderView:
    """The order with its shipments, backorders, allocation decisions, history and returns."""
    return await load_owned(state, caller, order_id)


async def load_owned(state: State, caller: Principal, order_id: str) -> OrderView:
    """The order, if the caller may see it: 404 when unknown, 403 for another buyer's."""
    view = await _load(state, order_id)
    check_owner(caller, view.customer.id, what="orders")
    return view


@router.get("", response_model=Page[OrderView])
def list_orders(
    state: State,
    caller: Reader,
    page: Paging,
    status: OrderStatus | None = None,
    customer_id: str | None = None,
) -> Page[OrderView]:
    """Orders from the read model, newest first; a buyer sees only their own."""
    if caller.is_buyer:
        if customer_id is not None:
            check_owner(caller, customer_id, what="orders")
        customer_id = caller.customer_id or ""
    with state.db.session() as session:
        return orders.list_orders(
            session,
            status=status.value if status else None,
            customer_id=customer_id,
            limit=page.limit,
            cursor=page.cursor,
        )


@router.post("/{order_id}/cancel", response_model=OrderView)
async def cancel_order(
    order_id: str, body: CancelOrder, state: State, caller: Canceller
) -> OrderView:
    """Cancel with full compensation; 409 once a shipment has shipped."""
    current = await load_owned(state, caller, order_id)  # 404 unknown, 403 another buyer's
    body = body.model_copy(update={"requested_by": caller.subject})
    if current.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
        raise HTTPException(
            409,
            detail={"error": "NotCancellable", "message": f"order is already {current.status}"},
        )
    handle = state.client.get_workflow_handle(order_workflow_id(order_id))
    return await run_update(state, handle, OrderWorkflow.cancel, body, f"order {order_id}")
