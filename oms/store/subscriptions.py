"""Read model of subscriptions, and the catalogue prices a renewal is placed at.

Like the other read models, each row keeps the workflow's whole view as JSON plus the
columns lists filter on, written with the view's ``version`` so an older view never
overwrites a newer one; the write emits the subscription's events in its transaction
(``oms.store.events``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oms.domain.subscription_report import SubscriptionFacts
from oms.models.common import Page
from oms.models.money import TaxClass
from oms.models.subscriptions import SubscriptionStatus, SubscriptionView
from oms.store import paging, prices
from oms.store.db import Bound, as_utc, in_transaction
from oms.store.errors import CurrencyMismatch, UnknownSku
from oms.store.tables import OrderRow, PriceRow, ProductRow, SubscriptionRow
from oms.store.versioned import record_view, stored_view, view_columns


def record_subscription(session: Session, view: SubscriptionView) -> bool:
    """Store ``view`` unless a newer or equal version is stored; ``True`` if it was written."""
    values: dict[str, Any] = {
        "subscription_id": view.subscription_id,
        "status": view.status.value,
        "customer_id": view.customer.id,
        "interval": view.interval,
        "next_renewal_at": view.next_renewal_at,
        "last_error": view.last_error,
        "created_at": view.created_at,
        **view_columns(view),
    }
    return record_view(session, SubscriptionRow, "subscription", view.subscription_id, view, values)


def get_subscription(session: Session, subscription_id: str) -> SubscriptionView | None:
    return stored_view(session, SubscriptionRow, subscription_id, SubscriptionView)


def list_subscriptions(
    session: Session,
    customer_id: str | None = None,
    status: SubscriptionStatus | str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[SubscriptionView]:
    """Subscriptions newest first, optionally of one customer and status.

    Raises ``ValueError`` for a status that is not a ``SubscriptionStatus`` and
    ``InvalidCursor`` for a foreign cursor.
    """
    query = paging.where_given(
        select(SubscriptionRow),
        {
            SubscriptionRow.customer_id: customer_id,
            SubscriptionRow.status: paging.status_value(SubscriptionStatus, status),
        },
    )
    keys = [(SubscriptionRow.created_at, True), (SubscriptionRow.subscription_id, True)]
    return paging.page(session, query, keys, _view, cursor=cursor, limit=limit)


def report_facts(session: Session, until: datetime) -> list[SubscriptionFacts]:
    """What the subscriptions report counts, for every subscription created before
    ``until``: its start, its cancellation (the first ``cancelled`` in its history) and the
    placing of each renewal order."""
    query = select(SubscriptionRow).where(SubscriptionRow.created_at < until)
    facts = []
    for row in session.scalars(query):
        view = _view(row)
        cancelled = next((h.at for h in view.history if h.status == "cancelled"), None)
        facts.append(
            SubscriptionFacts(
                created_at=as_utc(view.created_at),
                cancelled_at=as_utc(cancelled) if cancelled is not None else None,
                renewals=tuple(as_utc(o.placed_at) for o in view.orders),
            )
        )
    return facts


def _view(row: SubscriptionRow) -> SubscriptionView:
    return SubscriptionView.model_validate(row.view)


def last_errors(session: Session, subscription_ids: Iterable[str]) -> dict[str, str]:
    """The last renewal failure of each of ``subscription_ids`` that has one."""
    wanted = list(set(subscription_ids))
    if not wanted:
        return {}
    query = select(SubscriptionRow.subscription_id, SubscriptionRow.last_error).where(
        SubscriptionRow.subscription_id.in_(wanted), SubscriptionRow.last_error.is_not(None)
    )
    return {sid: error for sid, error in session.execute(query) if error}


def order_statuses(session: Session, order_ids: Iterable[str]) -> dict[str, str]:
    """The read model's status of each of ``order_ids`` that has a row yet."""
    wanted = list(set(order_ids))
    if not wanted:
        return {}
    query = select(OrderRow.order_id, OrderRow.status).where(OrderRow.order_id.in_(wanted))
    return {order_id: status for order_id, status in session.execute(query)}


def catalogue_prices(session: Session, skus: Iterable[str], currency: str) -> dict[str, Decimal]:
    """The list price of each of ``skus`` in ``currency`` (``oms.store.prices``), from
    active products only.

    Raises ``UnknownSku`` naming every SKU not sold, ``CurrencyMismatch`` naming those
    with no price in ``currency``.
    """
    wanted = set(skus)
    rows = session.execute(
        select(ProductRow.sku, PriceRow.unit_price)
        .outerjoin(PriceRow, (PriceRow.sku == ProductRow.sku) & (PriceRow.currency == currency))
        .where(ProductRow.sku.in_(wanted), ProductRow.active.is_(True))
    ).all()
    unknown = wanted - {sku for sku, _ in rows}
    if unknown:
        raise UnknownSku(f"unknown SKU(s): {', '.join(sorted(unknown))}")
    other = sorted(sku for sku, price in rows if price is None)
    if other:
        raise CurrencyMismatch(f"not priced in {currency}: {', '.join(other)}")
    return {sku: price for sku, price in rows}


class SubscriptionStore(Bound):
    """Catalogue prices and the subscription read model as the activities use them."""

    def catalogue_prices(self, skus: Iterable[str], currency: str) -> dict[str, Decimal]:
        """``catalogue_prices`` in a transaction of its own."""
        return self._tx(lambda s: catalogue_prices(s, skus, currency))

    def tax_classes(self, skus: Iterable[str]) -> dict[str, TaxClass]:
        """``oms.store.prices.tax_classes`` in a transaction of its own."""
        return self._tx(lambda s: prices.tax_classes(s, skus))

    record_subscription = in_transaction(record_subscription)
