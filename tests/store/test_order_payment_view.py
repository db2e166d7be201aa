"""How an order is paid, on its view and so in its ``order.*`` events: the buyer's PO
number of an invoice-term order (their accounts payable match by it), never a card token."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from oms.models.common import Address, Customer, HistoryEntry
from oms.models.orders import OrderInput, OrderLine, PaymentDetails
from oms.store.db import Database
from oms.store.orders import record_order
from oms.store.tables import EventRow
from oms.views.orders import received

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _order(order_id: str, payment: PaymentDetails) -> OrderInput:
    return OrderInput(
        order_id=order_id,
        channel="b2b",
        customer=Customer(id="C-1", name="Anna", email="anna@example.com", locale="sv"),
        currency="SEK",
        lines=[OrderLine(sku="RACK", quantity=1, unit_price=Decimal("1000.00"))],
        ship_to=Address(
            name="Anna", line1="Storgatan 1", postal_code="111 22", city="Stockholm", country="SE"
        ),
        payment=payment,
        placed_at=NOW,
    )


def _recorded_event(db: Database, inp: OrderInput) -> dict[str, Any]:
    view = received(inp)
    view.history.append(HistoryEntry(at=NOW, status="received", note="Order received"))
    with db.session() as session:
        assert record_order(session, view)
    with db.session() as session:
        payload: dict[str, Any] = session.scalars(
            select(EventRow.payload).where(EventRow.object_id == inp.order_id)
        ).one()
    assert payload["type"] == "order.received"
    return payload["data"]


def test_an_invoice_orders_view_and_events_carry_its_po_number(db: Database) -> None:
    paid = PaymentDetails(method="invoice", po_number="PO-4711", company_id="ACME", terms="net30")
    data = _recorded_event(db, _order("B2-1", paid))

    assert data["payment"] == {
        "method": "invoice",
        "po_number": "PO-4711",
        "company_id": "ACME",
        "terms": "net30",
    }


def test_a_card_orders_view_shows_the_method_and_no_token(db: Database) -> None:
    data = _recorded_event(db, _order("W-1", PaymentDetails(token="tok_secret")))

    assert data["payment"]["method"] == "card"
    assert data["payment"]["po_number"] is None
    assert "tok_secret" not in str(data)
