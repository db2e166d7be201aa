"""Models of money the OMS owns: price lists, VAT and exchange-rate tables, an order's
totals and the shipping options a checkout shows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from oms.models.common import Address, Currency, Model, Money, Sku

TaxClass = Literal["standard", "reduced", "zero"]
# Where the price of an order's lines came from: the OMS's price list, or a trusted
# channel integration (or an admin) that sends its own; "quote" for an accepted quote.
PriceSource = Literal["price_list", "channel", "quote"]
# How the order is taxed: the destination's VAT (EU: OSS for distance sales; NO, GB, CH:
# their own rates), reverse charge (EU B2B with a VAT number), or a zero-rated export.
TaxTreatment = Literal["vat", "reverse_charge", "export"]


class Price(Model):
    """One SKU's list price in one currency."""

    currency: Currency
    sku: Sku
    unit_price: Money
    updated_by: str = ""


class PriceIn(Model):
    """Body of ``PUT /price-lists/{currency}/prices/{sku}``."""

    unit_price: Money


class VatRate(Model):
    """A country's VAT rates in percent per tax class, valid from ``valid_from``."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    valid_from: date
    standard: Decimal
    reduced: Decimal
    zero: Decimal = Decimal(0)


class VatTable(Model):
    """The VAT rates as data (``oms/rules/vat_rates.json``): ``eu`` lists the member states."""

    eu: list[str]
    rates: list[VatRate]
    note: str = ""


class ExchangeRates(Model):
    """Units of ``base`` per one unit of each currency, valid from ``valid_from``."""

    valid_from: date
    per_unit: dict[str, Decimal]


class ExchangeTable(Model):
    """The exchange rates as data (``oms/rules/exchange_rates.json``)."""

    base: str
    rates: list[ExchangeRates]
    note: str = ""


class TaxableLine(Model):
    """What the totals need of one line: its price as charged and its product's tax class."""

    sku: Sku
    quantity: int = Field(ge=1)
    unit_price: Decimal
    tax_class: TaxClass = "standard"


class LineAmount(Model):
    """One line's amounts: net, tax and gross, each rounded to the currency's minor unit."""

    sku: str
    quantity: int
    unit_price: Decimal
    tax_class: TaxClass = "standard"
    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


class TaxLine(Model):
    """The tax of one rate on an order: the net amount it applies to and the tax."""

    rate: Decimal
    net: Decimal
    tax: Decimal


class OrderTotals(Model):
    """An order's money as ``oms.domain.tax.order_totals`` computes it.

    ``subtotal`` and ``shipping`` are as priced (tax included when ``prices_include_tax``);
    ``total`` is what the customer pays: subtotal + shipping (+ tax when prices exclude it).
    """

    currency: str
    country: str
    treatment: TaxTreatment
    prices_include_tax: bool
    lines: list[LineAmount]
    subtotal: Decimal
    shipping: Decimal
    shipping_tax: Decimal = Decimal(0)
    # The VAT rate of the shipping charge (None in totals computed before it was recorded).
    shipping_rate: Decimal | None = None
    tax: list[TaxLine] = Field(default_factory=list)
    tax_total: Decimal
    total: Decimal
    # Units of the merchant's base currency per unit of ``currency`` on the day the order
    # was placed: credit limits (kept in the base currency) use the order's amounts at it.
    base_currency: str | None = None
    base_rate: Decimal | None = None


class DestinationPricing(Model):
    """How an order is priced to ``country`` at ``shipping_speed``, as ``POST /orders``
    prices it there: looked up by the API from the OMS's own tables (never a caller's), for
    an edit that moves an order or changes its speed (``oms.domain.order_changes.repriced``).
    """

    country: str = Field(pattern=r"^[A-Z]{2}$")
    shipping_speed: Literal["standard", "express"]
    treatment: TaxTreatment
    # Whether prices include VAT there for an order not on invoice terms (an invoice
    # order's never do: the workflow, which knows its payment, applies that).
    prices_include_tax: bool
    # The shipping charge as priced (read as prices are: gross or net).
    shipping: Decimal
    # The VAT rate in percent of each tax class under ``treatment`` (0 for reverse charge
    # and exports); shipping is taxed at ``standard``.
    rates: dict[TaxClass, Decimal]
    # The tax class of each SKU the API knows on the order (and any the edit adds).
    tax_classes: dict[str, TaxClass] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_class_rated(self) -> DestinationPricing:
        missing = {"standard", "reduced", "zero"} - set(self.rates)
        if missing:
            raise ValueError(f"rates: no rate for {', '.join(sorted(missing))}")
        return self


class ShippingQuoteLine(Model):
    sku: Sku
    quantity: int = Field(ge=1, le=10_000)


class ShippingQuoteRequest(Model):
    """Body of ``POST /shipping/quotes``."""

    lines: list[ShippingQuoteLine] = Field(min_length=1, max_length=200)
    ship_to: Address
    currency: Currency


class ShippingOption(Model):
    """One way to ship an order, as a checkout shows it (price in the order's currency)."""

    speed: Literal["standard", "express"]
    carrier: str
    service: str
    price: Decimal
    currency: str
    transit_days: int
    estimated_delivery: date


class ShippingQuote(Model):
    options: list[ShippingOption]


class OrderPricing(Model):
    """What an accepted quote's order is taxed and charged with, fixed when the quote is
    created: the destination's VAT rows, the products' tax classes, the standard shipping
    charge in the quote's currency and the base-currency rate (``oms.domain.quotes``)."""

    vat: VatTable
    merchant_country: str
    tax_classes: dict[str, TaxClass] = Field(default_factory=dict)
    shipping: Decimal = Decimal(0)
    base_currency: str | None = None
    base_rate: Decimal | None = None


class MoneyRules(Model):
    """The tables and settings that price an order the OMS starts itself (a subscription's
    renewal), built once by the worker from the settings."""

    vat: VatTable
    fx: ExchangeTable
    merchant_country: str = "SE"
    base_currency: str = "SEK"
    tax_exclusive_channels: list[str] = Field(default_factory=list)
