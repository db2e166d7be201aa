"""``/price-lists``: each SKU's list price per currency, the prices buyers are charged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from oms.domain.auth import ROLES, Principal
from oms.models.common import SUPPORTED_CURRENCIES, Page
from oms.models.money import Price, PriceIn
from oms.store import prices
from oms.store.errors import UnknownSku
from starters.api.auth import require
from starters.api.deps import Paging, State, api_error, found, in_store, invalid

router = APIRouter(prefix="/price-lists", tags=["catalogue"])
Anyone = Annotated[Principal, Depends(require(*ROLES))]
Admin = Annotated[Principal, Depends(require("admin"))]
CurrencyPath = Annotated[
    str, Path(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])
]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.get("/{currency}/prices", response_model=Page[Price])
def list_prices(currency: CurrencyPath, state: State, caller: Anyone, page: Paging) -> Page[Price]:
    """One currency's list prices by SKU, a page at a time."""
    with state.db.read() as session:
        return prices.list_prices(session, currency, page.limit, page.cursor)


@router.get("/{currency}/prices/{sku}", response_model=Price, responses={404: {}})
def get_price(currency: CurrencyPath, sku: SkuPath, state: State, caller: Anyone) -> Price:
    """One SKU's list price in one currency; 404 ``NoPrice`` when it has none."""
    with state.db.read() as session:
        price = prices.get_price(session, currency, sku)
    return found(price, api_error(404, "NoPrice", f"no {currency} price for {sku}"))


@router.put("/{currency}/prices/{sku}", response_model=Price, responses={404: {}, 422: {}})
async def put_price(
    currency: CurrencyPath, sku: SkuPath, body: PriceIn, state: State, caller: Admin
) -> Price:
    """Set one SKU's list price in one currency (the product's own price too, when it is the
    product's currency); orders placed afterwards are priced with it. 404 ``UnknownSku``,
    422 for a currency orders cannot be placed in."""
    if currency not in SUPPORTED_CURRENCIES:
        raise invalid(
            ["path", "currency"],
            f"unsupported currency; use one of {sorted(SUPPORTED_CURRENCIES)}",
            currency,
        )
    try:
        return await in_store(
            state,
            lambda session: prices.set_price(
                session, currency, sku, body.unit_price, caller.subject
            ),
        )
    except UnknownSku as err:
        raise api_error(404, "UnknownSku", str(err)) from err
