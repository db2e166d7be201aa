"""Price lists in the store: one price per SKU and currency, the product's own price kept
the same as its home-currency list price, and what an order is priced with."""

from __future__ import annotations

from decimal import Decimal

import pytest

from devtools.demo.catalogue import seed_demo
from oms.models.inventory import ProductIn
from oms.store import inventory, prices, quotes
from oms.store.db import Database
from oms.store.errors import UnknownSku

D = Decimal


def test_the_demo_catalogue_has_a_price_in_every_order_currency(db: Database) -> None:
    with db.session() as session:
        seed_demo(session)
        for currency in ("SEK", "EUR", "NOK", "DKK", "GBP", "USD"):
            page = prices.list_prices(session, currency)
            assert len(page.items) == 9, currency
        assert prices.get_price(session, "SEK", "CAP-NVY").unit_price == D("199.00")  # type: ignore[union-attr]
        assert prices.get_price(session, "EUR", "CAP-NVY").unit_price == D("19.95")  # type: ignore[union-attr]


def test_a_product_and_its_home_price_never_disagree(db: Database) -> None:
    with db.session() as session:
        inventory.upsert_product(session, "RACK", ProductIn(name="Rack", unit_price="1000.00"))
        assert prices.get_price(session, "SEK", "RACK").unit_price == D("1000.00")  # type: ignore[union-attr]
        prices.set_price(session, "SEK", "RACK", D("950.00"), by="dev-admin")
        assert inventory.get_product(session, "RACK").unit_price == "950.00"  # type: ignore[union-attr]
        prices.set_price(session, "EUR", "RACK", D("89.00"), by="dev-admin")
        assert inventory.get_product(session, "RACK").unit_price == "950.00"  # type: ignore[union-attr]
        inventory.upsert_product(session, "RACK", ProductIn(name="Rack", unit_price="990.00"))
        stored = prices.get_price(session, "SEK", "RACK")
        assert stored is not None and (stored.unit_price, stored.updated_by) == (
            D("990.00"),
            "catalogue",
        )
        with pytest.raises(UnknownSku):
            prices.set_price(session, "EUR", "NOPE", D(1), by="dev-admin")


def test_an_order_is_priced_in_its_currency_and_a_quote_from_its_currencys_list(
    db: Database,
) -> None:
    with db.session() as session:
        seed_demo(session)
        inventory.upsert_product(
            session, "BOOK", ProductIn(name="Book", unit_price="300.00", tax_class="reduced")
        )
        found = prices.for_order(session, "EUR", ["CAP-NVY", "BOOK", "NOPE"])
        assert found == {"CAP-NVY": (D("19.95"), "standard"), "BOOK": (None, "reduced")}
        assert quotes.list_prices(session, ["CAP-NVY", "BOOK"], "EUR") == {"CAP-NVY": D("19.95")}
        with pytest.raises(UnknownSku):
            quotes.list_prices(session, ["NOPE"], "EUR")
