"""Models of warehouses, stock and allocation decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from oms.models.common import Address, Currency, Model, Sku, SkuQuantity, Text
from oms.models.customs import COUNTRY_PATTERN, HS_CODE_PATTERN


class Warehouse(Model):
    warehouse_id: str = Field(min_length=1, max_length=32)
    name: str
    city: str
    postal_code: str = ""
    country: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    line1: str = ""
    # An inactive warehouse keeps its stock but allocation no longer ships from it.
    active: bool = True


class WarehouseIn(Model):
    """Body of ``PUT /warehouses/{id}``: the warehouse's address, which every parcel it ships
    names as the sender, and where it is, which allocation ranks warehouses by (nearest
    first). Without ``lat`` and ``lon`` it is placed at its city, else its postcode's region,
    when the OMS knows it (``oms.domain.geo``)."""

    name: Text = Field(min_length=1, max_length=200)
    line1: Text = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=16)
    city: Text = Field(min_length=1, max_length=100)
    country: str = Field(pattern=COUNTRY_PATTERN, examples=["SE"])
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    active: bool = True


class StockLevel(Model):
    warehouse_id: str
    sku: Sku
    on_hand: int
    reserved: int
    available: int


class SetStock(Model):
    """Body of ``PUT /warehouses/{id}/stock/{sku}``."""

    on_hand: int = Field(ge=0, le=10_000_000)
    # Why the count changed, kept on the stock movement with the caller's name.
    reason: Text = Field(default="stock count", min_length=1, max_length=200)


class ProductIn(Model):
    """Body of ``PUT /products/{sku}``: the whole product (a PUT replaces every field; one
    left out takes its default). ``unit_price`` has none: a product sent without it used to
    be priced 0.00 in its currency's list and sold for nothing."""

    name: Text = Field(min_length=1, max_length=200)
    unit_price: str = Field(pattern=r"^\d{1,12}(\.\d{1,2})?$", examples=["249.00"])
    currency: Currency = "SEK"
    weight_grams: int = Field(default=500, ge=1, le=1_000_000)  # grams: up to a tonne
    active: bool = True
    returnable: bool = True
    # Customs master data, required to ship the product out of the EU (NO, GB, CH, US):
    # the Harmonized System code (6 digits, or 8/10 with a national subheading) and the
    # country where it was made.
    hs_code: str | None = Field(default=None, pattern=HS_CODE_PATTERN, examples=["610910"])
    origin_country: str | None = Field(default=None, pattern=COUNTRY_PATTERN, examples=["PT"])
    # The VAT rate that applies (standard, reduced: books and food, zero).
    tax_class: Literal["standard", "reduced", "zero"] = "standard"


class _Keyed(Model):
    sku: Sku


# A catalogue product: its SKU, then what ``PUT /products/{sku}`` sets (pydantic puts the
# fields of the last base first, so ``sku`` leads, as the API has always shown it).
class Product(ProductIn, _Keyed):
    pass


class Candidate(Model):
    """A warehouse considered by allocation and what it had when it was considered."""

    warehouse_id: str
    distance_km: float | None
    stock_seen: dict[str, int]


def not_set(value: bool) -> bool:
    """``exclude_if`` of a flag left out of a payload when unset (a payload from before it
    existed, which a worker from before still reads)."""
    return not value


class PlannedShipment(Model):
    shipment_id: str
    warehouse_id: str
    lines: list[SkuQuantity]
    ship_from: Address | None = None
    # Units the order owes at no charge (a claim's reship): the parcel captures nothing.
    # Left out of a payload when unset, so a paid parcel's payload is what it always was.
    free: bool = Field(default=False, exclude_if=not_set)


class AllocationDecision(Model):
    """Why an order's stock came from where it came from."""

    key: str
    rule: str
    decided_at: datetime
    candidates: list[Candidate] = Field(default_factory=list)
    shipments: list[PlannedShipment] = Field(default_factory=list)
    backordered: list[SkuQuantity] = Field(default_factory=list)


class AllocationBasis(Model):
    """What allocating an order's ``lines`` decides on: where they go (the nearest warehouse
    first) and when the order was placed; idempotent on ``key``."""

    key: str
    order_id: str
    lines: list[SkuQuantity]
    postal_code: str
    city: str
    country: str
    placed_at: datetime


class AllocateRequest(AllocationBasis):
    """Reserve stock for ``lines`` of ``order_id``, idempotent on ``key``."""

    # Shipments created by this allocation are numbered from here: ``<order_id>-S<n>``.
    first_shipment_no: int = 1
    # Re-routing: leave these warehouses out, or consider only these.
    exclude_warehouses: list[str] = Field(default_factory=list)
    only_warehouses: list[str] = Field(default_factory=list)
    # A claim's reship: the units are sent again at no charge, now and when what no
    # warehouse has is filled later (its backorders are owed free).
    free: bool = Field(default=False, exclude_if=not_set)


class ReleaseRequest(Model):
    """Release every open reservation of ``order_id`` (optionally one shipment's)."""

    order_id: str
    warehouse_id: str | None = None
    shipment_id: str | None = None


class ReleaseResult(Model):
    released_units: int
    # Orders whose backorders the freed stock filled: the caller wakes them.
    filled_orders: list[str] = Field(default_factory=list)


class ConsumeRequest(Model):
    """Stock left the building: turn the shipment's reservations into shipped units."""

    shipment_id: str
    order_id: str
    warehouse_id: str
    lines: list[SkuQuantity]


class ConsumeResult(Model):
    consumed_units: int


class BackorderCheck(Model):
    """Claim stock that arrived for ``order_id``'s backorders, idempotent on ``key``."""

    key: str
    order_id: str
    first_shipment_no: int


class BackorderFill(Model):
    """Stock that arrived for a backordered order, grouped by warehouse and, apart, the
    units owed at no charge (``PlannedShipment.free``)."""

    key: str
    shipments: list[PlannedShipment] = Field(default_factory=list)
    still_backordered: list[SkuQuantity] = Field(default_factory=list)


class StockReceipt(Model):
    """Result of setting stock: the new level and the backorders it filled."""

    stock: StockLevel
    filled_orders: list[str] = Field(default_factory=list)
