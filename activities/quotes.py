"""Quote activities: price a proposal from the catalogue, and publish the quote's view.

Pricing reads list prices and the company's price tier in one transaction and
applies the pure rules of ``oms.domain.pricing``. Business rejections raise a
non-retryable ``ApplicationError`` whose ``type`` is the exception's name
(``UnknownSku``, ``UnknownCompany``, ``UnknownPrice``, ``OverrideNotOnQuote``);
database errors propagate so Temporal retries them. Synchronous: run them on
the worker's thread pool.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.domain import pricing
from oms.models.orders import RecordResult
from oms.models.quotes import PriceQuoteRequest, Proposal, QuoteView
from oms.store import quotes
from oms.store.db import Database
from oms.store.errors import StoreError


class QuoteActivities:
    """Activities of the quote workflow, built with the process's ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="quotes.price")
    def price(self, request: PriceQuoteRequest) -> Proposal:
        """Price the quote's lines: list price, tier and volume discounts, seller overrides.

        Raises ApplicationError (non-retryable) ``UnknownSku`` for a SKU not in the
        catalogue, ``UnknownCompany`` for a company that does not exist, and
        ``OverrideNotOnQuote`` for an override of a SKU the quote does not ask for.
        """
        try:
            with self._db.session() as session:
                prices = quotes.list_prices(session, [line.sku for line in request.lines])
                tier = quotes.company_tier(session, request.company_id)
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
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc

    @activity.defn(name="quotes.record_quote")
    def record_quote(self, view: QuoteView) -> RecordResult:
        """Store the quote's view unless a newer version is already stored."""
        with self._db.session() as session:
            return RecordResult(written=quotes.record_quote(session, view))
