"""Invoice terms are the merchant's: an order on invoice terms is placed on its company's
``payment_terms``. A buyer's other terms used to be accepted and silently ignored (the
invoice fell due on the company's net30 though the buyer accepted a quote on net60).

The real app on a migrated SQLite store, no Temporal: the refusal comes before any
workflow is asked, and a request that gets past it answers 500 here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.models.quotes import QuoteStatus
from oms.store import credit, quotes

from app_fixtures import app_clients
from quote_fixtures import quote_view
from stack import order_body

BUYER = "buyer-C-ACME-AB"  # a member of ACME-AB


def _on_net60(session: Session) -> None:
    quotes.record_quote(session, quote_view("Q-TERMS-1", status=QuoteStatus.PROPOSED))
    acme = credit.get_company(session, "ACME-AB")
    assert acme is not None
    credit.upsert_company(session, acme.model_copy(update={"payment_terms": "net60"}))


def _refused(answer: httpx.Response, loc: list[str]) -> str:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["loc"] == loc, error
    return str(error["msg"])


async def test_accepting_a_quote_on_other_terms_than_the_companys_is_refused(
    migrated_sqlite_url: str,
) -> None:
    async with app_clients(migrated_sqlite_url, BUYER, fill=_on_net60) as clients:
        buyer = clients[BUYER]
        refused = await buyer.post(
            "/quotes/Q-TERMS-1/accept", json={"po_number": "PO-1", "payment_terms": "net30"}
        )
        # The company's own terms, or none at all, get past the check (to Temporal).
        same = await buyer.post(
            "/quotes/Q-TERMS-1/accept", json={"po_number": "PO-1", "payment_terms": "net60"}
        )
        left_out = await buyer.post("/quotes/Q-TERMS-1/accept", json={"po_number": "PO-1"})

    assert "ACME-AB buys on net60" in _refused(refused, ["body", "payment_terms"])
    assert same.status_code == left_out.status_code == 500


async def test_an_invoice_order_on_other_terms_than_the_companys_is_refused(
    migrated_sqlite_url: str,
) -> None:
    body: dict[str, Any] = order_body("B2-TERMS-1", [("TSHIRT-BLK-M", 1, "199.00")])
    body["customer"]["id"] = "C-ACME-AB"
    body["payment"] = {
        "method": "invoice",
        "po_number": "PO-1",
        "company_id": "ACME-AB",
        "terms": "net30",
    }
    async with app_clients(migrated_sqlite_url, BUYER, fill=_on_net60) as clients:
        answer = await clients[BUYER].post("/orders", json=body)

    assert "leave the field out" in _refused(answer, ["body", "payment", "terms"])


@pytest.mark.parametrize("terms", [None, "net60"])
async def test_an_invoice_order_on_the_companys_terms_gets_past_the_check(
    migrated_sqlite_url: str, terms: str | None
) -> None:
    body: dict[str, Any] = order_body("B2-TERMS-2", [("TSHIRT-BLK-M", 1, "199.00")])
    body["customer"]["id"] = "C-ACME-AB"
    body["lines"] = [{"sku": "TSHIRT-BLK-M", "quantity": 1}]  # priced by the OMS
    body["payment"] = {"method": "invoice", "po_number": "PO-1", "company_id": "ACME-AB"}
    if terms is not None:
        body["payment"]["terms"] = terms
    async with app_clients(migrated_sqlite_url, BUYER, fill=_on_net60) as clients:
        answer = await clients[BUYER].post("/orders", json=body)

    assert answer.status_code == 500, answer.text  # on to Temporal, which is not here
