"""Models of customs paperwork: what a parcel leaving a customs area declares."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from oms.models.common import Model

# Who pays import duty and tax: the receiver on delivery (DAP) or the merchant (DDP).
Incoterms = Literal["DAP", "DDP"]
HS_CODE_PATTERN = r"^\d{6}(\d{2}){0,2}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"


class CustomsItem(Model):
    """One line of a declaration: what it is, where it was made, what it is worth."""

    sku: str
    description: str
    quantity: int = Field(ge=1)
    unit_value: Decimal
    value: Decimal
    hs_code: str = Field(pattern=HS_CODE_PATTERN)
    origin_country: str = Field(pattern=COUNTRY_PATTERN)
    weight_grams: int = Field(ge=0, description="net weight of the line")


class CustomsDeclaration(Model):
    """The customs data a label for a parcel leaving its customs area carries, and what
    its commercial invoice shows."""

    shipment_id: str
    order_id: str
    export_country: str
    import_country: str
    incoterms: Incoterms
    currency: str
    contents: Literal["merchandise"] = "merchandise"
    items: list[CustomsItem] = Field(min_length=1)
    total_value: Decimal
    total_weight_grams: int
