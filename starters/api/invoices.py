"""B2B invoices: an order's invoices and credit notes, and a company's payments.

Invoices are issued by the store when a shipment of an invoice-term order consumes its
credit (one per shipment); credit notes by a refund of such an order
(``POST /orders/{id}/refunds``); a payment gives the company its credit back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from oms.domain.auth import Principal
from oms.models.common import Page
from oms.models.credit import CompanyPayment, Invoice, RecordPayment
from oms.store import credit, invoices
from oms.store.errors import PaymentReferenceReused, UnknownCompany
from starters.api.auth import ORDER_READERS, not_found, require
from starters.api.deps import Paging, State, api_error, in_store
from starters.api.orders import ORDERS

router = APIRouter(tags=["invoices"])
Reader = Annotated[Principal, Depends(require("buyer", *ORDER_READERS))]
Finance = Annotated[Principal, Depends(require("finance", "cfo"))]


@router.get("/orders/{order_id}/invoices", response_model=Page[Invoice])
async def order_invoices(
    order_id: str, state: State, caller: Reader, page: Paging
) -> Page[Invoice]:
    """The order's invoices (one per shipment of an invoice-term order) and credit notes
    (one per refund), oldest first; 404 for an unknown order or another buyer's."""
    await ORDERS.load_visible(state, caller, order_id)
    return await in_store(
        state, lambda session: invoices.for_order(session, order_id, page.limit, page.cursor)
    )


@router.post(
    "/companies/{company_id}/payments",
    status_code=201,
    response_model=CompanyPayment,
    responses={200: {"model": CompanyPayment}, 404: {}, 409: {}, 422: {}},
    tags=["companies"],
)
async def record_payment(
    company_id: str, body: RecordPayment, state: State, caller: Finance, response: Response
) -> CompanyPayment:
    """Record money received from the company (in its credit currency): its available credit
    grows by the amount. Once per ``reference``: the same reference and amount again answer
    200 with the payment recorded; another amount is 409 ``PaymentReferenceReused``."""

    def record(session: Session) -> tuple[CompanyPayment, bool]:
        return credit.record_payment(session, company_id, body, caller.subject)

    try:
        paid, created = await in_store(state, record)
    except UnknownCompany as err:
        raise not_found(f"company {company_id}") from err
    except PaymentReferenceReused as err:
        raise api_error(409, "PaymentReferenceReused", str(err)) from err
    if not created:
        response.status_code = 200
    return paid
