"""Models of a return (RMA): what the API accepts, what the workflow keeps, what readers see."""

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
    Money,
    Sku,
    SkuQuantity,
    check_skus_once,
)
from oms.models.orders import OrderLine, OrderOptions

ReturnReason = Literal[
    "wrong_size", "damaged", "defective", "not_as_described", "changed_mind", "wrong_item", "other"
]
Condition = Literal["resellable", "damaged", "wrong_item"]
Resolution = Literal["refund", "exchange"]


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    AWAITING_RECEIPT = "awaiting_receipt"
    RECEIVED = "received"
    # Some units arrived (and were settled); the return waits for the rest until it is due.
    PARTIALLY_RECEIVED = "partially_received"
    REFUNDED = "refunded"
    EXCHANGED = "exchanged"
    REFUND_FAILED = "refund_failed"
    EXPIRED = "expired"
    CLOSED = "closed"


# A return in one of these no longer holds back the quantity it asked for.
VOID_RETURN_STATES = frozenset({ReturnStatus.REJECTED, ReturnStatus.EXPIRED})


class ReturnLineRequest(Model):
    sku: Sku
    quantity: int = Field(ge=1, le=10_000)
    reason: ReturnReason


class RequestReturn(Model):
    """Body of ``POST /orders/{order_id}/returns``."""

    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=200)
    resolution: Resolution = "refund"
    # An exchange to other variants (another size, colour): what to send instead; the
    # price difference is charged or refunded once the return is received.
    exchange_for: list[SkuQuantity] | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _exchange_for_needs_an_exchange(self) -> RequestReturn:
        if self.exchange_for is not None:
            if self.resolution != "exchange":
                raise ValueError('exchange_for needs "resolution": "exchange"')
            check_skus_once("exchange_for", self.exchange_for)
        return self


class ReturnAccepted(Model):
    rma_id: str
    status: ReturnStatus


class ReturnPolicy(Model):
    """The merchant's return rules, fixed when a return starts."""

    window_days: int = Field(default=30, ge=0)
    # A return worth less than this is authorized without a person...
    auto_authorize_under: Decimal = Decimal("2000.00")
    # ...and so is any return whose every line gives one of these reasons.
    auto_authorize_reasons: list[str] = Field(default_factory=lambda: ["wrong_size"])


class ReturnOptions(Model):
    """Timings and rules a return runs with, fixed at start."""

    policy: ReturnPolicy = Field(default_factory=ReturnPolicy)
    receipt_timeout_s: int = 30 * 24 * 3600
    # Support should decide a manual authorization within this.
    authorize_deadline_s: int = 24 * 3600
    step_deadline_s: int = 60
    ops_email: str = "ops@oms.example"
    task_queue_prefix: str = ""
    # Options of the replacement order an exchange starts.
    order_options: OrderOptions = Field(default_factory=OrderOptions)


class ReturnLine(Model):
    """One SKU of a return: asked for, received (by condition), restocked, refunded."""

    sku: Sku
    quantity: int = Field(ge=1)
    reason: ReturnReason
    unit_price: Decimal = Decimal("0.00")
    received_resellable: int = 0
    received_damaged: int = 0
    received_wrong_item: int = 0
    restocked: int = 0
    written_off: int = 0
    refunded: Decimal = Decimal("0.00")

    @property
    def received(self) -> int:
        return self.received_resellable + self.received_damaged + self.received_wrong_item


class ReturnLabel(Model):
    label_id: str
    tracking_number: str
    carrier: str
    service: str
    return_to_warehouse_id: str


class ReturnInput(Model):
    """Input of ``ReturnWorkflow``: the accepted request, priced from the order."""

    rma_id: str
    order_id: str
    customer: Customer
    currency: Currency
    ship_to: Address
    lines: list[ReturnLine]
    resolution: Resolution
    requested_at: datetime
    options: ReturnOptions = Field(default_factory=ReturnOptions)
    # An exchange to other variants, priced from the catalogue (empty: the same units again).
    exchange_for: list[OrderLine] = Field(default_factory=list)
    # The card the order was paid with, to charge a positive difference (None: not a card).
    payment_token: str | None = Field(default=None, max_length=64)
    # The order runs on a company's credit (invoice terms): its refunds are credit notes.
    invoice_terms: bool = False
    # Who asked (the API's caller, from the token); runs started before it was kept: None.
    requested_by: str | None = Field(default=None, max_length=100)


class ReturnView(Model):
    """A return as the API, the read model and the workflow query show it."""

    rma_id: str
    order_id: str
    status: ReturnStatus
    resolution: Resolution
    customer: Customer
    currency: str
    lines: list[ReturnLine]
    authorization: Literal["pending", "automatic", "manual"] = "pending"
    authorized_by: str | None = None
    rejection_reason: str | None = None
    label: ReturnLabel | None = None
    receipt_due_at: datetime | None = None
    received_at_warehouse: str | None = None
    refund_total: Decimal = Decimal("0.00")
    refund_error: str | None = None
    exchange_order_id: str | None = None
    # An exchange to other variants: what the customer asked for instead, priced (empty:
    # the same units again, or a refund).
    exchange_for: list[OrderLine] = Field(default_factory=list)
    # An exchange to other variants: what the new value minus the received units' value
    # came to (charged when positive, refunded when negative).
    exchange_difference: Decimal | None = None
    # An exchange to other variants that sent fewer than ``exchange_for``: what it sent,
    # those standing for the units that came back as the product (patch
    # ``return-exchange-received-units-only``). Left out of a dump when empty: everything
    # asked for was sent, or nothing.
    exchange_sent: list[OrderLine] = Field(default_factory=list, exclude_if=lambda v: not v)
    manual_review: list[str] = Field(default_factory=list)
    # What the received lines were worth but was not refunded because the order had less
    # left to refund (refunds without a return, claims, other returns): "refunded 97.00 of
    # 249.00". Left out of a dump when unset, so a view without it serializes as before.
    refund_shortfall: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    # How many parcels were received (a return may arrive in parts; the lines' received
    # counts add up every parcel). Left out of a dump when none, as before it existed.
    receipts: int = Field(default=0, exclude_if=lambda v: v == 0)
    # Units authorized that never arrived, per SKU, once the return closed without them.
    never_arrived: dict[str, int] = Field(default_factory=dict, exclude_if=lambda v: not v)
    history: list[HistoryEntry] = Field(default_factory=list)
    requested_at: datetime
    updated_at: datetime
    version: int = 0


