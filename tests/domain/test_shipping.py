"""Choosing a carrier rate: cheapest of the requested speed, express falls back to fastest."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.domain.shipping import NoRateAvailable, choose_rate
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
