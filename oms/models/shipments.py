"""Models of a shipment: the child workflow's input, the warehouse's and carrier's signals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from oms.models.common import (
    Address,
    ByCaller,
    Currency,
    Customer,
    HistoryEntry,
    Model,
    SkuQuantity,
)


class ShipmentStatus(StrEnum):
    PICKING = "picking"
    PACKED = "packed"
    # Stopped before shipping, waiting for a person (e.g. the carrier refused the address).
    HELD = "held"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    EXCEPTION = "exception"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    # A claim (lost or damaged) settled it: tracking is no longer followed.
    CLAIMED = "claimed"


SHIPPED_STATES = frozenset(
    {
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.EXCEPTION,
        ShipmentStatus.DELIVERED,
    }
)


class ShipmentLine(Model):
    sku: str
    quantity: int = Field(ge=1)
    unit_price: Decimal
    # The VAT rate in percent of the order line (None: an order without totals).
    tax_rate: Decimal | None = None


class ShipmentInput(Model):
    """Input of ``ShipmentWorkflow``: one parcel's worth of an order from one warehouse."""

    shipment_id: str
    order_id: str
    warehouse_id: str
    ship_from: Address
    ship_to: Address
    lines: list[ShipmentLine]
    currency: Currency
    shipping_speed: Literal["standard", "express"] = "standard"
    customer: Customer
    authorization_id: str
    # "invoice": B2B terms; the company's credit is used instead of capturing a card.
    # "exchange": a return's replacement; nothing is captured.
    payment_method: Literal["card", "invoice", "exchange"] = "card"
    pick_sla_s: int = 4 * 3600
    step_deadline_s: int = 60
    delivery_deadline_s: int = 7 * 24 * 3600
    ops_email: str = "ops@oms.example"
    task_queue_prefix: str = ""
    # How the shipment tells its order what happened: "progress" (0.1: its whole view at
    # every step, see workflows/legacy) or "milestones" (shipped, held, pick late by signal;
    # delivered or cancelled, by its result).
    reports: Literal["progress", "milestones"] = "progress"
    # How this parcel is charged when its order has totals (docs/money.md): whether the
    # prices include VAT (None: the lines' prices as they are, an order without totals),
    # the gross shipping charge it carries (the first parcel), and the base-currency rate
    # its company's credit is used at (None: the order's own currency).
    prices_include_tax: bool | None = None
    shipping_charge: Decimal = Decimal("0.00")
    base_currency: str | None = None
    base_rate: Decimal | None = None


class ConfirmPick(Model):
    """Body of ``POST /shipments/{id}/pick``: the warehouse picked every line, or (with
    ``lines``) only these units: a short pick, the rest is missing."""

    picked_by: str = Field(default="warehouse", max_length=100)
    lines: list[SkuQuantity] | None = Field(
        default=None,
        max_length=200,
        description="what was picked, when fewer units than asked (a line left out: none)",
    )


class Package(Model):
    weight_grams: int = Field(ge=1, le=70_000)


class ConfirmPack(Model):
    """Body of ``POST /shipments/{id}/pack``."""

    packages: list[Package] = Field(min_length=1, max_length=50)
    packed_by: str = Field(default="warehouse", max_length=100)


TrackingStatus = Literal["in_transit", "out_for_delivery", "delivered", "exception"]


class TrackingEvent(Model):
    """Body of ``POST /carrier/events`` and the signal the shipment receives."""

    tracking_number: str = Field(min_length=1, max_length=64)
    status: TrackingStatus
    at: datetime | None = None
    description: str = Field(default="", max_length=500)


class LateScan(Model):
    """A carrier scan that came after its shipment's workflow had ended (claimed lost,
    delivered, cancelled): kept once per the carrier's event id (``webhook-id``), shown on
    the shipment and its order, never applied to the ended shipment."""

    event_id: str
    shipment_id: str
    tracking_number: str
    status: TrackingStatus
    # When the carrier says it happened (None: it did not say), and when the OMS heard it.
    at: datetime | None = None
    received_at: datetime
    description: str = ""
    # The status the shipment had ended in when the scan came.
    shipment_status: ShipmentStatus
    # Operations were emailed (a delivery of a parcel claimed lost).
    alerted: bool = False


class CancelShipment(Model):
    reason: str = ""


class CorrectAddress(ByCaller):
    """Update ``correct_address`` (``POST /shipments/{id}/address``): the address of a
    shipment held because the carrier refused it, corrected by a person (who: ``by``, from
    the token; why: ``reason``); the shipment buys its label again to ``ship_to``."""

    ship_to: Address
    reason: str = Field(min_length=1, max_length=500)


class ShipmentView(Model):
    """A shipment as the pick list, the read model and the workflow query show it."""

    shipment_id: str
    order_id: str
    warehouse_id: str
    status: ShipmentStatus
    lines: list[ShipmentLine]
    ship_to: Address
    packages: list[Package] = Field(default_factory=list)
    picked_by: str | None = None
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    label_id: str | None = None
    captured: Decimal | None = None
    # A charge the payment provider (or the credit ledger) refused for good after the parcel
    # left: what was not collected and why (``captured`` is 0.00). Operations were told;
    # left out of a dump when unset, so a view without them serializes as before.
    uncollected: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    capture_error: str | None = Field(default=None, exclude_if=lambda v: v is None)
    pick_late: bool = False
    # Units the warehouse could not pick (a short pick): the parcel ships without them.
    short: list[SkuQuantity] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    # Filled by the API from the scans that came after the workflow ended (the workflow
    # leaves it empty, and a dump leaves it out when empty, so its payloads are as before).
    late_events: list[LateScan] = Field(default_factory=list, exclude_if=lambda v: not v)
    updated_at: datetime
    version: int = 0


class ShipmentMilestone(Model):
    """Signal from a shipment to its order: it shipped, is held or its pick is late (a
    delta: never the whole view, since every payload stays in history)."""

    shipment_id: str
    status: ShipmentStatus
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    note: str = ""
    # Shipped, but its charge was refused for good (``ShipmentView.uncollected``): only in
    # such a milestone, so every other one's payload is as before.
    uncollected: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    capture_error: str | None = Field(default=None, exclude_if=lambda v: v is None)
    # The address a person corrected on a held shipment (``CorrectAddress``): the order
    # ships there from now on. Only in such a milestone, like ``uncollected``.
    ship_to: Address | None = Field(default=None, exclude_if=lambda v: v is None)


class ShipmentProgress(Model):
    """Signal from a shipment to its order: the shipment's new state."""

    shipment: ShipmentView
    note: str = ""
