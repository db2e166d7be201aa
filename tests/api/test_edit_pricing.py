"""``POST /orders/{id}/edits`` prices a new destination or speed from the OMS's own tables
(``starters.api.pricing.destination_pricing``, the rules ``POST /orders`` prices with) and
hands it to the order's ``edit`` update; the workflow re-totals with it
(tests/workflows/test_order_edit_repricing.py).

Before: the update carried no pricing, so a move from Stockholm to Berlin or New York, or
to express, kept the old shipping charge and the old country's VAT.

The real app on a migrated, seeded SQLite store; Temporal is a fake handle that keeps the
update it was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.domain.auth import Principal
from oms.domain.order_changes import repriced
from oms.models.common import Address, Customer
from oms.models.money import TaxClass
from oms.models.order_changes import EditOrder
from oms.models.orders import OrderLine, OrderLineIn, OrderView, PaymentDetails, PlaceOrder
from oms.settings import Settings
from oms.store import orders
from starters.api import order_changes
from starters.api.pricing import PricedOrder, destination_pricing, price_order

from app_fixtures import app_clients
from inventory_fixtures import order_view

D = Decimal
PLACED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SELLER = Principal(subject="dev-sales", role="sales")
TAXED, UNTAXED = "O-PRICED-1", "O-PRICED-2"
BERLIN = {
    "name": "Bo",
    "line1": "Unter den Linden 1",
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
}
NEW_YORK = {
    **BERLIN,
    "line1": "350 Fifth Avenue",
    "postal_code": "10118",
    "city": "New York",
    "country": "US",
    "region": "NY",
    "phone": "+1 212 555 0100",
}
GOTHENBURG = {**BERLIN, "postal_code": "411 04", "city": "Göteborg", "country": "SE"}


def _placed(order_id: str, taxed: bool) -> OrderView:
    view = order_view(order_id)
    view.lines = [OrderLine(sku="TSHIRT-BLK-M", quantity=2, unit_price=D("249.00"))]
    if taxed:  # placed with totals: two T-shirts to Stockholm, 49.00 shipping, 25 % VAT
        view.lines[0].tax_rate = D(25)
        view.total, view.subtotal, view.shipping = D("547.00"), D("498.00"), D("49.00")
        view.tax_treatment, view.prices_include_tax = "vat", True
    return view


class _Handle:
    """The order's workflow: keeps the update, answers the order as it was."""

    def __init__(self, sent: list[EditOrder], view: OrderView) -> None:
        self.sent, self.view = sent, view

    async def execute_update(self, _update: Any, request: EditOrder) -> OrderView:
        self.sent.append(request)
        return self.view


@pytest.fixture
async def api(
    migrated_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, list[EditOrder]]]:
    views = {TAXED: _placed(TAXED, True), UNTAXED: _placed(UNTAXED, False)}

    def fill(session: Session) -> None:
        for view in views.values():
            orders.record_order(session, view)

    sent: list[EditOrder] = []
    monkeypatch.setattr(
        type(order_changes.ORDERS), "handle", lambda _kind, _state, id_: _Handle(sent, views[id_])
    )
    async with app_clients(migrated_sqlite_url, "support", fill=fill) as clients:
        yield clients["support"], sent


async def _edit(
    api: tuple[httpx.AsyncClient, list[EditOrder]], order_id: str, **body: Any
) -> EditOrder:
    client, sent = api
    answer = await client.post(f"/orders/{order_id}/edits", json={**body, "reason": "moved"})
    assert answer.status_code == 200, answer.text
    return sent[-1]


