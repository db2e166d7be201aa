"""VAT by destination and an order's totals: the one place every order total comes from.

Pure rules on the rate table (``oms/rules/vat_rates.json``, each row valid from a date):

- EU destination, B2C (or B2B without a valid-looking VAT number): the buyer's country's
  rate for the product's tax class (OSS for distance sales; the merchant's own rate for a
  domestic sale is the same rule);
- EU destination in another member state, B2B with a VAT number of a valid format:
  reverse charge, no VAT on the invoice (the buyer accounts for it);
- NO, GB, CH: their own rates for B2C (the merchant is registered there: VOEC, the UK's
  low-value rule, Swiss registration); zero-rated for a business with a VAT number;
- anywhere else: a zero-rated export.

Prices include tax (B2C) or exclude it (B2B); tax is rounded per line (the default) or
once per rate on the whole order, to the currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.no import mva as no_vat

from oms.domain.money import PricedLine, minor_unit, round_money
from oms.models.money import (
    LineAmount,
    OrderTotals,
    TaxableLine,
    TaxClass,
    TaxLine,
    TaxTreatment,
    VatRate,
    VatTable,
)

HUNDRED = Decimal(100)
ZERO = Decimal(0)
# Outside the EU, countries whose VAT the merchant charges to consumers.
OWN_VAT_REGIMES = frozenset({"NO", "GB", "CH"})
Rounding = Literal["line", "total"]


class NoVatRate(Exception):
    """The table has no rate for a country on a date (before its first row)."""


def valid_vat_number(vat_number: str | None, country: str) -> bool:
    """Whether ``vat_number`` has the format (and check digits) of a VAT number of ``country``
    (EU: any member state's, with its prefix; NO, GB, CH: their own). Not a registry look-up."""
    if not vat_number:
        return False
    if country == "NO":
        return bool(no_vat.is_valid(vat_number))
    if country == "GB":
        return bool(gb_vat.is_valid(vat_number))
    if country == "CH":
        return bool(ch_vat.is_valid(vat_number))
    return bool(eu_vat.is_valid(vat_number))


def rate(table: VatTable, country: str, tax_class: TaxClass, on: date) -> Decimal:
    """``country``'s VAT rate in percent for ``tax_class`` on ``on``. Raises ``NoVatRate``."""
    rows = [r for r in table.rates if r.country == country and r.valid_from <= on]
    if not rows:
        raise NoVatRate(f"no VAT rate for {country} on {on.isoformat()}")
    current: VatRate = max(rows, key=lambda r: r.valid_from)
    return Decimal(getattr(current, tax_class))


def treatment(
    table: VatTable, seller_country: str, country: str, vat_number: str | None
) -> TaxTreatment:
    """How a sale from ``seller_country`` to ``country`` is taxed (see the module's rules)."""
    business = valid_vat_number(vat_number, country)
    if country in table.eu:
        if business and country != seller_country:
            return "reverse_charge"
        return "vat"
    if country in OWN_VAT_REGIMES and not business:
        return "vat"
    if country == seller_country:
        return "vat"
    return "export"


def line_rate(
    table: VatTable, how: TaxTreatment, country: str, tax_class: TaxClass, on: date
) -> Decimal:
    """The VAT rate in percent of a line of ``tax_class`` in an order taxed ``how`` to
    ``country`` on ``on`` (reverse charge and exports: 0). Raises ``NoVatRate``."""
    return ZERO if how != "vat" else rate(table, country, tax_class, on)


def order_totals(
    lines: Sequence[TaxableLine],
    shipping: Decimal,
    *,
    currency: str,
    country: str,
    on: date,
    table: VatTable,
    seller_country: str = "SE",
    vat_number: str | None = None,
    prices_include_tax: bool = True,
    rounding: Rounding = "line",
) -> OrderTotals:
    """Subtotal, shipping, tax per rate and total of an order shipped to ``country``.

    ``lines`` and ``shipping`` are priced gross when ``prices_include_tax``, else net;
    shipping is taxed at the destination's standard rate. Per-line rounding (the default)
    rounds each line's tax, so any set of lines sums to what the order says; ``"total"``
    rounds once per rate. Raises ``NoVatRate`` for a taxed destination without a rate.
    """
    how = treatment(table, seller_country, country, vat_number)

    def pct(tax_class: TaxClass) -> Decimal:
        return line_rate(table, how, country, tax_class, on)

    return _totals(
        [(line, pct(line.tax_class)) for line in lines],
        shipping,
        pct("standard"),
        currency=currency,
        country=country,
        how=how,
        prices_include_tax=prices_include_tax,
        rounding=rounding,
    )


class RatedLine(PricedLine, Protocol):
    """An order line as placed or changed: its SKU, units, price and VAT rate (None: not
    known, e.g. added by an edit before lines carried one)."""

    @property
    def sku(self) -> str: ...

    @property
    def tax_rate(self) -> Decimal | None: ...


def retotal(
    totals: OrderTotals,
    lines: Sequence[RatedLine],
    rounding: Rounding = "line",
    tax_classes: Mapping[str, TaxClass] | None = None,
) -> OrderTotals:
    """``totals`` of an order placed with them, for its ``lines`` after a change (an edit, a
    line cancellation): the same computation as :func:`order_totals`, at each line's own
    rate (a line without one: its SKU's rate as placed, else none), with the shipping,
    treatment and base-currency rate of ``totals`` (the order's as placed, or as an edit
    re-priced them for a new destination or speed). A line's tax class is its SKU's in
    ``tax_classes``, else as placed, else standard."""
    placed = {a.sku: a for a in totals.lines}
    classes = tax_classes or {}

    def rated(line: RatedLine) -> tuple[TaxableLine, Decimal]:
        before = placed.get(line.sku)
        r = line.tax_rate if line.tax_rate is not None else (before.rate if before else ZERO)
        taxable = TaxableLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=Decimal(line.unit_price),
            tax_class=classes.get(line.sku) or (before.tax_class if before else "standard"),
        )
        return taxable, ZERO if totals.treatment != "vat" else Decimal(r)

    changed = _totals(
        [rated(line) for line in lines],
        totals.shipping,
        shipping_rate(totals),
        currency=totals.currency,
        country=totals.country,
        how=totals.treatment,
        prices_include_tax=totals.prices_include_tax,
        rounding=rounding,
    )
    changed.base_currency, changed.base_rate = totals.base_currency, totals.base_rate
    return changed


