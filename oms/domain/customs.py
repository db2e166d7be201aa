"""Customs declarations for parcels that leave a customs area: pure rules, no I/O.

Which parcels need one is :func:`oms.domain.shipping.crosses_customs_border`; this module
builds the declaration from the parcel's lines and the catalogue's master data (HS code,
country of origin, weight), and says which products lack what customs needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from oms.domain.money import PricedLine, line_total, quantize
from oms.models.customs import CustomsDeclaration, CustomsItem, Incoterms


class CustomsFacts(Protocol):
    """What customs needs of a product (``oms.models.inventory.Product``)."""

    @property
    def name(self) -> str: ...

    @property
    def hs_code(self) -> str | None: ...

    @property
    def origin_country(self) -> str | None: ...

    @property
    def weight_grams(self) -> int: ...


class DeclaredLine(PricedLine, Protocol):
    """A parcel's line (``oms.models.shipments.ShipmentLine``)."""

    @property
    def sku(self) -> str: ...


class MissingCustomsData(Exception):
    """Products of the parcel lack an HS code or a country of origin; ``skus`` names them."""

    def __init__(self, skus: Sequence[str], to_country: str) -> None:
        self.skus = list(skus)
        super().__init__(
            f"no HS code or country of origin for {', '.join(self.skus)}: "
            f"required for shipments to {to_country}"
        )


def lacking(products: Mapping[str, CustomsFacts | None], skus: Sequence[str]) -> list[str]:
    """The ``skus`` whose product is unknown or has no HS code or country of origin."""
    missing = []
    for sku in skus:
        product = products.get(sku)
        if product is None or not product.hs_code or not product.origin_country:
            missing.append(sku)
    return missing


def declaration(
    *,
    shipment_id: str,
    order_id: str,
    export_country: str,
    import_country: str,
    lines: Sequence[DeclaredLine],
    products: Mapping[str, CustomsFacts | None],
    currency: str,
    incoterms: Incoterms,
) -> CustomsDeclaration:
    """The declaration of a parcel of ``lines``, valued at the prices the customer paid.

    Raises ``MissingCustomsData`` naming every product without an HS code or origin.
    """
    missing = lacking(products, [line.sku for line in lines])
    if missing:
        raise MissingCustomsData(missing, import_country)
    items = []
    for line in lines:
        product = products[line.sku]
        assert product is not None and product.hs_code and product.origin_country
        items.append(
            CustomsItem(
                sku=line.sku,
                description=product.name,
                quantity=line.quantity,
                unit_value=quantize(Decimal(line.unit_price)),
                value=line_total(line),
                hs_code=product.hs_code,
                origin_country=product.origin_country,
                weight_grams=product.weight_grams * line.quantity,
            )
        )
    return CustomsDeclaration(
        shipment_id=shipment_id,
        order_id=order_id,
        export_country=export_country,
        import_country=import_country,
        incoterms=incoterms,
        currency=currency,
        items=items,
        total_value=quantize(sum((item.value for item in items), Decimal(0))),
        total_weight_grams=sum(item.weight_grams for item in items),
    )
