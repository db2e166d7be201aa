"""``/products`` and ``/warehouses``: the catalogue and stock levels."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from oms.countries import COUNTRIES
from oms.domain.auth import ROLES, Principal
from oms.domain.geo import locate_place
from oms.domain.shipping import address_problems
from oms.models.common import Address, Page
from oms.models.inventory import (
    Product,
    ProductIn,
    SetStock,
    StockLevel,
    StockReceipt,
    Warehouse,
    WarehouseIn,
)
from oms.models.orders import BackorderWake
from oms.store import inventory
from oms.store.errors import StockBelowReserved, UnknownSku, UnknownWarehouse
from starters.api.auth import require
from starters.api.deps import Paging, State, api_error, field_errors, found, in_store
from workflows.order import OrderWorkflow, order_workflow_id

router = APIRouter(tags=["catalogue"])
log = logging.getLogger("oms.api")
Anyone = Annotated[Principal, Depends(require(*ROLES))]
Staff = Annotated[Principal, Depends(require(*(r for r in ROLES if r != "buyer")))]
Admin = Annotated[Principal, Depends(require("admin"))]
StockKeeper = Annotated[Principal, Depends(require("warehouse"))]


@router.get("/products", response_model=Page[Product])
def list_products(state: State, caller: Anyone, page: Paging) -> Page[Product]:
    """Products by SKU, a page at a time."""
    with state.db.read() as session:
        return inventory.list_products(session, page.limit, page.cursor)


@router.get("/products/{sku}", response_model=Product)
def get_product(sku: str, state: State, caller: Anyone) -> Product:
    """One product; 404 ``UnknownSku``. Whoever may list the catalogue may read one of it."""
    with state.db.read() as session:
        product = inventory.get_product(session, sku)
    return found(product, api_error(404, "UnknownSku", f"unknown SKU {sku!r}"))


@router.put("/products/{sku}", response_model=Product)
def put_product(
    sku: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    body: ProductIn,
    state: State,
    caller: Admin,
) -> Product:
    """Create or replace a product: every field is replaced, one left out takes its default
    (weight 500 g, no customs data, standard VAT); ``unit_price`` is required (a 422 names
    it) so no product is ever priced 0.00 by omission."""
    with state.db.session() as session:
        return inventory.upsert_product(session, sku, body)


@router.get("/warehouses", response_model=Page[Warehouse])
def list_warehouses(state: State, caller: Staff, page: Paging) -> Page[Warehouse]:
    """Active warehouses by id, a page at a time."""
    with state.db.read() as session:
        return inventory.list_warehouses(session, page.limit, page.cursor)


WarehouseId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]


@router.get("/warehouses/{warehouse_id}", response_model=Warehouse)
def get_warehouse(warehouse_id: str, state: State, caller: Staff) -> Warehouse:
    """One warehouse, active or not; 404 ``UnknownWarehouse`` when the store has none."""
    with state.db.read() as session:
        warehouse = inventory.get_warehouse(session, warehouse_id)
    return found(
        warehouse, api_error(404, "UnknownWarehouse", f"unknown warehouse {warehouse_id!r}")
    )


@router.put("/warehouses/{warehouse_id}", response_model=Warehouse, responses={422: {}})
def put_warehouse(
    warehouse_id: WarehouseId, body: WarehouseIn, state: State, caller: Admin
) -> Warehouse:
    """Create or replace a warehouse: its address (the sender on every label) and where it
    is (allocation ships from the nearest warehouse that has the stock).

    ``lat`` and ``lon`` go together; without them the warehouse is placed at its city, else
    its postcode's region, and a place the OMS does not know is a 422 naming both. A
    ``country`` that is not an ISO 3166-1 code, or a ``postal_code`` not of its country's
    format, is a 422 naming it. Stock is then set per SKU with
    ``PUT /warehouses/{id}/stock/{sku}``.
    """
    warehouse = Warehouse(warehouse_id=warehouse_id, **_located(body))
    with state.db.session() as session:
        return inventory.put_warehouse(session, warehouse)


def _located(body: WarehouseIn) -> dict[str, Any]:
    """``body``'s fields with its coordinates filled in; raises a 422 naming every field a
    warehouse cannot have (see ``put_warehouse``)."""
    problems: list[tuple[list[str | int], str, Any]] = []
    if body.country not in COUNTRIES:
        problems.append((["country"], "not an ISO 3166-1 alpha-2 country code", body.country))
    else:
        sender = Address(
            name=body.name,
            line1=body.line1,
            postal_code=body.postal_code,
            city=body.city,
            country=body.country,
        )
        for name, reason in address_problems(sender):
            if name == "postal_code":  # a country or region the carrier refuses is its to say
                problems.append((["postal_code"], reason, body.postal_code))
    values = body.model_dump()
    if body.lat is None and body.lon is None:
        spot = locate_place(body.postal_code, body.city, body.country)
        if spot is None:
            reason = "give lat and lon: the OMS cannot place this city or postcode"
            problems += [(["lat"], reason, None), (["lon"], reason, None)]
        else:
            values["lat"], values["lon"] = spot
    elif body.lat is None or body.lon is None:
        missing = "lat" if body.lat is None else "lon"
        problems.append(([missing], "lat and lon go together: give both or neither", None))
    if problems:
        raise field_errors(problems)
    return values


@router.get("/warehouses/{warehouse_id}/stock", response_model=Page[StockLevel])
def warehouse_stock(
    warehouse_id: str, state: State, caller: Staff, page: Paging
) -> Page[StockLevel]:
    """One warehouse's stock by SKU, a page at a time; 404 for an unknown warehouse."""
    return _stock_page(state, page, warehouse_id=warehouse_id)


