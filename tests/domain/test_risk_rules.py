"""Risk rules: which orders are held for review before allocation, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.domain.returns import replacement_order
from oms.domain.risk import order_origin, review
from oms.models.common import Address, Customer
from oms.models.orders import OrderInput, OrderLine, PaymentDetails
from oms.models.returns import ReturnInput
from oms.models.risk import CustomerOrders, RiskCheck, RiskRules
from oms.rules import load_risk_rules

RULES = RiskRules(
    first_order_max_total={"SEK": Decimal("10000")},
    billing_country_must_match=True,
    max_orders_per_hour=3,
)
REGULAR = CustomerOrders(earlier=4, last_hour=1)


def _check(total: str = "500.00", bill: str | None = None, currency: str = "SEK") -> RiskCheck:
    return RiskCheck(
        order_id="O-1",
        customer_id="C-1",
        currency=currency,
        total=Decimal(total),
        ship_country="SE",
        bill_country=bill,
        placed_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


CUSTOMER = Customer(id="C-1", name="Anna", email="anna@example.com")
ADDRESS = Address(
    name="Anna", line1="Gatan 1", postal_code="111 22", city="Stockholm", country="SE"
)
AT = datetime(2026, 12, 1, tzinfo=UTC)


def _order(channel: str = "web") -> OrderInput:
    line = OrderLine(sku="TSHIRT", quantity=1, unit_price=Decimal("199.00"))
    return OrderInput(
        order_id="O-1",
        channel=channel,
        customer=CUSTOMER,
        currency="SEK",
        lines=[line],
        ship_to=ADDRESS,
        placed_at=AT,
    )


def _return() -> ReturnInput:
    return ReturnInput(
        rma_id="RMA-1",
        order_id="O-1",
        customer=CUSTOMER,
        currency="SEK",
        ship_to=ADDRESS,
        lines=[],
        resolution="exchange",
        requested_at=AT,
    )


def test_an_ordinary_order_passes() -> None:
    assert review(_check(bill="SE"), REGULAR, RULES) == []


def test_a_large_first_order_is_held_but_not_a_regular_customers() -> None:
    first = CustomerOrders(earlier=0, last_hour=1)
    assert review(_check("10000.01"), first, RULES) == [
        "first order of C-1 totals 10000.01 SEK, above 10000"
    ]
    assert review(_check("10000.00"), first, RULES) == []  # the threshold itself passes
    assert review(_check("10000.01"), REGULAR, RULES) == []
    assert review(_check("10000.01", currency="EUR"), first, RULES) == []  # no EUR limit


def test_billing_country_counts_only_when_a_billing_address_is_given() -> None:
    assert review(_check(bill="NO"), REGULAR, RULES) == [
        "billing country NO differs from shipping country SE"
    ]
    assert review(_check(bill=None), REGULAR, RULES) == []
    relaxed = RULES.model_copy(update={"billing_country_must_match": False})
    assert review(_check(bill="NO"), REGULAR, relaxed) == []


def test_more_orders_in_an_hour_than_allowed_is_held_and_every_finding_is_named() -> None:
    busy = CustomerOrders(earlier=0, last_hour=4)
    assert review(_check("20000", bill="DK"), busy, RULES) == [
        "first order of C-1 totals 20000 SEK, above 10000",
        "billing country DK differs from shipping country SE",
        "4 orders from C-1 within an hour, above 3",
    ]
    assert review(_check(), CustomerOrders(earlier=2, last_hour=3), RULES) == []


def test_the_bundled_rules_file_loads() -> None:
    rules = load_risk_rules()
    assert rules.max_orders_per_hour == 5
    assert rules.first_order_max_total["SEK"] == Decimal("20000")


def test_who_placed_an_order_is_what_the_oms_set_never_the_channel() -> None:
    placed = _order(channel="exchange")  # a shop may name its channel anything
    assert order_origin(placed) == "customer"
    assert order_origin(placed.model_copy(update={"origin": "renewal"})) == "renewal"
    # Inputs from before ``origin``: what only the OMS could have set tells.
    exchange = placed.model_copy(update={"payment": PaymentDetails(method="exchange")})
    assert order_origin(exchange) == "replacement"
    assert order_origin(placed.model_copy(update={"authorization_id": "AUTH-1"})) == "renewal"
    assert replacement_order(_return(), "RMA-1-X", placed.lines, placed.placed_at).origin == (
        "replacement"
    )
