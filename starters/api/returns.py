"""``/orders/{order_id}/returns`` and ``/returns``: request, authorize, receive, follow returns."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from oms.domain.auth import Principal
from oms.domain.lifecycle import RETURN
from oms.domain.returns import check_eligibility
from oms.ids import exchange_order_id, order_workflow_id
from oms.models.common import Page
from oms.models.orders import OrderInput, OrderLine, OrderView
from oms.models.returns import (
    AuthorizeReturn,
    ReceiveReturn,
    RejectReturn,
    RequestReturn,
    RetryRefund,
    ReturnAccepted,
    ReturnFacts,
    ReturnInput,
    ReturnLine,
    ReturnOptions,
    ReturnPolicy,
    ReturnStatus,
    ReturnView,
)
from oms.settings import Settings
from oms.store import credit, inventory, orders, returns
from starters.api.auth import ORDER_READERS, check_visible, listed_customer, require
from starters.api.deps import (
    ApiState,
    Paging,
    State,
    api_error,
    field_error,
    in_store,
    json_answer,
    not_found,
)
from starters.api.idempotency import IdempotencyKey, once, reserve
from starters.api.kinds import WorkflowKind
from starters.api.orders import options_from
from starters.api.pricing import added_price, gross_unit_price, in_currency
from workflows.returns import ReturnWorkflow, return_workflow_id

router = APIRouter(tags=["returns"])
Requester = Annotated[Principal, Depends(require("buyer", "support"))]
Reader = Annotated[Principal, Depends(require("buyer", *ORDER_READERS))]
Support = Annotated[Principal, Depends(require("support"))]
Receiver = Annotated[Principal, Depends(require("warehouse"))]
Operator = Annotated[Principal, Depends(require("ops"))]
RETURNS = WorkflowKind(
    "return",
    ReturnWorkflow.run,
    return_workflow_id,
    ReturnWorkflow.state,
    returns.get_return,
    owner=lambda view: (view.customer.id, None),
)


def return_options(settings: Settings, currency: str | None = None) -> ReturnOptions:
    """Rules and timings a new return runs with, from the merchant's settings; the
    auto-authorization threshold (in the base currency) in ``currency``, at today's rate."""
    reasons = [r.strip() for r in settings.return_auto_authorize_reasons.split(",") if r.strip()]
    threshold = Decimal(settings.return_auto_authorize_under)
    if currency is not None:
        threshold = in_currency(settings, threshold, currency)
    return ReturnOptions(
        policy=ReturnPolicy(
            window_days=settings.return_window_days,
            auto_authorize_under=threshold,
            auto_authorize_reasons=reasons,
        ),
        receipt_timeout_s=settings.return_receipt_timeout_s,
        authorize_deadline_s=settings.return_authorize_deadline_s,
        step_deadline_s=settings.step_deadline_s,
        ops_email=settings.ops_email,
        task_queue_prefix=settings.task_queue_prefix,
        order_options=options_from(settings),
    )


