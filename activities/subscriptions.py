"""Subscription activities: price a renewal from the catalogue, and publish the view.

A renewal is always priced at the catalogue's list prices of the moment it renews,
never at prices a caller sent. Business rejections raise a non-retryable
``ApplicationError`` whose ``type`` is the store exception's name (``UnknownSku``,
``CurrencyMismatch``); database errors propagate so Temporal retries them.
Synchronous: run them on the worker's thread pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.domain.money import order_total
from oms.models.orders import OrderLine, RecordResult
from oms.models.subscriptions import PriceRenewal, RenewalPrice, SubscriptionView
from oms.store.errors import StoreError


class Subscriptions(Protocol):
    """Catalogue prices and the read model (``oms.store.subscriptions.SubscriptionStore``)."""

    def catalogue_prices(self, skus: Iterable[str], currency: str) -> dict[str, Decimal]: ...

    def record_subscription(self, view: SubscriptionView) -> bool: ...


class SubscriptionActivities:
    """Activities of the subscription workflow, built with its store."""

    def __init__(self, store: Subscriptions) -> None:
        self._store = store

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
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        lines = [
            OrderLine(sku=line.sku, quantity=line.quantity, unit_price=prices[line.sku])
            for line in request.lines
        ]
        return RenewalPrice(lines=lines, total=order_total(lines))

    @activity.defn(name="subscriptions.record_subscription")
    def record_subscription(self, view: SubscriptionView) -> RecordResult:
        """Store the subscription's view unless a newer version is already stored."""
        return RecordResult(written=self._store.record_subscription(view))
