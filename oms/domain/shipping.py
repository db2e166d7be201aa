"""Shipping: choosing a carrier rate for a shipment, which carrier refusals hold a parcel
for a person, where a parcel may go (zones, customs, address rules), and what shipping
costs the customer at checkout (a price table by zone and speed). Pure rules, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

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


# --- where a parcel may go ------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """Why a carrier refusal holds a parcel for a person, and what that person does.

    ``note`` opens the shipment's history line (``held`` status, and so its ``last_error``
    in ``/ops/stuck``), ``problem`` the operations alert; ``remedy`` is what to do, with
    ``{order_id}`` and ``{shipment_id}`` to fill in; ``key`` ends the alert's outbox key.
    """

    key: str
    note: str
    problem: str
    remedy: str

    def advice(self, order_id: str, shipment_id: str) -> str:
        """What ``/ops/stuck`` suggests for shipment ``shipment_id`` of order ``order_id``
        held for this."""
        return f"{self.note}: {self.remedy.format(order_id=order_id, shipment_id=shipment_id)}."


_CANCEL_AND_PLACE = "cancel the order (POST /ops/orders/{order_id}/cancel) and place it again"
# Refusals a person resolves: the shipment is held, not failed; a corrected address (for a
# refused one) or a cancel ends it.
ADDRESS_REFUSED = Hold(
    "address_refused",
    "Carrier refused the address",
    "The carrier refused the address of",
    "get the right address from the customer, then correct it "
    "(POST /shipments/{shipment_id}/address, same country: the parcel is labelled again and "
    "ships), or " + _CANCEL_AND_PLACE + " to the corrected address",
)
# The carrier refused the address because it ships nowhere in its country: a correction
# must stay in that country (the order was priced for it), so none helps. Same history
# note as a refused address (what the carrier said tells them apart, :func:`held_for`).
COUNTRY_UNSERVED = Hold(
    "address_refused",
    ADDRESS_REFUSED.note,
    "The carrier does not serve the destination country of",
    "the carrier does not serve that country, and a corrected address must stay in it, so "
    "no correction ships: cancel the order (POST /ops/orders/{order_id}/cancel) and tell "
    "the customer",
)
CUSTOMS_MISSING = Hold(
    "customs_missing",
    "Customs data missing",
    "Customs data is missing for",
    "add the HS code and country of origin to each product named (PUT /products/{{sku}}), "
    "then " + _CANCEL_AND_PLACE,
)
_HELD_FOR = {"InvalidAddress": ADDRESS_REFUSED, "CustomsDataMissing": CUSTOMS_MISSING}


def unserved(country: str) -> str:
    """The reason the carrier gives for an address in a country it does not serve."""
    return f"country {country} is not served"


_UNSERVED = re.compile(r"\bcountry [A-Z]{2} is not served\b")


def _refined(hold: Hold, message: str) -> Hold:
    """A refused address the carrier refused for its country alone is :data:`COUNTRY_UNSERVED`."""
    return COUNTRY_UNSERVED if hold is ADDRESS_REFUSED and _UNSERVED.search(message) else hold


def held_for(error_type: str | None, message: str) -> tuple[str, Hold] | None:
    """(history note, hold) for a carrier refusal of ``error_type`` that holds the
    shipment, None for a refusal that fails it."""
    hold = _HELD_FOR.get(error_type or "")
    if hold is None:
        return None
    return f"{hold.note}: {message}", _refined(hold, message)


def hold_noted(note: str) -> Hold | None:
    """The hold a held shipment's history note (see :func:`held_for`) is about, None for a
    note of neither (a shipment held by code that wrote something else)."""
    for hold in _HELD_FOR.values():
        if note.startswith(f"{hold.note}:"):
            return _refined(hold, note)
    return None


def _codes(text: str) -> list[str]:
    return re.findall(r"[A-Z]{2}", text)


# The EU's 27 members: one customs union (a parcel between two of them carries no customs
# declaration) and, for the carrier, one zone.
EU = frozenset(
    _codes("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK")
)
NORDIC = frozenset({"SE", "NO", "DK", "FI"})
EUROPE_NON_EU = frozenset({"NO", "GB", "CH"})
SERVED = EU | EUROPE_NON_EU | {"US"}

Zone = str  # "domestic", "nordic", "eu", "europe" or "world"
ZONES: tuple[Zone, ...] = ("domestic", "nordic", "eu", "europe", "world")

# Postal code shapes per served country (upper-cased, surrounding spaces ignored), with the
# format a person reads in a refusal: N a digit, A a letter, then an example.
_POSTAL_FORMATS: dict[str, tuple[str, str]] = {
    "AT": (r"^\d{4}$", "NNNN, e.g. 1010"),
    "BE": (r"^\d{4}$", "NNNN, e.g. 1000"),
    "BG": (r"^\d{4}$", "NNNN, e.g. 1000"),
    "CY": (r"^\d{4}$", "NNNN, e.g. 1010"),
    "CZ": (r"^\d{3} ?\d{2}$", "NNN NN, e.g. 110 00"),
    "DE": (r"^\d{5}$", "NNNNN, e.g. 10115"),
    "DK": (r"^\d{4}$", "NNNN, e.g. 1050"),
    "EE": (r"^\d{5}$", "NNNNN, e.g. 10111"),
    "ES": (r"^\d{5}$", "NNNNN, e.g. 28013"),
    "FI": (r"^\d{5}$", "NNNNN, e.g. 00100"),
    "FR": (r"^\d{5}$", "NNNNN, e.g. 75001"),
    "GR": (r"^\d{3} ?\d{2}$", "NNN NN, e.g. 105 57"),
    "HR": (r"^\d{5}$", "NNNNN, e.g. 10000"),
    "HU": (r"^\d{4}$", "NNNN, e.g. 1051"),
    "IE": (r"^[A-Z]\d[\dW] ?[A-Z\d]{4}$", "an Eircode, e.g. D02 X285"),
    "IT": (r"^\d{5}$", "NNNNN, e.g. 00184"),
    "LT": (r"^(LT-)?\d{5}$", "NNNNN or LT-NNNNN, e.g. LT-01100"),
    "LU": (r"^(L-)?\d{4}$", "NNNN or L-NNNN, e.g. L-1118"),
    "LV": (r"^(LV-)?\d{4}$", "NNNN or LV-NNNN, e.g. LV-1050"),
    "MT": (r"^[A-Z]{3} ?\d{4}$", "AAA NNNN, e.g. VLT 1117"),
    "NL": (r"^\d{4} ?[A-Z]{2}$", "NNNN AA, e.g. 1012 AB"),
    "PL": (r"^\d{2}-\d{3}$", "NN-NNN, e.g. 00-950"),
    "PT": (r"^\d{4}-\d{3}$", "NNNN-NNN, e.g. 1100-148"),
    "RO": (r"^\d{6}$", "NNNNNN, e.g. 010011"),
    "SE": (r"^\d{3} ?\d{2}$", "NNN NN, e.g. 114 55"),
    "SI": (r"^\d{4}$", "NNNN, e.g. 1000"),
    "SK": (r"^\d{3} ?\d{2}$", "NNN NN, e.g. 811 01"),
    "NO": (r"^\d{4}$", "NNNN, e.g. 0150"),
    "CH": (r"^\d{4}$", "NNNN, e.g. 8001"),
    "GB": (r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", "a postcode, e.g. SW1A 1AA"),
    "US": (r"^\d{5}(-\d{4})?$", "a ZIP code, NNNNN or NNNNN-NNNN, e.g. 10001"),
}
POSTAL_CODES: dict[str, re.Pattern[str]] = {
    country: re.compile(pattern) for country, (pattern, _shown) in _POSTAL_FORMATS.items()
}
# What a postal code of each served country looks like, for a person ("NNN NN, e.g. 114 55").
POSTAL_CODE_FORMATS: dict[str, str] = {
    country: shown for country, (_pattern, shown) in _POSTAL_FORMATS.items()
}
US_STATES = frozenset(
    _codes(
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE"
        " NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR"
    )
)
# Destinations whose addresses name their region (state): the carrier needs it to route.
REGION_REQUIRED = frozenset({"US"})
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,24}$")


class AddressLike(Protocol):
    """What the address rules read (``oms.models.common.Address``)."""

    @property
    def country(self) -> str: ...

    @property
    def postal_code(self) -> str: ...

    @property
    def region(self) -> str | None: ...

    @property
    def phone(self) -> str | None: ...


def zone(from_country: str, to_country: str) -> Zone:
    """The carrier's price and transit zone of a parcel from one country to another."""
    if from_country == to_country:
        return "domestic"
    if from_country in NORDIC and to_country in NORDIC:
        return "nordic"
    if from_country in EU and to_country in EU:
        return "eu"
    europe = EU | EUROPE_NON_EU
    if from_country in europe and to_country in europe:
        return "europe"
    return "world"