def shipping_rate(totals: OrderTotals) -> Decimal:
    """The VAT rate the order's shipping was taxed at: as recorded, else (totals from before
    it was recorded) the destination's standard rate, the highest of the order's rates,
    when its shipping carried tax."""
    if totals.shipping_rate is not None:
        return totals.shipping_rate
    if totals.shipping_tax <= 0:
        return ZERO
    return max((t.rate for t in totals.tax), default=ZERO)


def _totals(
    rated: Sequence[tuple[TaxableLine, Decimal]],
    shipping: Decimal,
    shipping_rate: Decimal,
    *,
    currency: str,
    country: str,
    how: TaxTreatment,
    prices_include_tax: bool,
    rounding: Rounding,
) -> OrderTotals:
    """The totals of lines each at its rate in percent (see :func:`order_totals`)."""

    def split(amount: Decimal, r: Decimal) -> tuple[Decimal, Decimal]:
        """(net, tax) of ``amount`` priced as the order prices."""
        if prices_include_tax:
            tax = round_money(amount * r / (HUNDRED + r), currency)
            return amount - tax, tax
        return amount, round_money(amount * r / HUNDRED, currency)

    amounts: list[LineAmount] = []
    for line, r in rated:
        priced = round_money(Decimal(line.quantity) * Decimal(line.unit_price), currency)
        net, tax = split(priced, r)
        amounts.append(
            LineAmount(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=Decimal(line.unit_price),
                tax_class=line.tax_class,
                rate=r,
                net=net,
                tax=tax,
                gross=net + tax,
            )
        )
    shipping = round_money(Decimal(shipping), currency)
    shipping_net, shipping_tax = split(shipping, shipping_rate)

    by_rate: dict[Decimal, list[Decimal]] = {}  # rate -> [priced amount, net, tax]
    for amount in amounts:
        priced = amount.gross if prices_include_tax else amount.net
        _add(by_rate, amount.rate, priced, amount.net, amount.tax)
    if shipping:
        _add(by_rate, shipping_rate, shipping, shipping_net, shipping_tax)
    tax_lines: list[TaxLine] = []
    for r, (priced, net, tax) in sorted(by_rate.items(), reverse=True):
        if rounding == "total":
            net, tax = split(priced, r)
        tax_lines.append(TaxLine(rate=r, net=net, tax=tax))
    if rounding == "total":
        shipping_tax = split(shipping, shipping_rate)[1]

    subtotal = round_money(
        sum((a.gross if prices_include_tax else a.net for a in amounts), ZERO), currency
    )
    tax_total = sum((t.tax for t in tax_lines), ZERO)
    total = subtotal + shipping + (ZERO if prices_include_tax else tax_total)
    return OrderTotals(
        currency=currency,
        country=country,
        treatment=how,
        prices_include_tax=prices_include_tax,
        lines=amounts,
        subtotal=subtotal,
        shipping=shipping,
        shipping_tax=shipping_tax,
        shipping_rate=shipping_rate,
        tax=tax_lines,
        tax_total=round_money(tax_total, currency),
        total=round_money(total, currency),
    )


