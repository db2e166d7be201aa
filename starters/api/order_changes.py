"""``/orders/{order_id}/edits``, ``/orders/{order_id}/lines/...`` and
``/shipments/{shipment_id}/claims``: changes to a placed order (issue 17)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from oms.domain.auth import Principal
from oms.domain.order_emails import note_for_customer
from oms.models.money import DestinationPricing
from oms.models.order_changes import (
    CancelLine,
    CancelLineBody,
    EditOrder,
    EditOrderBody,
    OpenClaim,
    OpenClaimBody,
)
from oms.models.orders import OrderView
from oms.settings import Settings
from oms.store import prices as price_lists
from starters.api.auth import require
from starters.api.deps import (
    ApiState,
    State,
    api_error,
    in_store,
    json_answer,
    record_view,
)
from starters.api.destinations import check_customs, check_destination
from starters.api.idempotency import IdempotencyKey, once
from starters.api.orders import ORDERS, check_not_finished
from starters.api.pricing import added_price, destination_pricing
from starters.api.shipments import stored_shipment
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/orders", tags=["orders"])
claims_router = APIRouter(prefix="/shipments", tags=["warehouse"])
Claimer = Annotated[Principal, Depends(require("support", "ops"))]
# Who may cancel a whole order may change or cancel part of it (a buyer: only their own).
LineCanceller = Annotated[Principal, Depends(require("buyer", "support", "ops"))]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.post(
    "/{order_id}/lines/{sku}/cancel",
    response_model=OrderView,
    responses={404: {}, 409: {}, 422: {}},
)
async def cancel_line(
    order_id: str,
    sku: SkuPath,
    body: CancelLineBody,
    state: State,
    caller: LineCanceller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Cancel ``quantity`` units of the order's line of ``sku`` until they ship; the rest of
    the order goes on. Owed (backordered) units go first, then units in shipments that have
    not shipped; their stock is released and the card authorization is lowered by the
    difference. Who (the token) and why are kept in the order's history; the customer's
    email gives ``customer_note`` as the reason (a buyer's own reason when a buyer cancels),
    never staff's ``reason``.

    Not idempotent by itself (each call cancels ``quantity`` more): send an
    ``Idempotency-Key`` and a retry after a lost answer gets the first answer again
    (``Idempotent-Replayed: true``) instead of cancelling twice.

    409 naming why, with nothing changed: ``TooLateToCancelLine`` (fewer units left that
    have not shipped, or the shipment shipped first), ``UnknownLine``, ``WholeOrder``
    (nothing would be left: cancel the order), ``NotAllocated`` (its stock is not
    allocated yet), ``NotCancellable`` / ``Finished`` (the order ended or is cancelling).
    """
    return await once(
        request,
        state,
        caller,
        idempotency_key,
        lambda: _cancel_line(order_id, sku, body, state, caller),
    )


async def _cancel_line(
    order_id: str, sku: str, body: CancelLineBody, state: ApiState, caller: Principal
) -> Response:
    current = await ORDERS.load_visible(state, caller, order_id)  # 404 unknown or another buyer's
    check_not_finished(current)
    request = CancelLine(
        sku=sku,
        quantity=body.quantity,
        reason=body.reason,
        by=caller.subject,
        customer_note=note_for_customer(caller.is_buyer, body.reason, body.customer_note),
    )
    view: OrderView = await ORDERS.update(state, order_id, OrderWorkflow.cancel_line, request)
    return json_answer(ORDERS.as_seen_by(caller, view))


