"""Order arithmetic in ``Decimal`` rounded to öre/cents, and money as customers read it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from oms.domain.locales import language

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


_SWAP_SEPARATORS = str.maketrans({",": ".", ".": ","})


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """``1398`` SEK reads "1 398,00 SEK" in Swedish, "1.398,00 SEK" in German and
    "SEK 1,398.00" in English; ``locale`` is a BCP 47 tag (``sv-SE``, ``de-AT``).

    A locale in a language the OMS does not write uses the English form.
    """
    value = quantize(Decimal(amount))
    sign = "-" if value < 0 else ""
    grouped = f"{abs(value):,.2f}"  # "1,398.00"
    lang = language(locale)
    if lang == "sv":
        swedish = grouped.replace(",", " ").replace(".", ",")
        return f"{sign}{swedish} {currency}"
    if lang == "de":
        german = grouped.translate(_SWAP_SEPARATORS)
        return f"{sign}{german} {currency}"
    return f"{sign}{currency} {grouped}"
