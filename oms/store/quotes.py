"""Read model of B2B quotes, and what pricing a quote reads: list prices and price tiers.

Like the orders read model, each row stores the workflow's whole view as JSON
plus the columns lists filter on; an older or equal ``version`` never
overwrites a newer one, so activity retries and late deliveries are harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from oms.models.common import Page
from oms.models.credit import PriceTier
from oms.models.quotes import QuoteStatus, QuoteView
from oms.store import credit, paging, prices
from oms.store.db import Bound, in_transaction
from oms.store.errors import UnknownCompany
from oms.store.tables import QuoteRow
from oms.store.versioned import record_view, stored_view, view_columns


def record_quote(session: Session, view: QuoteView) -> bool:
    """Store ``view`` unless a newer or equal version is stored; ``True`` if it was written."""
    values = {
        "quote_id": view.quote_id,
        "status": view.status.value,
        "customer_id": view.customer.id,
        "company_id": view.customer.company_id,
        **view_columns(view),
    }
    return record_view(session, QuoteRow, "quote", view.quote_id, view, values)


def get_quote(session: Session, quote_id: str) -> QuoteView | None:
    return stored_view(session, QuoteRow, quote_id, QuoteView)


def list_quotes(
    session: Session,
    status: QuoteStatus | str | None = None,
    company_id: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
    customer_id: str | None = None,
) -> Page[QuoteView]:
    """Quotes most recently changed first, optionally of one status, company and/or customer.

    Raises ``ValueError`` for a status that is not a ``QuoteStatus``, ``InvalidCursor`` for
    a foreign cursor.
    """
    query = paging.where_given(
        select(QuoteRow),
        {
            QuoteRow.status: paging.status_value(QuoteStatus, status),
            QuoteRow.company_id: company_id,
            QuoteRow.customer_id: customer_id,
        },
    )
    keys = [(QuoteRow.updated_at, True), (QuoteRow.quote_id, True)]
    return paging.page(session, query, keys, _quote_view, cursor=cursor, limit=limit)


def _quote_view(row: QuoteRow) -> QuoteView:
    return QuoteView.model_validate(row.view)


def list_prices(session: Session, skus: Iterable[str], currency: str = "SEK") -> dict[str, Decimal]:
    """The list price in ``currency`` of each of ``skus`` (``oms.store.prices``); a SKU
    without a price in that currency is left out, so pricing names it.

    Raises ``UnknownSku`` naming every SKU that is not in the catalogue.
    """
    return prices.list_prices_in(session, currency, skus)


def company_tier(session: Session, company_id: str) -> PriceTier:
    """The company's price tier. Raises ``UnknownCompany``."""
    company = credit.get_company(session, company_id)
    if company is None:
        raise UnknownCompany(f"unknown company {company_id!r}")
    return company.tier


class QuoteStore(Bound):
    """Prices, tiers and the quote read model as the quote activities use them."""

    def pricing_inputs(
        self, skus: Iterable[str], company_id: str, currency: str = "SEK"
    ) -> tuple[dict[str, Decimal], PriceTier]:
        """List prices of ``skus`` in ``currency`` and the company's tier, read in one
        transaction; raises ``UnknownSku`` and ``UnknownCompany``."""
        return self._tx(lambda s: (list_prices(s, skus, currency), company_tier(s, company_id)))

    record_quote = in_transaction(record_quote)
