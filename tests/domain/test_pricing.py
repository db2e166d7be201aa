"""Pricing a quote: tier and volume discounts add up, overrides win, list prices after expiry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms.domain.pricing import (
    OverrideNotOnQuote,
    UnknownPrice,
    price_quote,
    volume_discount_pct,
)
from oms.models.credit import PriceTier
from oms.models.quotes import LineOverride, Proposal, QuoteLineRequest

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PRICES = {"BOLT": Decimal("10.00"), "DRILL": Decimal("1999.00"), "ODD": Decimal("3.33")}


def line(sku: str, quantity: int, target: str | None = None) -> QuoteLineRequest:
    return QuoteLineRequest(
        sku=sku, quantity=quantity, target_unit_price=None if target is None else Decimal(target)
    )


def price(
    lines: list[QuoteLineRequest],
    tier: PriceTier = "standard",
    overrides: list[LineOverride] | None = None,
    list_prices_only: bool = False,
) -> Proposal:
    return price_quote(
        lines,
        PRICES,
        tier,
        overrides or [],
        round=1,
        by="seller",
        at=AT,
        list_prices_only=list_prices_only,
    )


@pytest.mark.parametrize(
    ("quantity", "pct"),
    [(1, "0"), (9, "0"), (10, "2"), (49, "2"), (50, "5"), (99, "5"), (100, "8"), (5000, "8")],
)
def test_volume_breaks_start_at_ten_fifty_and_a_hundred_units(quantity: int, pct: str) -> None:
    assert volume_discount_pct(quantity) == Decimal(pct)


@pytest.mark.parametrize(
    ("tier", "quantity", "unit_price", "pct"),
    [
        ("standard", 1, "1999.00", "0.00"),
        ("silver", 1, "1899.05", "5.00"),
        ("gold", 1, "1799.10", "10.00"),
        ("gold", 50, "1699.15", "15.00"),
        ("silver", 100, "1739.13", "13.00"),
        ("standard", 10, "1959.02", "2.00"),
    ],
)
def test_tier_and_volume_discounts_add_up_per_line(
    tier: PriceTier, quantity: int, unit_price: str, pct: str
) -> None:
    proposal = price([line("DRILL", quantity)], tier)
    [priced] = proposal.lines
    assert priced.list_price == Decimal("1999.00")
    assert priced.unit_price == Decimal(unit_price)
    assert priced.discount_pct == Decimal(pct)
    assert proposal.total == Decimal(unit_price) * quantity


def test_volume_breaks_apply_per_line_not_per_quote() -> None:
    proposal = price([line("BOLT", 60), line("DRILL", 5)], "silver")
    assert [p.discount_pct for p in proposal.lines] == [Decimal("10.00"), Decimal("5.00")]
    assert [p.unit_price for p in proposal.lines] == [Decimal("9.00"), Decimal("1899.05")]


def test_totals_and_overall_discount_are_rounded_to_two_places() -> None:
    proposal = price([line("ODD", 3), line("BOLT", 10)], "silver")
    # ODD: 3.33 * 0.95 = 3.1635 -> 3.16; BOLT: 10 * 0.93 = 9.30
    assert [p.unit_price for p in proposal.lines] == [Decimal("3.16"), Decimal("9.30")]
    assert proposal.list_total == Decimal("109.99")
    assert proposal.total == Decimal("102.48")
    # (109.99 - 102.48) / 109.99 = 6.8279...%
    assert proposal.discount_pct == Decimal("6.83")
    assert (proposal.round, proposal.by, proposal.at) == (1, "seller", AT)


def test_a_seller_override_sets_the_price_and_records_the_reason() -> None:
    overrides = [LineOverride(sku="DRILL", unit_price=Decimal("1699.15"), reason="Framework deal")]
    proposal = price([line("DRILL", 100, target="1650.00"), line("BOLT", 100)], "gold", overrides)
    drill, bolt = proposal.lines
    assert (drill.unit_price, drill.override_reason) == (Decimal("1699.15"), "Framework deal")
    assert drill.discount_pct == Decimal("15.00")
    assert drill.target_unit_price == Decimal("1650.00")
    # The other line keeps tier + volume pricing: 10% + 8%.
    assert (bolt.unit_price, bolt.override_reason) == (Decimal("8.20"), None)
    assert proposal.total == Decimal("169915.00") + Decimal("820.00")


def test_the_last_override_of_a_sku_wins() -> None:
    overrides = [
        LineOverride(sku="BOLT", unit_price=Decimal("7.00"), reason="first"),
        LineOverride(sku="BOLT", unit_price=Decimal("8.00"), reason="second"),
    ]
    [bolt] = price([line("BOLT", 1)], overrides=overrides).lines
    assert (bolt.unit_price, bolt.override_reason) == (Decimal("8.00"), "second")


def test_list_prices_only_ignores_tier_volume_and_overrides() -> None:
    overrides = [LineOverride(sku="DRILL", unit_price=Decimal("1000.00"), reason="old deal")]
    proposal = price(
        [line("DRILL", 100, target="1500.00")], "gold", overrides, list_prices_only=True
    )
    [drill] = proposal.lines
    assert (drill.unit_price, drill.discount_pct, drill.override_reason) == (
        Decimal("1999.00"),
        Decimal("0.00"),
        None,
    )
    assert drill.target_unit_price == Decimal("1500.00")
    assert proposal.total == proposal.list_total == Decimal("199900.00")
    assert proposal.discount_pct == Decimal("0.00")


def test_a_free_quote_has_no_discount_percentage_to_divide_by() -> None:
    proposal = price_quote(
        [line("FREE", 5)], {"FREE": Decimal("0")}, "gold", [], round=2, by="s", at=AT
    )
    assert (proposal.list_total, proposal.total, proposal.discount_pct) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_a_sku_without_a_list_price_is_refused() -> None:
    with pytest.raises(UnknownPrice, match="NOPE"):
        price([line("BOLT", 1), line("NOPE", 1)])


def test_an_override_for_a_sku_not_on_the_quote_is_refused() -> None:
    overrides = [LineOverride(sku="DRILL", unit_price=Decimal("1.00"), reason="typo")]
    with pytest.raises(OverrideNotOnQuote, match="DRILL"):
        price([line("BOLT", 1)], overrides=overrides)