@router.post(
    "/{order_id}/edits",
    response_model=OrderView,
    responses={402: {}, 404: {}, 409: {}, 422: {}},
)
async def edit_order(
    order_id: str,
    body: EditOrderBody,
    state: State,
    caller: LineCanceller,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Change lines (a SKU's new quantity; 0 takes it off; a new SKU at its catalogue
    price), ``ship_to`` or ``shipping_speed`` until the first pick starts: stock is
    allocated anew, a raised total authorized anew (the old authorization voided), a
    lowered one partly released, and the customer gets one "order changed" email (with
    ``customer_note`` as the reason, or a buyer's own reason; never staff's). Who (the
    token) and why are kept in the order's history. A new country or speed re-prices the
    order's shipping and VAT as ``POST /orders`` prices an order placed there.

    402 ``PaymentDeclined`` when the card refuses a raised total; 409 ``TooLateToEdit``
    naming the shipment whose pick started, ``WholeOrder``, ``NotEditableYet`` (paying or
    allocating, or the order moved while the edit was priced: retry), ``NotEditable`` /
    ``Finished``; 422 naming a field (an unknown SKU, an edit that changes nothing, a
    ``ship_to`` that ``POST /orders`` refuses, a destination without a VAT rate). The order
    is unchanged each time.

    An edit names new quantities, so sent twice it changes nothing more, but the second is
    a 422 (an edit that changes nothing); with an ``Idempotency-Key`` a retry after a lost
    answer gets the first answer again.
    """
    return await once(
        request, state, caller, idempotency_key, lambda: _edit(order_id, body, state, caller)
    )


async def _edit(order_id: str, body: EditOrderBody, state: ApiState, caller: Principal) -> Response:
    current = await ORDERS.load_visible(state, caller, order_id)  # 404 unknown or another buyer's
    check_not_finished(current)
    if body.ship_to is not None:
        check_destination(body.ship_to, ["ship_to"])
    # What the order will ship, to where: a line it adds, or a new address abroad for the
    # lines it keeps.
    edited = {line.sku for line in body.lines or []}
    await check_customs(
        state.db,
        (body.ship_to or current.ship_to).country,
        [line.sku if line.quantity else None for line in body.lines or []],
        ["lines"],
        kept=[ln.sku for ln in current.lines if ln.sku not in edited] if body.ship_to else [],
        kept_loc=["ship_to", "country"],
    )
    # Every price from the OMS's own tables, never the body.
    prices, tax_rates, pricing = await in_store(
        state, lambda session: _priced(session, state.settings, current, body)
    )
    request = EditOrder(
        lines=body.lines or [],
        ship_to=body.ship_to,
        shipping_speed=body.shipping_speed,
        reason=body.reason,
        prices=prices,
        by=caller.subject,
        customer_note=note_for_customer(caller.is_buyer, body.reason, body.customer_note),
        tax_rates=tax_rates,
        pricing=pricing,
    )
    try:
        view: OrderView = await ORDERS.handle(state, order_id).execute_update(
            OrderWorkflow.edit, request
        )
    except (WorkflowUpdateFailedError, RPCError) as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, ApplicationError) and cause.type == "PaymentDeclined":
            raise api_error(402, "PaymentDeclined", cause.message) from err
        await ORDERS.refused(state, order_id, err)
    await record_view(state, view)
    return json_answer(ORDERS.as_seen_by(caller, view))


def _priced(
    session: Session, settings: Settings, order: OrderView, body: EditOrderBody
) -> tuple[dict[str, Decimal], dict[str, Decimal], DestinationPricing | None]:
    """:func:`_prices` and :func:`_repricing`, in one store session."""
    prices, rates = _prices(session, settings, order, body)
    return prices, rates, _repricing(session, settings, order, body)


def _prices(
    session: Session, settings: Settings, order: OrderView, body: EditOrderBody
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The list price in the order's currency of each SKU the edit adds, and its VAT rate as
    the order is taxed (none for an order placed without totals); 422 naming the line of an
    unknown or inactive one, or of one without a price in that currency."""
    on_order = {line.sku for line in order.lines}
    prices: dict[str, Decimal] = {}
    rates: dict[str, Decimal] = {}
    for i, line in enumerate(body.lines or []):
        if line.sku in on_order or not line.quantity:
            continue
        price, rate = added_price(session, settings, order, line.sku, ["lines", i, "sku"])
        prices[line.sku] = price
        if rate is not None:
            rates[line.sku] = rate
    return prices, rates


def _repricing(
    session: Session, settings: Settings, order: OrderView, body: EditOrderBody
) -> DestinationPricing | None:
    """The shipping charge and VAT of the order at its new destination or speed, as
    ``POST /orders`` prices an order placed there (``starters.api.pricing``), when the edit
    moves it to another country (what prices shipping and VAT) or changes its speed; None
    otherwise, and for an order placed without totals (its pricing stays as placed)."""
    if order.tax_treatment is None:
        return None
    country = body.ship_to.country if body.ship_to is not None else order.ship_to.country
    speed = body.shipping_speed or order.shipping_speed
    if (country, speed) == (order.ship_to.country, order.shipping_speed):
        return None
    skus = [ln.sku for ln in order.lines] + [ln.sku for ln in body.lines or [] if ln.quantity]
    classes = {
        sku: cls for sku, (_, cls) in price_lists.for_order(session, order.currency, skus).items()
    }
    return destination_pricing(settings, order, country, speed, classes)


@claims_router.post(
    "/{shipment_id}/claims",
    response_model=OrderView,
    responses={404: {}, 409: {}, 422: {}},
)
async def open_claim(
    shipment_id: str,
    body: OpenClaimBody,
    state: State,
    caller: Claimer,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A parcel was ``lost`` or ``damaged`` in transit: ``reship`` sends its lines again as a
    new shipment at no charge, ``refund`` refunds what its lines came to. Answers the order
    with the claim (who from the token, and why, in its history). A shipment with no carrier
    scan by its delivery deadline shows in ``/ops/stuck`` with "open a claim".

    409 naming why, nothing changed: ``NotShipped``, ``NotLost`` (it was delivered: claim it
    damaged, or open a return), ``AlreadyClaimed``, ``NotSupported`` (a refund of an order
    not paid by card), ``Finished`` (the order ended: open a return or a refund without a
    return instead).

    A parcel is claimed once (a second claim is a 409 ``AlreadyClaimed``); with an
    ``Idempotency-Key`` a retry after a lost answer gets the first answer again.
    """
    return await once(
        request,
        state,
        caller,
        idempotency_key,
        lambda: _open_claim(shipment_id, body, state, caller),
    )


async def _open_claim(
    shipment_id: str, body: OpenClaimBody, state: ApiState, caller: Principal
) -> Response:
    shipment = await run_in_threadpool(stored_shipment, state, shipment_id)
    order = await ORDERS.load_visible(state, caller, shipment.order_id)
    check_not_finished(
        order,
        ": open a return (POST /orders/{id}/returns) or a refund (POST /orders/{id}/refunds)",
    )
    request = OpenClaim(
        shipment_id=shipment_id,
        kind=body.kind,
        resolution=body.resolution,
        reason=body.reason,
        by=caller.subject,
    )
    view: OrderView = await ORDERS.update(state, order.order_id, OrderWorkflow.open_claim, request)
    return json_answer(view)
