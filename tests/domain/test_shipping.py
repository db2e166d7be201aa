"""Choosing a carrier rate: cheapest of the requested speed, express falls back to fastest."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.domain.shipping import (
    ADDRESS_REFUSED,
    COUNTRY_UNSERVED,
    CUSTOMS_MISSING,
    NoRateAvailable,
    choose_rate,
    held_for,
    hold_noted,
)
from oms.models.carrier import Rate


def rate(service: str, price: str, days: int, speed: str) -> Rate:
    return Rate(
        carrier="sandbox",
        service=service,
        price=Decimal(price),
        currency="SEK",
        transit_days=days,
        speed=speed,
    )


ECONOMY = rate("economy", "45.00", 5, "standard")
STANDARD = rate("standard", "68.00", 2, "standard")
EXPRESS = rate("express", "144.00", 1, "express")


def test_standard_takes_the_cheapest_standard_rate() -> None:
    assert choose_rate([STANDARD, EXPRESS, ECONOMY], "standard") == ECONOMY


def test_express_takes_the_cheapest_express_rate_even_when_standard_is_cheaper() -> None:
    rush = rate("rush", "300.00", 1, "express")
    assert choose_rate([ECONOMY, rush, EXPRESS, STANDARD], "express") == EXPRESS


def test_express_without_an_express_rate_falls_back_to_the_fastest() -> None:
    assert choose_rate([ECONOMY, STANDARD], "express") == STANDARD


def test_fastest_fallback_breaks_ties_on_price() -> None:
    pricey = rate("premium", "99.00", 2, "standard")
    assert choose_rate([pricey, ECONOMY, STANDARD], "express") == STANDARD


def test_equal_prices_prefer_the_faster_rate() -> None:
    slow = rate("slow", "68.00", 4, "standard")
    assert choose_rate([slow, STANDARD], "standard") == STANDARD


def test_standard_with_only_express_rates_is_no_rate() -> None:
    with pytest.raises(NoRateAvailable):
        choose_rate([EXPRESS], "standard")


@pytest.mark.parametrize("speed", ["standard", "express"])
def test_no_rates_at_all_is_no_rate(speed: str) -> None:
    with pytest.raises(NoRateAvailable):
        choose_rate([], speed)


def test_a_refused_address_or_missing_customs_data_holds_the_parcel_for_a_person() -> None:
    assert held_for("InvalidAddress", "postal code 999 unknown") == (
        "Carrier refused the address: postal code 999 unknown",
        ADDRESS_REFUSED,
    )
    assert held_for("CustomsDataMissing", "no HS code for CAP-NVY") == (
        "Customs data missing: no HS code for CAP-NVY",
        CUSTOMS_MISSING,
    )
    assert ADDRESS_REFUSED.problem == "The carrier refused the address of"
    assert CUSTOMS_MISSING.problem == "Customs data is missing for"


def test_a_held_parcels_note_tells_which_hold_it_is_and_each_has_its_own_remedy() -> None:
    for hold, error in (
        (ADDRESS_REFUSED, "InvalidAddress"),
        (CUSTOMS_MISSING, "CustomsDataMissing"),
    ):
        held = held_for(error, "anything")
        assert held is not None and hold_noted(held[0]) is hold
    assert hold_noted("Picked by Lisa") is None
    # An address refused for its country alone: no correction (same country) ships it.
    note, hold = held_for("InvalidAddress", "InvalidAddress: country JP is not served") or (
        "",
        None,
    )
    assert hold is COUNTRY_UNSERVED and hold_noted(note) is COUNTRY_UNSERVED
    assert note == "Carrier refused the address: InvalidAddress: country JP is not served"
    unserved = COUNTRY_UNSERVED.advice("A-1", "A-1-S1")
    assert "POST /ops/orders/A-1/cancel" in unserved and "/shipments/" not in unserved
    assert "does not serve" in unserved and "place it again" not in unserved
    customs = CUSTOMS_MISSING.advice("A-1", "A-1-S1")
    assert customs.startswith("Customs data missing: add the HS code and country of origin")
    assert "PUT /products/{sku}" in customs and "address" not in customs
    assert "POST /ops/orders/A-1/cancel" in customs
    address = ADDRESS_REFUSED.advice("A-1", "A-1-S1")
    assert address.startswith("Carrier refused the address: get the right address")
    assert "HS code" not in address and "POST /ops/orders/A-1/cancel" in address
    # Before, a cancel was the only way out of a refused address.
    assert "POST /shipments/A-1-S1/address" in address
    assert "/shipments/" not in customs


def test_other_refusals_do_not_hold_the_parcel() -> None:
    assert held_for("NoRateAvailable", "no express service") is None
    assert held_for(None, "carrier down") is None
