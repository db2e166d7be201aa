"""Order arithmetic and money formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.domain.money import format_money, line_total, order_total
from oms.models.orders import OrderLine


def line(quantity: int, price: str) -> OrderLine:
    return OrderLine(sku="TSHIRT", quantity=quantity, unit_price=Decimal(price))


def test_line_total_is_quantity_times_price_in_cents() -> None:
    total = line_total(line(3, "249.90"))
    assert total == Decimal("749.70")
    assert total.as_tuple().exponent == -2


def test_order_total_sums_lines() -> None:
    assert order_total([line(2, "249.00"), line(1, "899.50")]) == Decimal("1397.50")


def test_order_total_of_no_lines_is_zero_with_two_places() -> None:
    total = order_total([])
    assert total == 0
    assert str(total) == "0.00"


def test_totals_are_exact_where_floats_are_not() -> None:
    # 0.1 + 0.2 != 0.3 in floating point.
    assert order_total([line(1, "0.10"), line(1, "0.20")]) == Decimal("0.30")


@pytest.mark.parametrize(
    ("amount", "locale", "expected"),
    [
        ("1398", "sv", "1 398,00 SEK"),
        ("1398", "en", "SEK 1,398.00"),
        ("0.5", "sv", "0,50 SEK"),
        ("1234567.891", "en", "SEK 1,234,567.89"),
        ("1234567.895", "sv", "1 234 567,90 SEK"),
        ("-49", "en", "-SEK 49.00"),
        ("1234567.891", "de", "1.234.567,89 SEK"),
        ("1398", "de-AT", "1.398,00 SEK"),
        ("1398", "sv-SE", "1 398,00 SEK"),
        ("99", "nb-NO", "SEK 99.00"),  # no Norwegian yet: English
    ],
)
def test_format_money(amount: str, locale: str, expected: str) -> None:
    assert format_money(Decimal(amount), "SEK", locale) == expected
