"""B2B invoices in the store: one per shipment with its consumed credit, payments once per
reference that restore credit, credit notes bounded by what was invoiced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from oms.models.credit import Company, ConsumeCredit, RecordPayment, ReserveCredit
from oms.models.shipments import ShipmentLine
from oms.store import credit, invoices
from oms.store.db import Database
from oms.store.errors import CreditNoteRefused, PaymentReferenceReused, UnknownCompany
from oms.store.tables import InvoiceRow, OrderRow


@pytest.fixture
def acme(db: Database) -> str:
    with db.session() as session:
        credit.upsert_company(
            session,
            Company(
                company_id="ACME",
                name="Acme Bygg AB",
                credit_limit=Decimal(10000),
                payment_terms="net60",
            ),
        )
        credit.reserve(
            session,
            ReserveCredit(
                key="O-1:credit:1",
                company_id="ACME",
                order_id="O-1",
                amount=Decimal("3000.00"),
                currency="SEK",
            ),
        )
    return "ACME"


def consume(db: Database, shipment_id: str, amount: str = "1000.00") -> None:
    lines = [ShipmentLine(sku="BOLT", quantity=4, unit_price=Decimal(amount) / 4)]
    with db.session() as session:
        credit.consume(
            session,
            ConsumeCredit(
                key=f"{shipment_id}:invoice",
                order_id="O-1",
                shipment_id=shipment_id,
                amount=Decimal(amount),
                lines=lines,
            ),
        )


def test_each_shipment_gets_one_invoice_however_often_its_credit_is_consumed(
    db: Database, acme: str
) -> None:
    consume(db, "O-1-S1")
    consume(db, "O-1-S1")  # a retried activity
    consume(db, "O-1-S2", "2000.00")

    with db.session() as session:
        page = invoices.for_order(session, "O-1")
    first, second = page.items
    assert [i.shipment_id for i in page.items] == ["O-1-S1", "O-1-S2"]
    assert first.number != second.number and first.number.startswith("INV-")
    assert first.kind == "invoice" and first.company_id == "ACME" and first.currency == "SEK"
    assert [(li.sku, li.quantity, li.amount) for li in first.lines] == [
        ("BOLT", 4, Decimal("1000.00"))
    ]
    assert (first.net, first.tax, first.total) == (
        Decimal("1000.00"),
        Decimal("0.00"),
        Decimal("1000.00"),
    )
    # net60: due 60 days after issue.
    assert first.due_date == (first.issued_at + timedelta(days=60)).date()


def test_an_invoice_carries_its_share_of_the_tax_the_order_records(db: Database, acme: str) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        session.add(
            OrderRow(
                order_id="O-1",
                status="picking",
                channel="b2b",
                customer_id="C-1",
                currency="SEK",
                total=Decimal("3750.00"),
                placed_at=now,
                updated_at=now,
                version=1,
                view={"subtotal": "3000.00", "tax_total": "750.00", "total": "3750.00"},
            )
        )
    consume(db, "O-1-S1", "1250.00")  # the parcel's charge, VAT included

    with db.session() as session:
        (invoice,) = invoices.for_order(session, "O-1").items
    assert (invoice.net, invoice.tax, invoice.total) == (
        Decimal("1000.00"),
        Decimal("250.00"),
        Decimal("1250.00"),
    )


def _order_row(view: dict[str, object]) -> OrderRow:
    now = datetime.now(UTC)
    return OrderRow(
        order_id="O-1",
        status="picking",
        channel="b2b",
        customer_id="C-1",
        currency="SEK",
        total=Decimal("3000.00"),
        placed_at=now,
        updated_at=now,
        version=1,
        view=view,
    )


def test_invoices_and_credit_notes_carry_the_buyers_po_number(db: Database, acme: str) -> None:
    paid = {"method": "invoice", "po_number": "PO-4711", "company_id": "ACME", "terms": "net60"}
    with db.session() as session:
        session.add(_order_row({"payment": paid}))
    consume(db, "O-1-S1")
    with db.session() as session:
        note = credit.credit_note(session, "O-1", "refund-1", Decimal("400.00"), "damaged")
        # The order's view changing later does not change what was issued.
        row = session.get(OrderRow, "O-1")
        assert row is not None
        row.view = {"payment": {**paid, "po_number": "PO-CHANGED"}}

    with db.session() as session:
        invoice, credit_note = invoices.for_order(session, "O-1").items
    assert (invoice.kind, invoice.po_number) == ("invoice", "PO-4711")
    assert (credit_note.kind, credit_note.po_number) == ("credit_note", "PO-4711")
    assert note.po_number == "PO-4711"


def test_an_invoice_issued_before_the_po_number_shows_the_orders(db: Database, acme: str) -> None:
    consume(db, "O-1-S1")  # the order's stored view did not show it yet
    with db.session() as session:
        (invoice,) = invoices.for_order(session, "O-1").items
        assert invoice.po_number is None
        session.add(_order_row({"payment": {"method": "invoice", "po_number": "PO-4711"}}))

    with db.session() as session:
        (invoice,) = invoices.for_order(session, "O-1").items
    assert invoice.po_number == "PO-4711"


def test_a_payment_restores_credit_once_per_reference(db: Database, acme: str) -> None:
    consume(db, "O-1-S1")
    with db.session() as session:
        before = credit.status(session, "ACME")
    body = RecordPayment(amount=Decimal("600.00"), reference="BANK-2026-001")

    with db.session() as session:
        paid, created = credit.record_payment(session, "ACME", body, "finance-1")
    with db.session() as session:
        again, created_again = credit.record_payment(session, "ACME", body, "finance-1")

    assert created and not created_again
    assert paid.credit.available == before.available + Decimal("600.00")
    assert again.credit.available == paid.credit.available
    assert (paid.credit.paid, paid.amount, paid.recorded_by) == (
        Decimal("600.00"),
        Decimal("600.00"),
        "finance-1",
    )
    with db.session() as session, pytest.raises(PaymentReferenceReused):
        credit.record_payment(
            session, "ACME", RecordPayment(amount=Decimal(1), reference="BANK-2026-001"), "x"
        )
    with db.session() as session, pytest.raises(UnknownCompany):
        credit.record_payment(session, "NOBODY", body, "x")


def test_a_credit_note_gives_back_credit_and_never_exceeds_what_was_invoiced(
    db: Database, acme: str
) -> None:
    consume(db, "O-1-S1")
    with db.session() as session:
        before = credit.status(session, "ACME").available

    with db.session() as session:
        note = credit.credit_note(session, "O-1", "refund-1", Decimal("400.00"), "damaged")
    with db.session() as session:
        same = credit.credit_note(session, "O-1", "refund-1", Decimal("400.00"), "damaged")
        after = credit.status(session, "ACME")

    assert note == same and note.kind == "credit_note" and note.number.startswith("CN-")
    assert (note.total, note.reason) == (Decimal("400.00"), "damaged")
    assert after.available == before + Decimal("400.00") and after.credited == Decimal("400.00")
    with db.session() as session, pytest.raises(CreditNoteRefused):
        credit.credit_note(session, "O-1", "refund-2", Decimal("600.01"), "too much")
    with db.session() as session:
        kinds = session.execute(
            select(InvoiceRow.kind, func.count())
            .group_by(InvoiceRow.kind)
            .order_by(InvoiceRow.kind)
        ).all()
    assert [tuple(k) for k in kinds] == [("credit_note", 1), ("invoice", 1)]
