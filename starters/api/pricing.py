"""Pricing an order as it is placed: list prices, shipping and VAT (docs/money.md).

A buyer's (or a seller's, or support's) order is priced by the OMS: a line without
``unit_price`` gets the order currency's list price, and one that differs from it is a
422 ``price_mismatch`` naming the line, so nobody lowers a price or skips a quote's
approvals. A trusted channel integration (role ``channel``, or ``admin``) may send its own
prices, as shops do; the order records which (``price_source``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy.orm import Session

from oms.domain import fx, shipping, tax
from oms.domain.auth import Principal
from oms.domain.money import round_money
from oms.models.common import Address
from oms.models.money import (
    DestinationPricing,
    ExchangeTable,
    OrderPricing,
    OrderTotals,
    PriceSource,
    TaxableLine,
    TaxClass,
    VatTable,
)
from oms.models.orders import OrderLine, OrderView, PlaceOrder, ShippingSpeed
from oms.rules import load_exchange_rates, load_vat_rates
from oms.settings import Settings
from oms.store import inventory
from oms.store import prices as price_lists
from starters.api.deps import field_error

# Who may send prices of their own.
TRUSTED_PRICERS = frozenset({"channel", "admin"})


@dataclass(frozen=True)
class PricedOrder:
    """An order's lines as charged, where their prices came from, and its totals."""

    lines: list[OrderLine]
    source: PriceSource
    totals: OrderTotals


@lru_cache(maxsize=4)
def vat_table(path: str) -> VatTable:
    return load_vat_rates(path)


@lru_cache(maxsize=4)
def exchange_table(path: str) -> ExchangeTable:
    return load_exchange_rates(path)


def price_order(
    body: PlaceOrder,
    caller: Principal,
    catalogue: dict[str, tuple[Decimal | None, TaxClass]],
    settings: Settings,
    today: date | None = None,
) -> PricedOrder:
    """Price ``body``'s lines and shipping and compute its totals; ``catalogue`` is each
    SKU's list price in the order's currency (None: no price) and tax class.

    Raises HTTPException 422 ``no_price`` (a SKU with no list price in the currency and no
    trusted price), ``price_mismatch`` (a price other than the list's from a caller who may
    not set prices), ``no_vat_rate``.
    """
    today = today or datetime.now(UTC).date()
    trusted = caller.role in TRUSTED_PRICERS
    lines: list[OrderLine] = []
    taxable: list[TaxableLine] = []
    sent = False
    for i, line in enumerate(body.lines):
        listed, tax_class = catalogue[line.sku]
        price = line.unit_price
        if price is None or not trusted:
            if listed is None:
                raise field_error(
                    ["lines", i, "unit_price"],
                    f"line {i} ({line.sku}): no {body.currency} list price",
                    line.unit_price,
                    kind="no_price",
                )
            if price is not None and price != listed:
                raise field_error(
                    ["lines", i, "unit_price"],
                    f"line {i} ({line.sku}): the {body.currency} list price is {listed:.2f}",
                    str(price),
                    kind="price_mismatch",
                )
            price = Decimal(listed)
        else:
            sent = True
        lines.append(OrderLine(sku=line.sku, quantity=line.quantity, unit_price=price))
        taxable.append(
            TaxableLine(sku=line.sku, quantity=line.quantity, unit_price=price, tax_class=tax_class)
        )
    country = body.ship_to.country
    rates = exchange_table(settings.exchange_rates_path)
    try:
        listed_shipping = shipping.shipping_price(
            country, body.shipping_speed, body.currency, today, rates
        )
    except fx.NoExchangeRate as err:
        raise field_error(["currency"], str(err), body.currency, kind="no_exchange_rate") from err
    shipping_charge = listed_shipping
    if body.shipping_price is not None:
        if trusted:
            shipping_charge, sent = body.shipping_price, True
        elif body.shipping_price != listed_shipping:
            raise field_error(
                ["shipping_price"],
                f"{body.shipping_speed} shipping to {country} is {listed_shipping:.2f}",
                str(body.shipping_price),
                kind="price_mismatch",
            )
    vat_number = body.customer.vat_number
    inclusive = prices_include_tax(
        settings, body.channel, vat_number, country, invoice=body.payment.method == "invoice"
    )
    try:
        totals = tax.order_totals(
            taxable,
            shipping_charge,
            currency=body.currency,
            country=country,
            on=today,
            table=vat_table(settings.vat_rates_path),
            seller_country=settings.merchant_country,
            vat_number=vat_number,
            prices_include_tax=inclusive,
        )
    except tax.NoVatRate as err:
        raise field_error(["ship_to", "country"], str(err), country, kind="no_vat_rate") from err
    for priced, amount in zip(lines, totals.lines, strict=True):
        priced.tax_rate = amount.rate
    base = settings.base_currency
    try:
        totals.base_rate = fx.rate(rates, body.currency, base, today)
    except fx.NoExchangeRate as err:
        raise field_error(["currency"], str(err), body.currency, kind="no_exchange_rate") from err
    totals.base_currency = base
    return PricedOrder(lines=lines, source="channel" if sent else "price_list", totals=totals)


def _channels(setting: str) -> frozenset[str]:
    return frozenset(c.strip() for c in setting.split(",") if c.strip())


