"""Subscription activities: price a renewal from the catalogue, and publish the view.

A renewal is always priced at the catalogue's list prices of the moment it renews,
never at prices a caller sent. Business rejections raise a non-retryable
``ApplicationError`` whose ``type`` is the store exception's name (``UnknownSku``,
``CurrencyMismatch``); database errors propagate so Temporal retries them.
Synchronous: run them on the worker's thread pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from temporalio import activity

from activities.rejections import rejected
from oms.domain import fx, shipping, tax
from oms.domain.money import order_total
from oms.models.money import MoneyRules, OrderTotals, TaxableLine, TaxClass
from oms.models.orders import OrderLine, RecordResult
from oms.models.subscriptions import PriceRenewal, RenewalPrice, SubscriptionView
from oms.store.errors import StoreError


class Subscriptions(Protocol):
    """Catalogue prices and the read model (``oms.store.subscriptions.SubscriptionStore``)."""

    def catalogue_prices(self, skus: Iterable[str], currency: str) -> dict[str, Decimal]: ...

    def tax_classes(self, skus: Iterable[str]) -> dict[str, TaxClass]: ...

    def record_subscription(self, view: SubscriptionView) -> bool: ...


class SubscriptionActivities:
    """Activities of the subscription workflow, built with its store and, to tax renewals
    and charge their shipping, the money rules (without them a renewal costs its lines)."""

    def __init__(self, store: Subscriptions, money: MoneyRules | None = None) -> None:
        self._store, self._money = store, money

    @activity.defn(name="subscriptions.price_renewal")
    def price_renewal(self, request: PriceRenewal) -> RenewalPrice:
        """The renewal's order lines at today's list prices, and their total.

        Raises ApplicationError (non-retryable) ``UnknownSku`` for a SKU no longer sold
        and ``CurrencyMismatch`` for one priced in another currency.
        """
        try:
            prices = self._store.catalogue_prices(
                [line.sku for line in request.lines], request.currency
            )
        except StoreError as exc:
            raise rejected(exc) from exc
        lines = [
            OrderLine(sku=line.sku, quantity=line.quantity, unit_price=prices[line.sku])
            for line in request.lines
        ]
        if self._money is None or request.ship_to is None:
            return RenewalPrice(lines=lines, total=order_total(lines))
        try:
            totals = self._totals(request, lines)
        except (tax.NoVatRate, fx.NoExchangeRate) as exc:
            raise rejected(exc) from exc
        for line, amount in zip(lines, totals.lines, strict=True):
            line.tax_rate = amount.rate
        return RenewalPrice(lines=lines, total=totals.total, totals=totals)

    def _totals(self, request: PriceRenewal, lines: list[OrderLine]) -> OrderTotals:
        """The renewal's totals: its lines, the shipping charge and VAT, as for any order."""
        money, ship_to = self._money, request.ship_to
        assert money is not None and ship_to is not None
        today = datetime.now(UTC).date()
        classes = self._store.tax_classes([line.sku for line in lines])
        country, currency = ship_to.country, request.currency
        business = tax.valid_vat_number(request.vat_number, country)
        totals = tax.order_totals(
            [
                TaxableLine(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    tax_class=classes.get(line.sku, "standard"),
                )
                for line in lines
            ],
            shipping.shipping_price(country, request.shipping_speed, currency, today, money.fx),
            currency=currency,
            country=country,
            on=today,
            table=money.vat,
            seller_country=money.merchant_country,
            vat_number=request.vat_number,
            prices_include_tax=not (business or "subscription" in money.tax_exclusive_channels),
        )
        totals.base_currency = money.base_currency
        totals.base_rate = fx.rate(money.fx, currency, money.base_currency, today)
        return totals

    @activity.defn(name="subscriptions.record_subscription")
    def record_subscription(self, view: SubscriptionView) -> RecordResult:
        """Store the subscription's view unless a newer version is already stored."""
        return RecordResult(written=self._store.record_subscription(view))