def crosses_customs_border(from_country: str, to_country: str) -> bool:
    """Whether a parcel needs a customs declaration: it leaves one customs area for
    another (outside the EU, every country is its own)."""
    if from_country == to_country:
        return False
    return not (from_country in EU and to_country in EU)


def needs_customs(to_country: str) -> bool:
    """Whether a parcel to ``to_country`` from the merchant's EU warehouses needs a customs
    declaration (the question asked before a warehouse is chosen)."""
    return to_country not in EU


def address_problems(address: AddressLike, *, customs: bool = False) -> list[tuple[str, str]]:
    """What keeps a carrier from serving ``address``: ``(field, reason)`` pairs, none when
    it can. ``customs``: the parcel crosses a customs border, so the receiver's phone is
    needed (customs brokers call before delivery).

    Reasons name the field's rule, never its value: they travel in clear (Temporal
    failures, /ops/stuck).
    """
    country = address.country
    pattern = POSTAL_CODES.get(country)
    if pattern is None:
        return [("country", unserved(country))]
    problems: list[tuple[str, str]] = []
    if not pattern.match(address.postal_code.strip().upper()):
        problems.append(
            (
                "postal_code",
                f"the postal code is not valid in {country} "
                f"(expected {POSTAL_CODE_FORMATS[country]})",
            )
        )
    region = (address.region or "").strip().upper()
    if country in REGION_REQUIRED and not region:
        problems.append(("region", f"a region (state) is required in {country}"))
    elif country == "US" and region not in US_STATES:
        problems.append(("region", "not a US state code (two letters, e.g. NY)"))
    phone = (address.phone or "").strip()
    if customs and not phone:
        problems.append(("phone", "a phone number is required for a shipment through customs"))
    elif phone and (not _PHONE.match(phone) or sum(c.isdigit() for c in phone) > 15):
        problems.append(("phone", "not a phone number (digits, spaces, + ( ) - . /)"))
    return problems