@router.post(
    "/orders/{order_id}/returns",
    status_code=202,
    response_model=ReturnAccepted,
    responses={404: {}, 409: {}, 422: {}},
    tags=["orders"],
)
async def request_return(
    order_id: str,
    body: RequestReturn,
    state: State,
    caller: Requester,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Ask to return delivered lines; 422 naming why when they cannot be returned.

    A buyer may only return their own orders' lines (404 for another's order).
    Checked here against the read model and again by the return's workflow. The return's
    id and its exchange order's id are taken for good. With ``Idempotency-Key``, a retry
    gets the first answer instead of a second return.
    """
    return await once(
        request,
        state,
        caller,
        idempotency_key,
        lambda: _request_return(order_id, body, state, caller),
    )


async def _request_return(
    order_id: str, body: RequestReturn, state: ApiState, caller: Principal
) -> Response:
    now = datetime.now(UTC)
    window = state.settings.return_window_days

    def read(session: Session) -> tuple[OrderView, ReturnFacts, int, bool]:
        order = orders.get_order(session, order_id)
        if order is None:
            raise not_found(f"order {order_id}")
        check_visible(caller, order.customer.id, None, f"order {order_id}")
        facts = returns.eligibility_facts(session, order_id)
        number = returns.count_returns(session, order_id) + 1
        return order, facts, number, credit.is_invoice_order(session, order_id)

    order, facts, number, invoice_terms = await in_store(state, read)
    problems = check_eligibility(facts, body.lines, now, window)
    if problems:
        raise HTTPException(
            422,
            detail=[
                {
                    "type": p.code,
                    "loc": ["body", "lines", p.line] if p.line is not None else ["body"],
                    "msg": p.message,
                    "input": p.sku,
                }
                for p in problems
            ],
        )
    prices = {line.sku: line.unit_price for line in facts.lines}
    exchange_for: list[OrderLine] = []
    token: str | None = None
    if body.exchange_for is not None:
        exchange_for = await in_store(state, lambda s: _variants(s, state.settings, order, body))
        token = await _card_token(state, order_id)
    if order.prices_include_tax is False:
        # Priced without VAT: a return refunds the VAT paid on its lines too.
        prices = {
            li.sku: gross_unit_price(li.unit_price, li.tax_rate, order.currency)
            for li in order.lines
        }
    # One number per order: two requests racing for the same number cannot both start,
    # and the number stays taken in the store after Temporal forgets the workflow.
    rma_id = f"RMA-{order_id}-{number}"
    taken = await run_in_threadpool(reserve, state.db, "return", rma_id, caller.subject, None)
    if not taken.new and await _exists(state, rma_id):
        raise _return_in_progress(order_id)
    # Its exchange order's id, so nobody can take it before the exchange starts.
    exchange_id = exchange_order_id(rma_id)
    await run_in_threadpool(reserve, state.db, "order", exchange_id, f"return {rma_id}", None)
    inp = ReturnInput(
        rma_id=rma_id,
        order_id=order_id,
        customer=order.customer,
        currency=order.currency,
        ship_to=order.ship_to,
        lines=[
            ReturnLine(
                sku=ln.sku, quantity=ln.quantity, reason=ln.reason, unit_price=prices[ln.sku]
            )
            for ln in body.lines
        ],
        resolution=body.resolution,
        requested_at=now,
        options=return_options(state.settings, order.currency),
        exchange_for=exchange_for,
        payment_token=token,
        invoice_terms=invoice_terms,
        requested_by=caller.subject,
    )
    try:
        await RETURNS.start(
            state.client,
            state.settings,
            rma_id,
            inp,
            digest=None,  # one return per number: a second request is refused, not answered
            customer_id=order.customer.id,
            step=RETURN.step("requested"),
            now=now,
            summary=(
                f"Return {rma_id} · order {order_id} · {len(body.lines)} line(s) · "
                f"{body.resolution}"
            ),
        )
    except WorkflowAlreadyStartedError:
        raise _return_in_progress(order_id) from None
    accepted = ReturnAccepted(rma_id=rma_id, status=ReturnStatus.REQUESTED)
    return json_answer(accepted, status_code=202)


def _variants(
    session: Session, settings: Settings, order: OrderView, body: RequestReturn
) -> list[OrderLine]:
    """What an exchange to other variants sends, priced from the price list of the order's
    currency with the VAT rate the order is taxed at; as the returned lines are, at the
    price with VAT when the order's prices exclude it (the difference is what the customer
    pays or gets back). 422 naming the line of an unknown or inactive SKU, or one without a
    price in that currency."""
    lines = []
    for i, line in enumerate(body.exchange_for or []):
        loc: list[str | int] = ["exchange_for", i, "sku"]
        price, rate = added_price(session, settings, order, line.sku, loc)
        if order.prices_include_tax is False:
            price = gross_unit_price(price, rate, order.currency)
        lines.append(
            OrderLine(sku=line.sku, quantity=line.quantity, unit_price=price, tax_rate=rate)
        )
    return lines


async def _card_token(state: ApiState, order_id: str) -> str | None:
    """The card token the order was placed with (from its workflow's input), to charge an
    exchange's difference; None for another payment method or an order Temporal forgot."""
    handle = state.client.get_workflow_handle(order_workflow_id(order_id))
    try:
        async for event in handle.fetch_history_events():
            started = event.workflow_execution_started_event_attributes
            [inp] = await state.client.data_converter.decode(started.input.payloads, [OrderInput])
            payment = inp.payment
            return payment.token if payment.method == "card" else None
    except RPCError:
        return None
    return None


async def _exists(state: ApiState, rma_id: str) -> bool:
    """Whether the return was started (a reservation whose start failed is not)."""
    try:
        await RETURNS.load(state, rma_id)
    except HTTPException:
        return False
    return True


def _return_in_progress(order_id: str) -> HTTPException:
    return api_error(
        409, "ReturnInProgress", f"another return of order {order_id} is being requested; try again"
    )


@router.get("/returns/{rma_id}", response_model=ReturnView)
async def get_return(rma_id: str, state: State, caller: Reader) -> ReturnView:
    """Status, lines (received, restocked, refunded), label and tracking, refunds, history."""
    return await RETURNS.load_visible(state, caller, rma_id)


@router.get("/returns", response_model=Page[ReturnView])
def list_returns(
    state: State,
    caller: Reader,
    page: Paging,
    order_id: str | None = None,
    status: ReturnStatus | None = None,
    reason: str | None = None,
) -> Page[ReturnView]:
    """Returns newest first; ``reason`` finds returns with a line given that reason.

    A buyer sees only their own.
    """
    with state.db.read() as session:
        return returns.list_returns(
            session,
            order_id=order_id,
            status=status.value if status else None,
            reason=reason,
            limit=page.limit,
            cursor=page.cursor,
            customer_id=listed_customer(caller, None, "returns"),
        )


@router.post("/returns/{rma_id}/authorize", response_model=ReturnView)
async def authorize(
    rma_id: str, body: AuthorizeReturn, state: State, caller: Support
) -> ReturnView:
    """Support authorizes a return the automatic rules left for a person."""
    return await RETURNS.update_known(state, rma_id, ReturnWorkflow.authorize, body, caller)


@router.post("/returns/{rma_id}/reject", response_model=ReturnView)
async def reject(rma_id: str, body: RejectReturn, state: State, caller: Support) -> ReturnView:
    """Support rejects a return, with a reason the customer is told."""
    return await RETURNS.update_known(state, rma_id, ReturnWorkflow.reject, body, caller)


@router.post("/returns/{rma_id}/receive", response_model=ReturnView)
async def receive(rma_id: str, body: ReceiveReturn, state: State, caller: Receiver) -> ReturnView:
    """The warehouse received the parcel; answers after inspection and restock."""
    await RETURNS.load(state, rma_id)
    body = body.model_copy(update={"received_by": caller.subject})
    known = await in_store(
        state, lambda session: inventory.warehouse_exists(session, body.warehouse_id)
    )
    if not known:
        raise field_error(
            ["warehouse_id"], f"unknown warehouse {body.warehouse_id!r}", body.warehouse_id
        )
    return await RETURNS.update(state, rma_id, ReturnWorkflow.receive, body)


@router.post("/returns/{rma_id}/retry-refund", response_model=ReturnView)
async def retry_refund(
    rma_id: str, body: RetryRefund, state: State, caller: Operator
) -> ReturnView:
    """Retry a refund the payment provider declined (the return waits in refund_failed)."""
    return await RETURNS.update_known(state, rma_id, ReturnWorkflow.retry_refund, body, caller)
