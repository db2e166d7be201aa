"""What a SKU added to a placed order (an edit, an exchange) costs: its list price in the
order's currency and the VAT rate the order is taxed at (starters.api.pricing.added_price)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi import HTTPException

from oms.models.inventory import ProductIn
from oms.settings import Settings
from oms.store import inventory, prices
from oms.store.db import Database
from starters.api.pricing import added_price, gross_unit_price

from inventory_fixtures import order_view

D = Decimal


@pytest.fixture
def book(db: Database) -> str:
    with db.session() as session:
        inventory.upsert_product(
            session, "BOOK", ProductIn(name="Book", unit_price="199.00", tax_class="reduced")
        )
        prices.set_price(session, "EUR", "BOOK", D("18.50"), by="dev-admin")
    return "BOOK"


def test_an_added_line_gets_its_classes_rate_as_the_order_is_taxed(db: Database, book: str) -> None:
    settings = Settings()
    taxed = order_view("O-1").model_copy(update={"tax_treatment": "vat"})
    reverse = taxed.model_copy(update={"tax_treatment": "reverse_charge", "currency": "EUR"})
    untaxed = order_view("O-2")  # placed before the OMS computed totals
    with db.session() as session:
        # Shipped to Sweden (placed 2025): the reduced rate for books.
        assert added_price(session, settings, taxed, book, ["lines", 0, "sku"]) == (
            D("199.00"),
            D(12),
        )
        assert added_price(session, settings, reverse, book, ["lines", 0, "sku"]) == (
            D("18.50"),
            D(0),
        )
        assert added_price(session, settings, untaxed, book, ["lines", 0, "sku"]) == (
            D("199.00"),
            None,
        )
        with pytest.raises(HTTPException) as unknown:
            added_price(session, settings, taxed, "NOPE", ["exchange_for", 1, "sku"])
    assert unknown.value.status_code == 422
    assert unknown.value.detail[0]["loc"] == ["body", "exchange_for", 1, "sku"]  # type: ignore[index]
    # An exchange for a B2B order values the new book with its VAT, as the returned lines.
    assert gross_unit_price(D("199.00"), D(12), "SEK") == D("222.88")