@router.get("/stock", response_model=Page[StockLevel])
def stock(
    state: State,
    caller: Staff,
    page: Paging,
    sku: str | None = None,
    warehouse_id: str | None = None,
) -> Page[StockLevel]:
    """Stock by warehouse and SKU (optionally one SKU, one warehouse), a page at a time;
    404 for an unknown warehouse."""
    return _stock_page(state, page, warehouse_id=warehouse_id, sku=sku)


def _stock_page(
    state: State, page: Paging, *, warehouse_id: str | None, sku: str | None = None
) -> Page[StockLevel]:
    try:
        with state.db.read() as session:
            return inventory.page_stock(
                session, warehouse_id=warehouse_id, sku=sku, limit=page.limit, cursor=page.cursor
            )
    except UnknownWarehouse as err:
        raise api_error(404, "UnknownWarehouse", str(err)) from err


@router.put("/warehouses/{warehouse_id}/stock/{sku}", response_model=StockReceipt)
async def set_stock(
    warehouse_id: str, sku: str, body: SetStock, state: State, caller: StockKeeper
) -> StockReceipt:
    """Set on-hand stock; arrived units fill backorders first placed, first served.

    Each change is a stock movement recording the caller (from the token) and ``reason``.

    The store assigns the units to backorders in the same transaction; the
    orders are then woken by signal (and re-check on a timer if a wake is lost).
    """
    try:
        receipt = await in_store(
            state,
            lambda session: inventory.set_stock(
                session, warehouse_id, sku, body.on_hand, by=caller.subject, reason=body.reason
            ),
        )
    except (UnknownWarehouse, UnknownSku) as err:
        raise api_error(404, type(err).__name__, str(err)) from err
    except StockBelowReserved as err:
        raise api_error(409, "StockBelowReserved", str(err)) from err
    for order_id in receipt.filled_orders:
        try:
            handle = state.client.get_workflow_handle(order_workflow_id(order_id))
            await handle.signal(
                OrderWorkflow.backorder_wake, BackorderWake(warehouse_id=warehouse_id, sku=sku)
            )
        except Exception:  # the order re-checks its backorder on a timer
            log.warning("could not wake order %s after stock arrival", order_id, exc_info=True)
    return receipt
