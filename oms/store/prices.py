"""Price lists: each SKU's list price per currency, the prices the OMS charges buyers.

A product's own ``unit_price`` is its list price in its own currency: writing the product
writes that row too, and writing that row writes the product's price, so the two never
disagree. Functions run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from oms.models.common import Page
from oms.models.money import Price, TaxClass
from oms.store import paging
from oms.store.errors import UnknownSku
from oms.store.tables import PriceRow, ProductRow


def _price(row: PriceRow) -> Price:
    return Price(
        currency=row.currency, sku=row.sku, unit_price=row.unit_price, updated_by=row.updated_by
    )


def list_prices(
    session: Session, currency: str, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Price]:
    """``currency``'s price list by SKU. Raises ``InvalidCursor`` for a foreign cursor."""
    query = select(PriceRow).where(PriceRow.currency == currency)
    return paging.page(session, query, [(PriceRow.sku, False)], _price, cursor=cursor, limit=limit)


def get_price(session: Session, currency: str, sku: str) -> Price | None:
    row = session.get(PriceRow, (currency, sku))
    return None if row is None else _price(row)


def set_price(session: Session, currency: str, sku: str, unit_price: Decimal, by: str) -> Price:
    """Create or replace ``sku``'s price in ``currency`` (and the product's own price when
    it is the product's currency). Raises ``UnknownSku``."""
    product = session.get(ProductRow, sku, with_for_update=True)
    if product is None:
        raise UnknownSku(f"unknown SKU {sku!r}")
    row = _put(session, currency, sku, unit_price, by)
    if product.currency == currency:
        product.unit_price = unit_price
    session.flush()
    return _price(row)


def home_price(session: Session, product: ProductRow, by: str = "catalogue") -> None:
    """Write ``product``'s own price as its list price in its own currency."""
    _put(session, product.currency, product.sku, Decimal(product.unit_price), by)
    session.flush()


def _put(session: Session, currency: str, sku: str, unit_price: Decimal, by: str) -> PriceRow:
    row = session.get(PriceRow, (currency, sku), with_for_update=True)
    now = datetime.now(UTC)
    if row is None:
        row = PriceRow(currency=currency, sku=sku, unit_price=unit_price, updated_by=by)
        row.updated_at = now
        session.add(row)
    else:
        row.unit_price, row.updated_by, row.updated_at = unit_price, by, now
    return row


def for_order(
    session: Session, currency: str, skus: Iterable[str]
) -> dict[str, tuple[Decimal | None, TaxClass]]:
    """Each known SKU of ``skus``: its list price in ``currency`` (None without one) and its
    tax class; an unknown SKU is left out."""
    wanted = set(skus)
    if not wanted:
        return {}
    found: dict[str, tuple[Decimal | None, TaxClass]] = {}
    query = (
        select(ProductRow.sku, ProductRow.tax_class, PriceRow.unit_price)
        .outerjoin(PriceRow, (PriceRow.sku == ProductRow.sku) & (PriceRow.currency == currency))
        .where(ProductRow.sku.in_(wanted))
    )
    for sku, tax_class, price in session.execute(query):
        found[sku] = (price, tax_class)
    return found


def list_prices_in(session: Session, currency: str, skus: Iterable[str]) -> dict[str, Decimal]:
    """The list price in ``currency`` of each of ``skus``.

    Raises ``UnknownSku`` naming every SKU that is not in the catalogue; a known SKU
    without a price in ``currency`` is left out (the caller says what that means).
    """
    known = for_order(session, currency, skus)
    unknown = set(skus) - set(known)
    if unknown:
        raise UnknownSku(f"unknown SKU(s): {', '.join(sorted(unknown))}")
    return {sku: price for sku, (price, _cls) in known.items() if price is not None}


def tax_classes(session: Session, skus: Iterable[str]) -> dict[str, TaxClass]:
    """The tax class of each known SKU of ``skus``."""
    wanted = set(skus)
    if not wanted:
        return {}
    query = select(ProductRow.sku, ProductRow.tax_class).where(ProductRow.sku.in_(wanted))
    return {sku: tax_class for sku, tax_class in session.execute(query)}