@pytest.mark.parametrize(
    ("body", "country", "speed", "treatment", "shipping", "standard"),
    [
        ({"ship_to": BERLIN}, "DE", "standard", "vat", D("149.00"), D(19)),
        ({"ship_to": NEW_YORK}, "US", "standard", "export", D("299.00"), D(0)),
        ({"shipping_speed": "express"}, "SE", "express", "vat", D("99.00"), D(25)),
        (
            {"ship_to": BERLIN, "shipping_speed": "express"},
            "DE",
            "express",
            "vat",
            D("299.00"),
            D(19),
        ),
    ],
    ids=["SE->DE", "SE->US", "express", "DE-express"],
)
async def test_a_new_country_or_speed_is_priced_from_the_oms_tables(
    api: tuple[httpx.AsyncClient, list[EditOrder]],
    body: dict[str, Any],
    country: str,
    speed: str,
    treatment: str,
    shipping: Decimal,
    standard: Decimal,
) -> None:
    request = await _edit(api, TAXED, **body)
    pricing = request.pricing
    assert pricing is not None
    assert (pricing.country, pricing.shipping_speed, pricing.treatment) == (
        country,
        speed,
        treatment,
    )
    assert (pricing.shipping, pricing.rates["standard"]) == (shipping, standard)
    assert pricing.prices_include_tax  # a consumer
    assert pricing.tax_classes == {"TSHIRT-BLK-M": "standard"}


async def test_the_same_country_and_speed_or_an_order_without_totals_keep_their_pricing(
    api: tuple[httpx.AsyncClient, list[EditOrder]],
) -> None:
    assert (await _edit(api, TAXED, ship_to=GOTHENBURG)).pricing is None
    assert (await _edit(api, TAXED, shipping_speed="standard")).pricing is None
    assert (await _edit(api, UNTAXED, ship_to=BERLIN)).pricing is None


# A business buyer with a Swedish VAT number: reverse charge in another member state, a
# consumer (its VAT number is not Norway's) in Norway.
B2B = Customer(id="C-B2B", name="AB Berg", email="ab@example.com", vat_number="SE556036079301")
OSLO = {
    **BERLIN,
    "postal_code": "0150",
    "city": "Oslo",
    "country": "NO",
    "phone": "+47 22 00 00 00",
}


def _place(ship_to: dict[str, Any], customer: Customer, method: str = "card") -> PricedOrder:
    body = PlaceOrder(
        channel="web",
        customer=customer,
        currency="SEK",
        lines=[OrderLineIn(sku="BOOK", quantity=2), OrderLineIn(sku="TSHIRT", quantity=1)],
        ship_to=Address.model_validate(ship_to),
        payment=PaymentDetails(method=method, company_id="CO-1", po_number="PO-1")
        if method == "invoice"
        else PaymentDetails(),
    )
    catalogue: dict[str, tuple[Decimal | None, TaxClass]] = {
        "BOOK": (D("100.00"), "reduced"),
        "TSHIRT": (D("249.00"), "standard"),
    }
    return price_order(body, SELLER, catalogue, Settings(), PLACED.date())


@pytest.mark.parametrize(
    ("to", "method", "treatment", "inclusive"),
    [
        (BERLIN, "card", "reverse_charge", False),
        (OSLO, "card", "vat", True),  # prices read gross there, as placed there
        (OSLO, "invoice", "vat", False),  # invoice terms: never with VAT included
        (NEW_YORK, "card", "export", False),
    ],
    ids=["B2B SE->DE", "B2B SE->NO", "invoice SE->NO", "B2B SE->US"],
)
def test_a_business_moved_abroad_costs_what_it_costs_placed_there(
    to: dict[str, Any], method: str, treatment: str, inclusive: bool
) -> None:
    home = _place(GOTHENBURG, B2B, method)
    assert (home.totals.treatment, home.totals.prices_include_tax) == ("vat", False)
    view = order_view("O-B2B", placed_at=PLACED).model_copy(
        update={"customer": B2B, "ship_to": Address.model_validate(GOTHENBURG)}
    )
    pricing = destination_pricing(Settings(), view, to["country"], "standard", {})

    lines, totals = repriced(home.lines, home.totals, pricing, invoice=method == "invoice")

    direct = _place(to, B2B, method)
    assert (totals.treatment, totals.prices_include_tax) == (treatment, inclusive)
    assert totals == direct.totals
    assert [ln.tax_rate for ln in lines] == [ln.tax_rate for ln in direct.lines]
