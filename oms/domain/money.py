"""Order arithmetic in ``Decimal`` rounded to öre/cents, and money as customers read it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")


class PricedLine(Protocol):
    """Anything with a quantity and a unit price (order lines, shipment lines)."""

    @property
    def quantity(self) -> int: ...

    @property
    def unit_price(self) -> Decimal: ...


def quantize(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to two decimal places."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(line: PricedLine) -> Decimal:
    """Quantity times unit price, to two decimal places."""
    return quantize(Decimal(line.quantity) * Decimal(line.unit_price))


def order_total(lines: Iterable[PricedLine]) -> Decimal:
    """Sum of the line totals, to two decimal places (``0.00`` for no lines)."""
    return quantize(sum((line_total(line) for line in lines), Decimal(0)))


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """``1398`` SEK reads "1 398,00 SEK" in Swedish and "SEK 1,398.00" in English.

    Any locale other than ``sv`` uses the English form.
    """
    value = quantize(Decimal(amount))
    sign = "-" if value < 0 else ""
    grouped = f"{abs(value):,.2f}"  # "1,398.00"
    if locale == "sv":
        swedish = grouped.replace(",", " ").replace(".", ",")
        return f"{sign}{swedish} {currency}"
    return f"{sign}{currency} {grouped}"