# What the merchant charges a customer for shipping (not what the carrier charges the
# merchant), in the base currency, by zone (``zone`` above) and speed: (service, price,
# transit days).
SHIPPING_TABLE: dict[str, dict[str, tuple[str, Decimal, int]]] = {
    "domestic": {"standard": ("standard", Decimal(49), 2), "express": ("express", Decimal(99), 1)},
    "nordic": {"standard": ("standard", Decimal(99), 3), "express": ("express", Decimal(199), 1)},
    "eu": {"standard": ("standard", Decimal(149), 4), "express": ("express", Decimal(299), 2)},
    "europe": {"standard": ("standard", Decimal(199), 5), "express": ("express", Decimal(399), 2)},
    "world": {"standard": ("standard", Decimal(299), 7), "express": ("express", Decimal(599), 3)},
}


# Where the merchant's parcels leave from: checkout prices are by zone from here.
MERCHANT_COUNTRY = "SE"


def checkout_zone(country: str, from_country: str = MERCHANT_COUNTRY) -> Zone:
    """The zone a checkout price is looked up by: the carrier's zone from the merchant."""
    return zone(from_country, country)


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
    for speed, (service, price, days) in SHIPPING_TABLE[checkout_zone(country)].items():
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


def late_scan_alerts(ended: str, scan: str, claimed_lost: bool) -> bool:
    """Whether a carrier scan that came after the shipment had ended (``ended``: its final
    status) needs a person: a delivery of a parcel claimed lost, whose customer may now hold
    both it and its reship or refund. Any other late scan (a carrier's resend after the
    delivery, a scan of a cancelled or damaged-claimed parcel, a transit scan of a lost one:
    its delivery scan will tell) is only kept."""
    return ended == "claimed" and scan == "delivered" and claimed_lost
