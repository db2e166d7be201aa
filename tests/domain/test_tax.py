"""VAT by destination and an order's totals (oms.domain.tax): each rule, both roundings,
prices with and without tax."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from oms.domain.tax import (
    NoVatRate,
    order_totals,
    parcel_charge,
    rate,
    shipping_gross,
    treatment,
    valid_vat_number,
)
from oms.models.money import TaxableLine, VatTable
from oms.rules import load_vat_rates

TODAY = date(2026, 12, 6)
D = Decimal


@pytest.fixture(scope="module")
def table() -> VatTable:
    return load_vat_rates()


def lines(*specs: tuple[str, int, str, str]) -> list[TaxableLine]:
    return [
        TaxableLine(sku=sku, quantity=q, unit_price=D(p), tax_class=cls)  # type: ignore[arg-type]
        for sku, q, p, cls in specs
    ]


def test_an_eu_consumer_pays_their_own_countrys_standard_rate_included_in_the_price(
    table: VatTable,
) -> None:
    totals = order_totals(
        lines(("TSHIRT", 2, "24.95", "standard")),
        D("13.55"),
        currency="EUR",
        country="DE",
        on=TODAY,
        table=table,
    )
    assert totals.treatment == "vat" and totals.prices_include_tax
    # 49.90 gross at 19%: 7.97 tax; shipping 13.55 gross: 2.16 tax.
    assert [(t.rate, t.net, t.tax) for t in totals.tax] == [(D(19), D("53.32"), D("10.13"))]
    assert (totals.subtotal, totals.shipping, totals.total) == (D("49.90"), D("13.55"), D("63.45"))
    assert totals.total == totals.subtotal + totals.shipping


def test_reduced_rate_per_tax_class_beside_the_standard_rate(table: VatTable) -> None:
    totals = order_totals(
        lines(("BOOK", 1, "10.70", "reduced"), ("CAP", 1, "11.90", "standard")),
        D(0),
        currency="EUR",
        country="DE",
        on=TODAY,
        table=table,
    )
    assert [(t.rate, t.tax) for t in totals.tax] == [(D(19), D("1.90")), (D(7), D("0.70"))]
    assert totals.tax_total == D("2.60") and totals.total == D("22.60")


def test_rates_change_on_their_valid_from_date(table: VatTable) -> None:
    assert rate(table, "DE", "standard", date(2020, 6, 30)) == D(19)
    assert rate(table, "DE", "standard", date(2020, 7, 1)) == D(16)
    assert rate(table, "DE", "standard", date(2021, 1, 1)) == D(19)
    assert rate(table, "FI", "standard", date(2024, 8, 31)) == D(24)
    assert rate(table, "FI", "standard", date(2024, 9, 1)) == D("25.5")
    with pytest.raises(NoVatRate):
        rate(table, "DE", "standard", date(1990, 1, 1))


def test_b2b_prices_exclude_tax_and_the_total_adds_it(table: VatTable) -> None:
    totals = order_totals(
        lines(("RACK", 3, "1000.00", "standard")),
        D("149.00"),
        currency="SEK",
        country="SE",
        on=TODAY,
        table=table,
        prices_include_tax=False,
    )
    assert (totals.subtotal, totals.shipping, totals.tax_total) == (
        D("3000.00"),
        D("149.00"),
        D("787.25"),
    )
    assert totals.total == totals.subtotal + totals.shipping + totals.tax_total == D("3936.25")


def test_an_eu_business_in_another_member_state_is_reverse_charged(table: VatTable) -> None:
    totals = order_totals(
        lines(("RACK", 1, "100.00", "standard")),
        D(0),
        currency="EUR",
        country="DE",
        on=TODAY,
        table=table,
        vat_number="DE136695976",
        prices_include_tax=False,
    )
    assert totals.treatment == "reverse_charge"
    assert totals.tax_total == D(0) and totals.total == D("100.00")


def test_a_malformed_vat_number_is_taxed_as_a_consumer(table: VatTable) -> None:
    assert not valid_vat_number("DE123", "DE")
    assert not valid_vat_number(None, "DE")
    assert treatment(table, "SE", "DE", "DE123") == "vat"


def test_a_business_in_the_merchants_own_country_pays_domestic_vat(table: VatTable) -> None:
    assert valid_vat_number("SE556703748501", "SE")
    assert treatment(table, "SE", "SE", "SE556703748501") == "vat"


def test_norway_the_uk_and_switzerland_charge_their_own_rates_to_consumers(
    table: VatTable,
) -> None:
    def tax_of(country: str, currency: str) -> Decimal:
        totals = order_totals(
            lines(("X", 1, "100.00", "standard")),
            D(0),
            currency=currency,
            country=country,
            on=TODAY,
            table=table,
            prices_include_tax=False,
        )
        return totals.tax_total

    assert (tax_of("NO", "NOK"), tax_of("GB", "GBP"), tax_of("CH", "EUR")) == (
        D("25.00"),
        D("20.00"),
        D("8.10"),
    )
    assert treatment(table, "SE", "NO", "NO974760673MVA") == "export"


def test_outside_those_countries_an_order_is_a_zero_rated_export(table: VatTable) -> None:
    totals = order_totals(
        lines(("X", 2, "10.00", "standard")),
        D("29.90"),
        currency="USD",
        country="US",
        on=TODAY,
        table=table,
    )
    assert totals.treatment == "export"
    assert totals.tax_total == D(0) and totals.total == D("49.90")


def test_rounding_per_line_and_per_total_differ_by_the_cent_each_line_rounds(
    table: VatTable,
) -> None:
    cheap = lines(("A", 1, "0.05", "standard"), ("B", 1, "0.05", "standard"))
    cheap += lines(("C", 1, "0.05", "standard"))

    def tax_total(rounding: str) -> Decimal:
        return order_totals(
            cheap,
            D(0),
            currency="SEK",
            country="SE",
            on=TODAY,
            table=table,
            prices_include_tax=False,
            rounding=rounding,  # type: ignore[arg-type]
        ).tax_total

    # 0.0125 per line: 0.01 each, 0.03 in all; 0.0375 on the whole: 0.04.
    assert (tax_total("line"), tax_total("total")) == (D("0.03"), D("0.04"))


def test_inclusive_line_tax_is_rounded_to_the_ore_and_net_plus_tax_is_the_price(
    table: VatTable,
) -> None:
    totals = order_totals(
        lines(("TSHIRT", 3, "249.00", "standard"), ("CAP", 1, "199.00", "standard")),
        D("49.00"),
        currency="SEK",
        country="SE",
        on=TODAY,
        table=table,
    )
    for line in totals.lines:
        assert line.net + line.tax == line.gross == line.quantity * line.unit_price
        assert line.tax.as_tuple().exponent == -2
    assert [line.tax for line in totals.lines] == [D("149.40"), D("39.80")]
    assert totals.total == D("995.00")  # 747 + 199 + 49 shipping, tax included


def test_amounts_round_to_the_currencys_minor_unit(table: VatTable) -> None:
    totals = order_totals(
        lines(("X", 1, "1001", "standard")),
        D(0),
        currency="JPY",
        country="DE",
        on=TODAY,
        table=table,
    )
    assert totals.tax_total == D(160) and str(totals.tax_total) == "160"


def test_parcels_charge_their_lines_and_the_first_one_the_shipping(table: VatTable) -> None:
    totals = order_totals(
        lines(("A", 2, "100.00", "standard"), ("B", 1, "50.00", "reduced")),
        D("49.00"),
        currency="SEK",
        country="SE",
        on=TODAY,
        table=table,
        prices_include_tax=False,
    )
    from oms.models.shipments import ShipmentLine

    rated = {line.sku: line.rate for line in totals.lines}

    def parcel(sku: str, quantity: int, price: str) -> ShipmentLine:
        return ShipmentLine(sku=sku, quantity=quantity, unit_price=D(price), tax_rate=rated[sku])

    first = parcel_charge(
        [parcel("A", 2, "100.00")],
        currency="SEK",
        prices_include_tax=False,
        shipping=shipping_gross(totals),
    )
    second = parcel_charge([parcel("B", 1, "50.00")], currency="SEK", prices_include_tax=False)
    assert (first, second) == (D("311.25"), D("56.00"))
    assert first + second == totals.total
