"""Order arithmetic in ``Decimal`` rounded to öre/cents, and money as customers read it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from oms.domain.locales import language

CENT = Decimal("0.01")

# ISO 4217 minor units of the currencies the OMS prices in and converts (digits after the
# point); a currency not listed has two, as most do.
MINOR_UNITS: dict[str, int] = {
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "USD": 2,
    "CHF": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "JPY": 0,
    "ISK": 0,
    "KRW": 0,
    "KWD": 3,
    "BHD": 3,
}


class PricedLine(Protocol):
    """Anything with a quantity and a unit price (order lines, shipment lines)."""

    @property
    def quantity(self) -> int: ...

    @property
    def unit_price(self) -> Decimal: ...


def quantize(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to two decimal places."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def minor_unit(currency: str) -> int:
    """Digits after the point in ``currency`` (ISO 4217: JPY 0, SEK and EUR 2, KWD 3)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to ``currency``'s minor unit (JPY 1 235, SEK 1 234.57)."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-minor_unit(currency)), ROUND_HALF_UP)


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
