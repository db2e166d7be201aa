"""Models of a subscription: what the API accepts, what the workflow keeps, what readers see."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from oms.models.common import (
    Address,
    Currency,
    Customer,
    HistoryEntry,
    Model,
    ZonedDatetime,
    check_skus_once,
)
from oms.models.money import OrderTotals
from oms.models.orders import OrderLine, OrderOptions, PaymentDetails, ShippingSpeed

# ISO 8601 durations a subscription may renew at.
Interval = Literal["P1W", "P2W", "P1M", "P3M"]
INTERVALS: tuple[Interval, ...] = ("P1W", "P2W", "P1M", "P3M")
# Room for ``SUB-<id>-<n>`` within an order id's 64 characters.
SUBSCRIPTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"


class SubscriptionLine(Model):
    """One SKU a subscription delivers each period (priced from the catalogue at renewal)."""

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    quantity: int = Field(ge=1, le=10_000)


def _card_only(payment: PaymentDetails | None) -> PaymentDetails | None:
    if payment is not None and payment.method != "card":
        raise ValueError("a subscription renews on a card: payment.method must be card")
    return payment


class CreateSubscription(Model):
    """Body of ``POST /subscriptions``."""

    subscription_id: str | None = Field(default=None, pattern=SUBSCRIPTION_ID_PATTERN)
    customer: Customer
    currency: Currency
    lines: list[SubscriptionLine] = Field(min_length=1, max_length=50)
    ship_to: Address
    shipping_speed: ShippingSpeed = "standard"
    interval: Interval
    # The first order is placed then (default: now); later ones one interval apart.
    start_at: ZonedDatetime | None = None
    payment: PaymentDetails = Field(default_factory=PaymentDetails)

    @model_validator(mode="after")
    def _checked(self) -> CreateSubscription:
        _card_only(self.payment)
        check_skus_once("lines", self.lines)
        return self


class SubscriptionAccepted(Model):
    subscription_id: str
    status: SubscriptionStatus


class SubscriptionOptions(Model):
    """Timings a subscription runs with, fixed at start."""

    # The reminder email goes this long before each renewal (0: no reminder).
    reminder_s: int = Field(default=3 * 24 * 3600, ge=0)
    # A declined renewal payment is retried this long after the first decline, each.
    dunning_retry_s: list[int] = Field(default_factory=lambda: [86400, 3 * 86400, 7 * 86400])
    step_deadline_s: int = 60
    task_queue_prefix: str = ""
    # Options of the order each renewal places.
    order_options: OrderOptions = Field(default_factory=OrderOptions)


class SubscriptionOrder(Model):
    """One order a renewal placed."""

    order_id: str
    period: int
    placed_at: datetime
    total: Decimal
    # Filled by the API from the orders read model; the workflow leaves it empty.
    status: str | None = None


class Dunning(Model):
    """A renewal whose payment was declined and is being retried."""

    order_id: str
    first_declined_at: datetime
    # The number of the retry scheduled (at ``next_retry_at``), counted from 1: once past
    # due, the number of the last one made. Not how many have run.
    retries: int = 0
    next_retry_at: datetime | None = None


class SubscriptionView(Model):
    """A subscription as the API, the read model and the workflow query show it."""

    subscription_id: str
    status: SubscriptionStatus
    customer: Customer
    currency: str
    interval: Interval
    lines: list[SubscriptionLine]
    ship_to: Address
    shipping_speed: ShippingSpeed = "standard"
    # Renewal ``n`` falls ``n`` intervals after ``anchor``; ``period`` is the next one's n.
    anchor: datetime
    period: int = 0
    next_renewal_at: datetime | None = None
    paused_until: datetime | None = None
    # The next renewal's n when a pause until a date moved it on: resumed early, the
    # subscription goes on from there, not from where the pause would have ended.
    paused_from_period: int | None = None
    cancel_at_period_end: bool = False
    cancel_reason: str | None = None
    orders: list[SubscriptionOrder] = Field(default_factory=list)
    skipped: list[int] = Field(default_factory=list)
    last_total: Decimal | None = None
    reminded_period: int | None = None
    dunning: Dunning | None = None
    # The last renewal's failure (a declined payment, an unknown SKU), for operations.
    last_error: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 0


class SubscriptionInput(Model):
    """Input of ``SubscriptionWorkflow``; ``carried`` is the state of the run before
    (continue-as-new every cycle), ``payment`` the card renewals use."""

    subscription_id: str = Field(pattern=SUBSCRIPTION_ID_PATTERN)
    customer: Customer
    currency: Currency
    lines: list[SubscriptionLine]
    ship_to: Address
    shipping_speed: ShippingSpeed = "standard"
    interval: Interval
    start_at: datetime
    payment: PaymentDetails = Field(default_factory=PaymentDetails)
    created_at: datetime
    body_hash: str = ""
    options: SubscriptionOptions = Field(default_factory=SubscriptionOptions)
    carried: SubscriptionView | None = None


# --- updates ----------------------------------------------------------------------------------


class PauseSubscription(Model):
    """Body of ``POST /subscriptions/{id}/pause``: until a moment, or until resumed."""

    until: ZonedDatetime | None = None
    # Filled by the API from the caller's bearer token.
    by: str = Field(default="customer", max_length=100)


class ResumeSubscription(Model):
    """Body of ``POST /subscriptions/{id}/resume``; a past-due one may bring a new card."""

    payment: PaymentDetails | None = None
    by: str = Field(default="customer", max_length=100)

    @model_validator(mode="after")
    def _card(self) -> ResumeSubscription:
        _card_only(self.payment)
        return self


class SkipRenewal(Model):
    """Body of ``POST /subscriptions/{id}/skip``: the next renewal places no order."""

    by: str = Field(default="customer", max_length=100)


class CancelSubscription(Model):
    """Body of ``POST /subscriptions/{id}/cancel``."""

    at_period_end: bool = False
    reason: str = Field(default="cancelled by the customer", min_length=1, max_length=500)
    by: str = Field(default="customer", max_length=100)


class ChangeSubscription(Model):
    """Body of ``PATCH /subscriptions/{id}``: from the next renewal on."""

    lines: list[SubscriptionLine] | None = Field(default=None, min_length=1, max_length=50)
    ship_to: Address | None = None
    by: str = Field(default="customer", max_length=100)

    @model_validator(mode="after")
    def _something(self) -> ChangeSubscription:
        if self.lines is None and self.ship_to is None:
            raise ValueError("nothing to change: send lines and/or ship_to")
        check_skus_once("lines", self.lines)
        return self


# --- activities -------------------------------------------------------------------------------


class PriceRenewal(Model):
    """Input of ``subscriptions.price_renewal``: what a renewal orders, in which currency."""

    subscription_id: str
    lines: list[SubscriptionLine]
    currency: str
    # Where and how it ships, and the customer's VAT number: with them the renewal is
    # taxed and charged shipping like any order (docs/money.md).
    ship_to: Address | None = None
    shipping_speed: ShippingSpeed = "standard"
    vat_number: str | None = None


class RenewalPrice(Model):
    """The renewal's order lines at the catalogue's list prices now, and their total
    (``totals.total`` when the renewal was taxed)."""

    lines: list[OrderLine]
    total: Decimal
    totals: OrderTotals | None = None
