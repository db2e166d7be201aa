"""Credit notes and refunds split into net and VAT per rate as the order was taxed, and the
invoices of an order in another currency than its company's credit: in the order's currency,
with the credit moved in the company's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from oms.models.credit import (
    Company,
    ConsumeCredit,
    CreditNoteRequest,
    ReserveCredit,
)
from oms.models.money import TaxLine
from oms.models.shipments import ShipmentLine
from oms.store import credit, invoices, refunds
from oms.store.credit import CreditLedger
from oms.store.db import Database
from oms.store.tables import OrderRow

D = Decimal
T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)


def _order(db: Database, order_id: str, currency: str, view: dict[str, Any]) -> None:
    with db.session() as session:
        session.add(
            OrderRow(
                order_id=order_id,
                status="picking",
                channel="b2b",
                customer_id="C-1",
                currency=currency,
                total=D(view["total"]),
                placed_at=T0,
                updated_at=T0,
                version=1,
                view=view,
            )
        )


@pytest.fixture
def acme(db: Database) -> str:
    with db.session() as session:
        credit.upsert_company(
            session,
            Company(company_id="ACME", name="Acme Bygg AB", credit_limit=D(100000)),
        )
    return "ACME"


def _reserve(db: Database, order_id: str, amount: str) -> None:
    with db.session() as session:
        credit.reserve(
            session,
            ReserveCredit(
                key=f"{order_id}:credit:1",
                company_id="ACME",
                order_id=order_id,
                amount=D(amount),
                currency="SEK",
            ),
        )


# A B2B order in SEK: 2 racks at 1000.00 (25%) and 2 books at 199.00 (12%), shipping 49.00.
SEK_VIEW = {
    "subtotal": "2398.00",
    "total": "2960.01",
    "tax_total": "562.01",
    "lines": [
        {"sku": "RACK", "quantity": 2, "unit_price": "1000.00", "tax_rate": "25"},
        {"sku": "BOOK", "quantity": 2, "unit_price": "199.00", "tax_rate": "12"},
    ],
    "tax": [
        {"rate": "25", "net": "2049.00", "tax": "512.25"},
        {"rate": "12", "net": "398.00", "tax": "47.76"},
    ],
}


def test_a_returned_lines_credit_note_carries_that_lines_rate(db: Database, acme: str) -> None:
    _order(db, "O-1", "SEK", SEK_VIEW)
    _reserve(db, "O-1", "2960.01")
    with db.session() as session:
        credit.consume(
            session,
            ConsumeCredit(
                key="O-1-S1:invoice", order_id="O-1", shipment_id="O-1-S1", amount=D("2960.01")
            ),
        )
    ledger = CreditLedger(db)
    request = CreditNoteRequest(
        key="RMA-1:refund:BOOK", order_id="O-1", amount=D("222.88"), reason="r", sku="BOOK"
    )
    issued = ledger.credit_note(request)
    assert ledger.credit_note(request) == issued  # once per key
    with db.session() as session:
        note = invoices.for_order(session, "O-1").items[-1]
        status = credit.status(session, "ACME")
    # One book's 199.00 + 12%: 222.88, of which 23.88 VAT.
    assert note.tax_lines == [TaxLine(rate=D(12), net=D("199.00"), tax=D("23.88"))]
    assert (note.net, note.tax, note.total) == (D("199.00"), D("23.88"), D("222.88"))
    assert [(li.sku, li.amount) for li in note.lines] == [("BOOK", D("199.00"))]
    assert (issued.number, issued.amount, issued.currency) == (note.number, D("222.88"), "SEK")
    assert status.credited == D("222.88")


def test_a_returns_credit_note_line_shows_the_units_it_credits(db: Database, acme: str) -> None:
    """Two books returned: the note's line is 2 x the net unit price, as the invoice's line
    is, so the buyer's accounts payable can match it (it read 1 x the whole amount)."""
    _order(db, "O-1", "SEK", SEK_VIEW)
    _reserve(db, "O-1", "2960.01")
    with db.session() as session:
        credit.consume(
            session,
            ConsumeCredit(
                key="O-1-S1:invoice", order_id="O-1", shipment_id="O-1-S1", amount=D("2960.01")
            ),
        )
    request = CreditNoteRequest(
        key="RMA-1:refund:BOOK",
        order_id="O-1",
        amount=D("445.76"),
        reason="r",
        sku="BOOK",
        quantity=2,
    )
    CreditLedger(db).credit_note(request)
    with db.session() as session:
        note = invoices.for_order(session, "O-1").items[-1]
    assert [(li.sku, li.quantity, li.unit_price, li.amount) for li in note.lines] == [
        ("BOOK", 2, D("199.00"), D("398.00"))
    ]
    assert (note.net, note.total) == (D("398.00"), D("445.76"))
    # A request of a run from before (no quantity) dumps as it did.
    assert "quantity" not in request.model_copy(update={"quantity": None}).model_dump()


