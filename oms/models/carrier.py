"""Models of the carrier adapter: rates, labels, voids."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from oms.models.common import Address, Model
from oms.models.shipments import Package


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


class LabelRequest(Model):
    """Buy one label; ``idempotency_key`` makes a retried purchase return the same label."""

    idempotency_key: str
    shipment_id: str
    service: str
    ship_from: Address
    ship_to: Address
    packages: list[Package]


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