def prices_include_tax(
    settings: Settings, channel: str, vat_number: str | None, country: str, *, invoice: bool
) -> bool:
    """Whether an order's prices include VAT: not for a business (invoice terms, or a VAT
    number valid for the destination) nor on a channel in ``OMS_TAX_EXCLUSIVE_CHANNELS``."""
    business = invoice or tax.valid_vat_number(vat_number, country)
    return not (business or channel in _channels(settings.tax_exclusive_channels))


TAX_CLASSES: tuple[TaxClass, ...] = ("standard", "reduced", "zero")


def destination_pricing(
    settings: Settings,
    order: OrderView,
    country: str,
    speed: ShippingSpeed,
    tax_classes: dict[str, TaxClass],
) -> DestinationPricing:
    """How ``order`` is priced shipped to ``country`` at ``speed`` (an edit that moves it or
    changes its speed), with :func:`price_order`'s rules: the shipping charge there, the
    treatment for its customer's VAT number, each tax class's rate and whether its prices
    include VAT (for an order not on invoice terms: the workflow, which knows its payment,
    keeps an invoice order's without). At the rates of the day the order was placed, as its
    base-currency rate and the VAT of a line an edit adds (:func:`added_price`).

    Raises HTTPException 422 naming ``ship_to.country``: ``no_vat_rate`` or
    ``no_exchange_rate``.
    """
    on = order.placed_at.date()
    table, vat_number = vat_table(settings.vat_rates_path), order.customer.vat_number
    how = tax.treatment(table, settings.merchant_country, country, vat_number)
    loc: list[str | int] = ["ship_to", "country"]
    try:
        rates = {c: tax.line_rate(table, how, country, c, on) for c in TAX_CLASSES}
    except tax.NoVatRate as err:
        raise field_error(loc, str(err), country, kind="no_vat_rate") from err
    fx_rates = exchange_table(settings.exchange_rates_path)
    try:
        charge = shipping.shipping_price(country, speed, order.currency, on, fx_rates)
    except fx.NoExchangeRate as err:
        raise field_error(loc, str(err), country, kind="no_exchange_rate") from err
    return DestinationPricing(
        country=country,
        shipping_speed=speed,
        treatment=how,
        prices_include_tax=prices_include_tax(
            settings, order.channel, vat_number, country, invoice=False
        ),
        shipping=charge,
        rates=rates,
        tax_classes=tax_classes,
    )


def in_currency(settings: Settings, amount: Decimal, currency: str) -> Decimal:
    """A threshold ``amount`` of the base currency in ``currency`` at today's rate (thresholds
    of approvals and return authorization are set in the base currency).

    Raises HTTPException 422 ``no_exchange_rate``.
    """
    base = settings.base_currency
    today = datetime.now(UTC).date()
    try:
        return fx.convert(
            amount, base, currency, today, exchange_table(settings.exchange_rates_path)
        )
    except fx.NoExchangeRate as err:
        raise field_error(["currency"], str(err), currency, kind="no_exchange_rate") from err


def gross_unit_price(unit_price: Decimal, rate: Decimal | None, currency: str) -> Decimal:
    """A unit price without VAT with the VAT at ``rate`` percent added (unchanged for None)."""
    if rate is None:
        return unit_price
    return round_money(Decimal(unit_price) * (100 + rate) / 100, currency)


def quote_order_pricing(
    settings: Settings,
    currency: str,
    ship_to: Address,
    tax_classes: dict[str, TaxClass],
    today: date | None = None,
) -> OrderPricing:
    """What a new quote's order will be taxed and charged with (``oms.domain.quotes``): the
    destination's VAT rows, the standard shipping charge there in ``currency`` and today's
    base-currency rate. Raises HTTPException 422 ``no_exchange_rate``."""
    today = today or datetime.now(UTC).date()
    rates, base = exchange_table(settings.exchange_rates_path), settings.base_currency
    table = vat_table(settings.vat_rates_path)
    try:
        charge = shipping.shipping_price(ship_to.country, "standard", currency, today, rates)
        base_rate = fx.rate(rates, currency, base, today)
    except fx.NoExchangeRate as err:
        raise field_error(["currency"], str(err), currency, kind="no_exchange_rate") from err
    return OrderPricing(
        vat=VatTable(eu=table.eu, rates=[r for r in table.rates if r.country == ship_to.country]),
        merchant_country=settings.merchant_country,
        tax_classes=tax_classes,
        shipping=charge,
        base_currency=base,
        base_rate=base_rate,
    )


def added_price(
    session: Session, settings: Settings, order: OrderView, sku: str, loc: list[str | int]
) -> tuple[Decimal, Decimal | None]:
    """The list price in the order's currency of an active ``sku`` a caller adds to an
    existing order (an edit, an exchange), and its VAT rate as the order is taxed
    (``oms.domain.tax.line_rate``; None for an order placed without totals); 422 naming
    ``loc`` for an unknown or inactive SKU or one without a price in that currency."""
    product = inventory.get_product(session, sku)
    if product is None or not product.active:
        raise field_error(loc, f"unknown SKU {sku!r}", sku)
    price = price_lists.get_price(session, order.currency, sku)
    if price is None:
        raise field_error(loc, f"{sku} has no price in {order.currency}", sku)
    if order.tax_treatment is None:
        return price.unit_price, None
    table, country = vat_table(settings.vat_rates_path), order.ship_to.country
    try:
        rate = tax.line_rate(
            table, order.tax_treatment, country, product.tax_class, order.placed_at.date()
        )
    except tax.NoVatRate as err:
        raise field_error(loc, str(err), sku) from err
    return price.unit_price, rate
