"""Models of the carrier adapter: rates, labels, voids."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from oms.models.common import Address, Model
from oms.models.customs import CustomsDeclaration
from oms.models.shipments import Package, ShipmentLine


class RateRequest(Model):
    ship_from: Address
    ship_to: Address
    packages: list[Package]


class Rate(Model):
    carrier: str
    service: str
    price: Decimal
    currency: str
    transit_days: int
    speed: str = Field(description="standard or express")


class RateQuote(Model):
    rates: list[Rate]


def _is_none(value: object) -> bool:
    return value is None


class LabelRequest(Model):
    """Buy one label; ``idempotency_key`` makes a retried purchase return the same label.

    ``order_id``, ``lines`` and ``currency`` let the carrier activity declare a parcel
    that leaves its customs area; ``customs`` is that declaration, added by the activity
    (the workflow never sends it). Left out of a dump when unset, so a request of a
    parcel inside a customs area is the body it always was.
    """

    idempotency_key: str
    shipment_id: str
    service: str
    ship_from: Address
    ship_to: Address
    packages: list[Package]
    order_id: str | None = Field(default=None, exclude_if=_is_none)
    lines: list[ShipmentLine] | None = Field(default=None, exclude_if=_is_none)
    currency: str | None = Field(default=None, exclude_if=_is_none)
    customs: CustomsDeclaration | None = Field(default=None, exclude_if=_is_none)


class Label(Model):
    label_id: str
    tracking_number: str
    carrier: str
    service: str
    price: Decimal
    currency: str


class VoidLabelRequest(Model):
    shipment_id: str
    label_id: str


class VoidLabelResult(Model):
    label_id: str
    voided: bool