# --- updates --------------------------------------------------------------------------------


class AuthorizeReturn(Model):
    """Body of ``POST /returns/{rma_id}/authorize``: support lets the return go ahead."""

    by: str = Field(default="support", min_length=1, max_length=100)
    comment: str | None = Field(default=None, max_length=500)


class RejectReturn(Model):
    """Body of ``POST /returns/{rma_id}/reject``."""

    by: str = Field(default="support", min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500)


class ReceivedLine(Model):
    sku: Sku
    quantity: int = Field(ge=0, le=10_000)
    condition: Condition


class ReceiveReturn(Model):
    """Body of ``POST /returns/{rma_id}/receive``: what arrived at which warehouse."""

    warehouse_id: str = Field(min_length=1, max_length=32)
    lines: list[ReceivedLine] = Field(min_length=1, max_length=200)
    received_by: str = Field(default="warehouse", max_length=100)


class RetryRefund(Model):
    """Body of ``POST /returns/{rma_id}/retry-refund``: a person retries a failed refund."""

    by: str = Field(default="operations", min_length=1, max_length=100)
    reason: str = Field(default="", max_length=500)


# --- activities -----------------------------------------------------------------------------


class DeliveredLine(Model):
    """What the customer has of one SKU of the order, for eligibility."""

    sku: str
    ordered: int
    delivered: int
    unit_price: Decimal
    delivered_at: datetime | None = None
    returnable: bool = True
    already_returned: int = 0


class ReturnFacts(Model):
    """Everything eligibility needs to know about an order, read from the store."""

    order_id: str
    found: bool = True
    lines: list[DeliveredLine] = Field(default_factory=list)
    # Where the return label sends the parcel: the warehouse that shipped the order.
    return_warehouse_id: str | None = None
    return_to: Address | None = None


class EligibilityRequest(Model):
    rma_id: str
    order_id: str
    lines: list[ReturnLineRequest]
    at: datetime
    window_days: int = 30

    @classmethod
    def of(cls, inp: ReturnInput) -> EligibilityRequest:
        """The store's check of a started return: its lines as asked, when they were asked,
        within the merchant's return window."""
        return cls(
            rma_id=inp.rma_id,
            order_id=inp.order_id,
            lines=[
                ReturnLineRequest(sku=ln.sku, quantity=ln.quantity, reason=ln.reason)
                for ln in inp.lines
            ],
            at=inp.requested_at,
            window_days=inp.options.policy.window_days,
        )


class Ineligibility(Model):
    """Why one line (or the whole request, ``line=None``) cannot be returned."""

    code: Literal[
        "order_not_found",
        "not_on_order",
        "not_delivered",
        "window_closed",
        "not_returnable",
        "quantity_too_high",
        "duplicate_line",
    ]
    message: str
    line: int | None = None
    sku: str | None = None


class EligibilityResult(Model):
    eligible: bool
    problems: list[Ineligibility] = Field(default_factory=list)
    return_warehouse_id: str | None = None
    return_to: Address | None = None


class ReturnLabelRequest(Model):
    """Buy a prepaid label from the customer back to a warehouse; idempotent on the key."""

    idempotency_key: str
    rma_id: str
    ship_from: Address
    ship_to: Address
    weight_grams: int = 1000


class StockMovement(Model):
    """Put returned units back on a warehouse's shelf, or write them off; idempotent on key."""

    key: str
    rma_id: str
    warehouse_id: str
    sku: Sku
    quantity: int = Field(ge=1)


class RefundRoomRequest(Model):
    """What is left to refund on a return's order, asked when the return refunds."""

    order_id: str
    # The asking return: its own refunds are left out (the workflow counts them itself).
    rma_id: str


class RefundRoom(Model):
    """What the order captured and what was refunded on it, as the OMS's store knows them.

    ``refunded`` counts every refund of the order but the asking return's: refunds without
    a return, claims, other returns and their exchanges' differences. ``captured`` is None
    when the store knows of no capture (an order from before shipments kept it, an order
    not found): then nothing caps the refund and the provider decides, as before.
    """

    order_id: str
    captured: Decimal | None = None
    refunded: Decimal = Decimal("0.00")

    def left(self, own: Decimal = Decimal("0.00")) -> Decimal | None:
        """What is left to refund after the asking return's own ``own`` refunds (never
        below 0.00); None when nothing caps it."""
        if self.captured is None:
            return None
        return max(self.captured - self.refunded - own, Decimal("0.00"))


class RefundRequest(Model):
    idempotency_key: str
    order_id: str
    amount: Money
    currency: str
    reason: str = ""


class Refund(Model):
    refund_id: str
    order_id: str
    amount: Decimal
    currency: str
