"""Shipping: choosing a carrier rate for a shipment, and what shipping costs the customer
at checkout (a price table by zone and speed). Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from oms.domain.fx import convert
from oms.models.carrier import Rate
from oms.models.money import ExchangeTable, ShippingOption


class NoRateAvailable(Exception):
    """No rate fits the requested shipping speed."""


def choose_rate(rates: Sequence[Rate], speed: str) -> Rate:
    """Return the cheapest rate whose ``speed`` matches ``speed``.

    When express is asked for and no rate is express, the fastest rate is taken
    instead (cheapest among equally fast ones). Ties on price go to the faster
    rate, then to the service name, so the choice is deterministic.

    Raises ``NoRateAvailable`` when nothing fits.
    """
    matching = [rate for rate in rates if rate.speed == speed]
    if matching:
        return min(matching, key=lambda r: (r.price, r.transit_days, r.service))
    if speed == "express" and rates:
        return min(rates, key=lambda r: (r.transit_days, r.price, r.service))
    offered = sorted({rate.speed for rate in rates})
    raise NoRateAvailable(f"no {speed!r} rate among {len(rates)} offered (speeds: {offered})")


# What the merchant charges a customer for shipping (not what the carrier charges the
# merchant), in the base currency, by zone and speed: (service, price, transit days).
ZONES: dict[str, frozenset[str]] = {
    "domestic": frozenset({"SE"}),
    "nordic": frozenset({"NO", "DK", "FI"}),
    "eu": frozenset(
        {"AT", "BE", "BG", "HR", "CY", "CZ", "DE", "EE", "FR", "GR", "HU", "IE", "IT", "LV"}
        | {"LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES"}
    ),
    "europe": frozenset({"GB", "CH"}),
}
SHIPPING_TABLE: dict[str, dict[str, tuple[str, Decimal, int]]] = {
    "domestic": {"standard": ("standard", Decimal(49), 2), "express": ("express", Decimal(99), 1)},
    "nordic": {"standard": ("standard", Decimal(99), 3), "express": ("express", Decimal(199), 1)},
    "eu": {"standard": ("standard", Decimal(149), 4), "express": ("express", Decimal(299), 2)},
    "europe": {"standard": ("standard", Decimal(199), 5), "express": ("express", Decimal(399), 2)},
    "world": {"standard": ("standard", Decimal(299), 7), "express": ("express", Decimal(599), 3)},
}


def zone(country: str) -> str:
    """The shipping zone of ``country`` (``world`` for any country not listed)."""
    return next((name for name, members in ZONES.items() if country in members), "world")


def shipping_options(
    country: str,
    currency: str,
    on: date,
    fx: ExchangeTable,
    *,
    carrier: str = "sandbox",
) -> list[ShippingOption]:
    """What shipping to ``country`` costs the customer in ``currency``, per speed, with the
    estimated delivery date (transit days counted from ``on``, weekends skipped).

    Raises ``oms.domain.fx.NoExchangeRate`` for a currency the table cannot convert to.
    """
    options = []
    for speed, (service, price, days) in SHIPPING_TABLE[zone(country)].items():
        options.append(
            ShippingOption(
                speed=speed,
                carrier=carrier,
                service=service,
                price=convert(price, fx.base, currency, on, fx),
                currency=currency,
                transit_days=days,
                estimated_delivery=_add_working_days(on, days),
            )
        )
    return options


def shipping_price(country: str, speed: str, currency: str, on: date, fx: ExchangeTable) -> Decimal:
    """The price of ``speed`` to ``country`` in ``currency`` (see ``shipping_options``)."""
    return next(o.price for o in shipping_options(country, currency, on, fx) if o.speed == speed)


def _add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current