def test_a_refund_without_a_return_is_split_over_the_orders_rates(db: Database, acme: str) -> None:
    _order(db, "O-1", "SEK", SEK_VIEW)
    _reserve(db, "O-1", "2960.01")
    with db.session() as session:
        credit.consume(
            session,
            ConsumeCredit(
                key="O-1-S1:invoice", order_id="O-1", shipment_id="O-1-S1", amount=D("2960.01")
            ),
        )
    with db.session() as session:
        note = credit.credit_note(session, "O-1", "k-1", D("296.00"), "late delivery")
    assert sum((t.net + t.tax for t in note.tax_lines), D(0)) == D("296.00")
    assert [t.rate for t in note.tax_lines] == [D(25), D(12)]
    assert note.tax == sum((t.tax for t in note.tax_lines), D(0))
    assert note.net + note.tax == note.total == D("296.00")


def test_a_refunds_row_keeps_its_net_and_vat(db: Database) -> None:
    split = [TaxLine(rate=D(25), net=D("80.00"), tax=D("20.00"))]
    with db.session() as session:
        claimed = refunds.claim(session, "O-1", "k", D("100.00"), "SEK", "late", "s", T0, split)
    with db.session() as session:
        (stored,) = refunds.for_order(session, "O-1")
        bare = refunds.claim(session, "O-2", "k", D("100.00"), "SEK", "late", "s", T0)
    assert claimed.tax == stored.tax == split and stored.net == D("80.00")
    assert bare.tax == [] and bare.net is None


def test_a_eur_orders_invoices_are_in_euros_and_its_credit_moves_in_kronor(
    db: Database, acme: str
) -> None:
    # 100.00 EUR + 25% Swedish VAT... to a German business reverse charged: no VAT.
    view = {
        "total": "200.00",
        "tax_total": "0.00",
        "lines": [{"sku": "RACK", "quantity": 2, "unit_price": "100.00", "tax_rate": "0"}],
        "tax": [{"rate": "0", "net": "200.00", "tax": "0.00"}],
    }
    _order(db, "O-EU", "EUR", view)
    _reserve(db, "O-EU", "2300.00")  # 200 EUR at 11.50 SEK
    with db.session() as session:
        credit.consume(
            session,
            ConsumeCredit(
                key="O-EU-S1:invoice",
                order_id="O-EU",
                shipment_id="O-EU-S1",
                amount=D("2300.00"),
                lines=[ShipmentLine(sku="RACK", quantity=2, unit_price=D("100.00"))],
                charged=D("200.00"),
                currency="EUR",
            ),
        )
    with db.session() as session:
        (invoice,) = invoices.for_order(session, "O-EU").items
        status = credit.status(session, "ACME")
    assert (invoice.currency, invoice.net, invoice.tax, invoice.total) == (
        "EUR",
        D("200.00"),
        D("0.00"),
        D("200.00"),
    )
    assert [(li.sku, li.amount) for li in invoice.lines] == [("RACK", D("200.00"))]
    # The credit itself is kept in kronor.
    assert (status.consumed, status.available) == (D("2300.00"), D("97700.00"))

    with db.session() as session:
        note = credit.credit_note(session, "O-EU", "k-1", D("50.00"), "one damaged")
        after = credit.status(session, "ACME")
    assert (note.currency, note.total) == ("EUR", D("50.00"))
    # A quarter of what was invoiced: a quarter of the kronor it consumed.
    assert (after.credited, after.available) == (D("575.00"), D("98275.00"))
