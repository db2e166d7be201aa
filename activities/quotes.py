"""Quote activities: price a proposal from the catalogue, and publish the quote's view.

Pricing reads list prices and the company's price tier in one transaction and
applies the pure rules of ``oms.domain.pricing``. Business rejections raise a
non-retryable ``ApplicationError`` whose ``type`` is the exception's name
(``UnknownSku``, ``UnknownCompany``, ``UnknownPrice``, ``OverrideNotOnQuote``);
database errors propagate so Temporal retries them. Synchronous: run them on
the worker's thread pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from temporalio import activity

from activities.rejections import rejected
from oms.domain import pricing
from oms.models.credit import PriceTier
from oms.models.orders import RecordResult
from oms.models.quotes import PriceQuoteRequest, Proposal, QuoteView
from oms.store.errors import StoreError


class Quotes(Protocol):
    """Prices, tiers and the quote read model (``oms.store.quotes.QuoteStore``)."""

    def pricing_inputs(
        self, skus: Iterable[str], company_id: str, currency: str = "SEK"
    ) -> tuple[dict[str, Decimal], PriceTier]: ...

    def record_quote(self, view: QuoteView) -> bool: ...


class QuoteActivities:
    """Activities of the quote workflow, built with its store."""

    def __init__(self, store: Quotes) -> None:
        self._store = store

    @activity.defn(name="quotes.price")
    def price(self, request: PriceQuoteRequest) -> Proposal:
        """Price the quote's lines from the quote currency's price list: list price, tier
        and volume discounts, seller overrides.

        Raises ApplicationError (non-retryable) ``UnknownSku`` for a SKU not in the
        catalogue, ``UnknownCompany`` for a company that does not exist, and
        ``UnknownPrice`` for a SKU without a price in the quote's currency, and
        ``OverrideNotOnQuote`` for an override of a SKU the quote does not ask for.
        """
        try:
            prices, tier = self._store.pricing_inputs(
                [line.sku for line in request.lines], request.company_id, request.currency
            )
            return pricing.price_quote(
                request.lines,
                prices,
                tier,
                request.overrides,
                round=request.round,
                by=request.by,
                at=datetime.now(UTC),
                comment=request.comment,
                list_prices_only=request.list_prices_only,
            )
        except (StoreError, pricing.PricingError) as exc:
            raise rejected(exc) from exc

    @activity.defn(name="quotes.record_quote")
    def record_quote(self, view: QuoteView) -> RecordResult:
        """Store the quote's view unless a newer version is already stored."""
        return RecordResult(written=self._store.record_quote(view))
