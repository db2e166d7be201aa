"""Pricing a B2B quote: list price, customer-tier discount, volume breaks, seller overrides.

Pure rules on plain models, no I/O. The tier and volume discounts add up per
line (a gold customer buying 50 units gets 10% + 5% = 15% off list); a seller
override replaces the computed unit price of every line of that SKU and records
why. After expiry a re-opened quote is priced at list prices only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from oms.domain.money import quantize
from oms.models.credit import PriceTier
from oms.models.quotes import LineOverride, PricedLine, Proposal, QuoteLineRequest

HUNDRED = Decimal(100)

TIER_DISCOUNT_PCT: dict[str, Decimal] = {
    "standard": Decimal(0),
    "silver": Decimal(5),
    "gold": Decimal(10),
}

# (minimum quantity on the line, extra percent off), largest first.
VOLUME_BREAKS: tuple[tuple[int, Decimal], ...] = (
    (100, Decimal(8)),
    (50, Decimal(5)),
    (10, Decimal(2)),
)


class PricingError(Exception):
    """Base of the pricing rules' rejections."""


class UnknownPrice(PricingError):
    """A quoted SKU has no list price."""


class OverrideNotOnQuote(PricingError):
    """The seller overrode the price of a SKU the quote does not contain."""


def volume_discount_pct(quantity: int) -> Decimal:
    """Percent off list for ``quantity`` units on one line (0 below ten units)."""
    for minimum, pct in VOLUME_BREAKS:
        if quantity >= minimum:
            return pct
    return Decimal(0)


def percent_off(list_amount: Decimal, amount: Decimal) -> Decimal:
    """How many percent ``amount`` is below ``list_amount``, to two places (0 for a zero list)."""
    if list_amount == 0:
        return Decimal("0.00")
    return quantize((list_amount - amount) / list_amount * HUNDRED)


def price_quote(
    lines: Sequence[QuoteLineRequest],
    list_prices: Mapping[str, Decimal],
    tier: PriceTier,
    overrides: Sequence[LineOverride],
    *,
    round: int,
    by: str,
    at: datetime,
    comment: str | None = None,
    list_prices_only: bool = False,
) -> Proposal:
    """The seller's proposal for ``lines``: one priced line per requested line, and totals.

    ``list_prices_only`` ignores the tier, volume breaks and overrides. When one
    SKU is overridden twice, the last override wins. Raises ``UnknownPrice`` if a
    line's SKU has no list price and ``OverrideNotOnQuote`` if an override names a
    SKU that no line asks for.
    """
    missing = sorted({line.sku for line in lines} - set(list_prices))
    if missing:
        raise UnknownPrice(f"no list price for SKU(s): {', '.join(missing)}")
    by_sku = {} if list_prices_only else {o.sku: o for o in overrides}
    stray = sorted(set(by_sku) - {line.sku for line in lines})
    if stray:
        raise OverrideNotOnQuote(f"override for SKU(s) not on the quote: {', '.join(stray)}")

    priced: list[PricedLine] = []
    for line in lines:
        list_price = quantize(Decimal(list_prices[line.sku]))
        override = by_sku.get(line.sku)
        if override is not None:
            unit_price = quantize(Decimal(override.unit_price))
            pct = percent_off(list_price, unit_price)
        elif list_prices_only:
            unit_price, pct = list_price, Decimal("0.00")
        else:
            pct = quantize(TIER_DISCOUNT_PCT[tier] + volume_discount_pct(line.quantity))
            unit_price = quantize(list_price * (HUNDRED - pct) / HUNDRED)
        priced.append(
            PricedLine(
                sku=line.sku,
                quantity=line.quantity,
                list_price=list_price,
                unit_price=unit_price,
                discount_pct=pct,
                target_unit_price=line.target_unit_price,
                override_reason=None if override is None else override.reason,
            )
        )

    list_total = quantize(sum((p.list_price * p.quantity for p in priced), Decimal(0)))
    total = quantize(sum((p.unit_price * p.quantity for p in priced), Decimal(0)))
    return Proposal(
        round=round,
        lines=priced,
        list_total=list_total,
        total=total,
        discount_pct=percent_off(list_total, total),
        by=by,
        at=at,
        comment=comment,
    )
