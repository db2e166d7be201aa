"""Properties of an order's totals, for any lines, destination and pricing (Hypothesis):
net + tax is what is charged, the total adds up, and the parcels charge exactly the total."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.tax import order_totals, parcel_charge, shipping_gross
from oms.models.money import TaxableLine
from oms.models.shipments import ShipmentLine
from oms.rules import load_vat_rates

TABLE = load_vat_rates()
money = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999.99"), places=2)
line = st.tuples(st.integers(1, 50), money, st.sampled_from(["standard", "reduced", "zero"]))


@given(
    specs=st.lists(line, min_size=1, max_size=8),
    shipping=money,
    country=st.sampled_from(["SE", "DE", "FI", "NO", "GB", "CH", "US", "FR"]),
    inclusive=st.booleans(),
    split=st.integers(0, 8),
)
@settings(max_examples=200, deadline=None)
def test_totals_add_up_and_the_parcels_charge_exactly_the_total(
    specs: list[tuple[int, Decimal, str]],
    shipping: Decimal,
    country: str,
    inclusive: bool,
    split: int,
) -> None:
    lines = [
        TaxableLine(sku=f"SKU-{i}", quantity=q, unit_price=p, tax_class=c)  # type: ignore[arg-type]
        for i, (q, p, c) in enumerate(specs)
    ]
    totals = order_totals(
        lines,
        shipping,
        currency="EUR",
        country=country,
        on=date(2026, 12, 6),
        table=TABLE,
        prices_include_tax=inclusive,
    )
    for amount in totals.lines:
        assert amount.net + amount.tax == amount.gross
        assert amount.tax >= 0
    assert totals.tax_total == sum((t.tax for t in totals.tax), Decimal(0))
    added = Decimal(0) if inclusive else totals.tax_total
    assert totals.total == totals.subtotal + totals.shipping + added
    # Lines in two parcels (no line split between them), shipping on the first.
    parcels = [
        ShipmentLine(sku=a.sku, quantity=a.quantity, unit_price=a.unit_price, tax_rate=a.rate)
        for a in totals.lines
    ]
    charged = parcel_charge(
        parcels[:split],
        currency="EUR",
        prices_include_tax=inclusive,
        shipping=shipping_gross(totals),
    ) + parcel_charge(parcels[split:], currency="EUR", prices_include_tax=inclusive)
    assert charged == totals.total
