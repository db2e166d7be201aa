"""``/shipping/quotes``: the shipping options a checkout shows, priced by the OMS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from oms.domain import fx
from oms.domain.auth import ROLES, Principal
from oms.domain.shipping import shipping_options
from oms.models.money import ShippingQuote, ShippingQuoteRequest
from oms.store import prices
from starters.api.auth import require
from starters.api.deps import State, api_error, field_error
from starters.api.destinations import check_country
from starters.api.pricing import exchange_table

router = APIRouter(prefix="/shipping", tags=["shipping"])
Anyone = Annotated[Principal, Depends(require(*ROLES))]


def _known(state: State, currency: str, skus: list[str]) -> set[str]:
    with state.db.read() as session:
        return set(prices.for_order(session, currency, skus))


@router.post("/quotes", response_model=ShippingQuote, responses={422: {}})
async def quote_shipping(body: ShippingQuoteRequest, state: State, caller: Anyone) -> ShippingQuote:
    """The shipping options for ``lines`` to ``ship_to`` in ``currency``: speed, carrier
    service, price and estimated delivery date. The order placed with a ``shipping_speed``
    is charged the price shown here (docs/money.md). 422 naming an unknown SKU's line, or
    ``ship_to.country`` when it is no country (a checkout may ask before it has the state or
    phone an order to that country needs: those are checked when the order is placed)."""
    check_country(body.ship_to, ["ship_to"])
    skus = [line.sku for line in body.lines]
    known = await run_in_threadpool(_known, state, body.currency, skus)
    for i, sku in enumerate(skus):
        if sku not in known:
            raise field_error(["lines", i, "sku"], f"unknown SKU {sku!r}", sku)
    try:
        options = shipping_options(
            body.ship_to.country,
            body.currency,
            datetime.now(UTC).date(),
            exchange_table(state.settings.exchange_rates_path),
        )
    except fx.NoExchangeRate as err:
        raise api_error(422, "NoExchangeRate", str(err)) from err
    return ShippingQuote(options=options)
