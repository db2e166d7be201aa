"""Currencies: ISO 4217 minor units, conversion with dated exchange rates, and what
shipping costs a customer at checkout in each currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from oms.domain.fx import NoExchangeRate, convert, rate
from oms.domain.money import minor_unit, round_money
from oms.domain.shipping import checkout_zone, shipping_options
from oms.models.money import ExchangeRates, ExchangeTable
from oms.rules import load_exchange_rates

D = Decimal
TABLE = ExchangeTable(
    base="SEK",
    rates=[
        ExchangeRates(valid_from=date(2026, 1, 1), per_unit={"EUR": D("11.00"), "JPY": D("0.07")}),
        ExchangeRates(valid_from=date(2026, 7, 1), per_unit={"EUR": D("10.00"), "NOK": D("1.00")}),
    ],
)


def test_minor_units_follow_iso_4217() -> None:
    assert (minor_unit("SEK"), minor_unit("EUR"), minor_unit("JPY"), minor_unit("KWD")) == (
        2,
        2,
        0,
        3,
    )
    assert round_money(D("1234.565"), "SEK") == D("1234.57")
    assert str(round_money(D("1234.5"), "JPY")) == "1235"
    assert str(round_money(D("1.2345"), "KWD")) == "1.235"


def test_conversion_uses_the_rate_valid_on_the_day() -> None:
    assert convert(D("100.00"), "EUR", "SEK", date(2026, 6, 30), TABLE) == D("1100.00")
    assert convert(D("100.00"), "EUR", "SEK", date(2026, 7, 1), TABLE) == D("1000.00")
    with pytest.raises(NoExchangeRate):
        convert(D(1), "EUR", "SEK", date(2025, 12, 31), TABLE)


def test_cross_rates_go_through_the_table_base_and_round_to_the_target() -> None:
    # 10 EUR = 100 SEK = 100 NOK on 1 July.
    assert rate(TABLE, "EUR", "NOK", date(2026, 7, 2)) == D(10)
    assert convert(D("10.00"), "EUR", "NOK", date(2026, 7, 2), TABLE) == D("100.00")
    # A rate older than the newest row still answers when the newest does not list it.
    assert str(convert(D("10.00"), "SEK", "JPY", date(2026, 8, 1), TABLE)) == "143"
    assert convert(D("5.00"), "SEK", "SEK", date(2000, 1, 1), TABLE) == D("5.00")


def test_the_bundled_table_converts_every_order_currency() -> None:
    table = load_exchange_rates()
    for currency in ("SEK", "EUR", "NOK", "DKK", "GBP", "USD"):
        assert convert(D("100.00"), currency, "SEK", date(2026, 12, 6), table) > 0


def test_shipping_options_by_zone_with_prices_in_the_order_currency() -> None:
    assert tuple(map(checkout_zone, ("SE", "NO", "DE", "GB", "US"))) == (
        "domestic",
        "nordic",
        "eu",
        "europe",
        "world",
    )
    friday = date(2026, 7, 3)
    options = shipping_options("DE", "EUR", friday, TABLE)
    assert [(o.speed, o.price, o.currency, o.transit_days) for o in options] == [
        ("standard", D("14.90"), "EUR", 4),
        ("express", D("29.90"), "EUR", 2),
    ]
    # Transit days are working days: from a Friday, 2 days is Tuesday.
    assert options[1].estimated_delivery == date(2026, 7, 7)
    sek = shipping_options("SE", "SEK", friday, TABLE)
    assert [o.price for o in sek] == [D("49.00"), D("99.00")]