def refund_tax(amount: Decimal, charged: Sequence[TaxLine], currency: str) -> list[TaxLine]:
    """A refund of ``amount`` (as the customer paid it: VAT included) split into net and VAT
    per rate, in proportion to what the order charged at each rate (``charged``: its tax
    lines, or one line at the rate of the line refunded). Each rate's share and its VAT are
    in the currency's minor unit; the shares add up to ``amount`` exactly and none is
    negative: each rate gets its proportional share rounded down, and the minor units left
    go to the largest fractions (the higher rate first on a tie). Nothing charged at any
    rate: all net. ``amount`` is a refund, so not negative."""
    amount = round_money(Decimal(amount), currency)
    weights: dict[Decimal, Decimal] = {}
    for line in charged:
        weights[line.rate] = weights.get(line.rate, ZERO) + line.net + line.tax
    weights = {r: w for r, w in weights.items() if w > 0}
    whole = sum(weights.values(), ZERO)
    if not weights or amount <= 0:
        return [TaxLine(rate=ZERO, net=amount, tax=ZERO)]
    ordered = sorted(weights.items(), reverse=True)
    unit = Decimal(1).scaleb(-minor_unit(currency))
    units = int(amount / unit)
    exact = [units * w / whole for _, w in ordered]
    counts = [int(e) for e in exact]  # non-negative, so int() rounds down
    # Rounding each share half-up and giving one rate the difference could leave that rate
    # a negative share (0.17 over four tiny weights: -0.01); largest remainders cannot.
    by_fraction = sorted(range(len(ordered)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_fraction[: units - sum(counts)]:
        counts[i] += 1
    shares = [unit * n for n in counts]
    out = []
    for (r, _), share in zip(ordered, shares, strict=True):
        tax = round_money(share * r / (HUNDRED + r), currency)
        out.append(TaxLine(rate=r, net=share - tax, tax=tax))
    return out


def _add(
    by_rate: dict[Decimal, list[Decimal]], r: Decimal, priced: Decimal, net: Decimal, tax: Decimal
) -> None:
    sums = by_rate.setdefault(r, [ZERO, ZERO, ZERO])
    sums[0] += priced
    sums[1] += net
    sums[2] += tax


class ParcelLine(PricedLine, Protocol):
    """A line of a parcel: units, the unit price as charged, the VAT rate of its order line."""

    @property
    def tax_rate(self) -> Decimal | None: ...


def parcel_charge(
    lines: Sequence[ParcelLine],
    *,
    currency: str,
    prices_include_tax: bool,
    shipping: Decimal = ZERO,
) -> Decimal:
    """What to capture (or invoice) for a parcel: each line's gross amount, rounded per line
    as ``order_totals`` rounds it, plus the gross ``shipping`` it carries. The parcels of an
    order sum to its total when no line is split between parcels."""
    charge = ZERO
    for line in lines:
        priced = round_money(Decimal(line.quantity) * Decimal(line.unit_price), currency)
        if not prices_include_tax and line.tax_rate:
            priced += round_money(priced * line.tax_rate / HUNDRED, currency)
        charge += priced
    return round_money(charge + Decimal(shipping), currency)


def shipping_gross(totals: OrderTotals) -> Decimal:
    """The order's shipping charge with its VAT (as charged to the parcel carrying it)."""
    return totals.shipping + (ZERO if totals.prices_include_tax else totals.shipping_tax)
