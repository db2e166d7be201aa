"""Models of an order: what the API accepts, what the workflow keeps, what readers see."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from oms.models.common import (
    Address,
    Currency,
    Customer,
    HistoryEntry,
    Model,
    Money,
    PositiveAmount,
    Sku,
    SkuQuantity,
)
from oms.models.inventory import AllocationDecision
from oms.models.money import OrderTotals, PriceSource, TaxLine, TaxTreatment
from oms.models.order_changes import LineCancellation, OrderEdit, ShipmentClaim
from oms.models.shipments import LateScan, ShipmentView

ShippingSpeed = Literal["standard", "express"]
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# Who placed an order: the customer (``POST /orders``, an accepted quote), or the OMS on
# their behalf (a return's exchange replacement, a subscription's renewal). Set by the
# OMS itself, never taken from a request: the risk rules count only the customer's own.
OrderOrigin = Literal["customer", "replacement", "renewal"]
_TAG = re.compile(r"[a-z0-9][a-z0-9_:-]{0,39}")


class OrderStatus(StrEnum):
    RECEIVED = "received"
    CONFIRMED = "confirmed"
    BACKORDERED = "backordered"
    ALLOCATED = "allocated"
    PICKING = "picking"
    PACKED = "packed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"


class OrderLine(Model):
    sku: Sku
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Money
    # The VAT rate in percent the line was taxed at, when the OMS computed the order's totals.
    tax_rate: Decimal | None = None


class OrderLineIn(Model):
    """A line of ``POST /orders``: without ``unit_price`` the OMS prices it from the order
    currency's price list; with one, it must be the list price unless the caller is a
    trusted channel integration (docs/money.md)."""

    sku: Sku
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Money | None = None


class PaymentDetails(Model):
    """How the customer pays.

    ``card``: authorized at order time, captured per shipment (the sandbox provider
    declines token ``tok_declined``). ``invoice``: B2B terms against a purchase
    order number; the company's credit is reserved instead, and used per shipment.
    ``exchange``: a replacement order started by a return; nothing is authorized
    or captured (never accepted from ``POST /orders``).
    """

    method: Literal["card", "invoice", "exchange"] = "card"
    token: str = Field(default="tok_visa", min_length=1, max_length=64)
    po_number: str | None = Field(default=None, max_length=64)
    terms: Literal["net30", "net60"] | None = None
    company_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _invoice_needs_po_and_company(self) -> PaymentDetails:
        if self.method == "invoice" and not (self.po_number and self.company_id):
            raise ValueError("invoice payment needs po_number and company_id")
        return self


class OrderPayment(Model):
    """How an order is paid, as its view (and so its ``order.*`` events) shows it: never the
    card's token. For invoice terms (B2B): the buyer's purchase-order number, which every
    invoice of the order carries, the company whose credit it uses, and its payment terms."""

    method: Literal["card", "invoice", "exchange"] = "card"
    po_number: str | None = None
    company_id: str | None = None
    terms: Literal["net30", "net60"] | None = None


class OrderMoney(Model):
    """What the order's card was charged and refunded, as the OMS's store knows it: the
    parcels' captures and the exchange differences its returns charged; the refunds
    without a return that the provider made, its claims', its line cancels' and its
    returns' refunds. On invoice terms: what the parcels invoiced, and the credit notes
    (refunds without a return, returns, line cancels). ``captured`` None: no capture is
    known (nothing shipped yet, an order from before parcels kept it)."""

    captured: Decimal | None = None
    refunded: Decimal = Decimal("0.00")
    # captured less refunded: what the customer has paid for the order now.
    net: Decimal | None = None


class PlaceOrder(Model):
    """Body of ``POST /orders``."""

    order_id: str | None = Field(default=None, pattern=ORDER_ID_PATTERN)
    channel: str = Field(min_length=1, max_length=32)
    customer: Customer
    currency: Currency
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    ship_to: Address
    # Where the invoice goes, when the shop sends it (the risk rules compare countries).
    bill_to: Address | None = None
    shipping_speed: ShippingSpeed = "standard"
    # What shipping costs the customer: the OMS's price for the speed and destination when
    # left out (POST /shipping/quotes shows it); like unit prices, only a trusted channel
    # may send another.
    shipping_price: Money | None = None
    payment: PaymentDetails = Field(default_factory=PaymentDetails)

    @model_validator(mode="after")
    def _no_free_orders(self) -> PlaceOrder:
        if self.payment.method == "exchange":
            raise ValueError("payment method exchange is only for replacements started by a return")
        return self


class PurchaseApproval(Model):
    """One approval a company order needs because it matches an approval rule (the same
    rules as quotes: ``OMS_APPROVAL_RULES_PATH``), and what its approver decided."""

    rule_id: str
    rule_name: str
    role: str
    decision: Literal["approve", "reject"] | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None


class PurchaseDecision(Model):
    """Body of ``POST /orders/{id}/approvals``: approve or reject a company order.

    ``approver`` and ``role`` are filled by the API from the caller's token (a value sent in
    the body is ignored); only an admin may name the role it acts in.
    """

    approver: str = Field(default="api", min_length=1, max_length=100)
    role: str = Field(default="admin", max_length=32)
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=2000)


class OrderOptions(Model):
    """Timings the workflow runs with, fixed at start so a running order never changes."""

    pick_sla_s: int = 4 * 3600
    backorder_recheck_s: int = 3600
    hold_timeout_s: int = 3 * 24 * 3600
    # How long the payment provider's authorizations stay valid (re-authorized before a
    # paid parcel starts on an older one).
    payment_authorization_valid_s: int = Field(default=7 * 24 * 3600, gt=0)
    step_deadline_s: int = 60
    backorder_alert_s: int = 3 * 24 * 3600
    delivery_deadline_s: int = 7 * 24 * 3600
    ops_email: str = "ops@oms.example"
    # Prefix of the task queues the order's activities and children run on.
    task_queue_prefix: str = ""
    # What happens to units a warehouse could not pick: owed again, or cancelled.
    short_pick_policy: Literal["backorder", "cancel"] = "backorder"
    # A company order waiting for its purchase-order approval shows in /ops/stuck after this.
    approval_reminder_s: int = 24 * 3600
    # An order waiting for stock with no shipment under way continues as a new run once
    # its history is this long (or Temporal suggests it): a backorder that never fills
    # re-checks for years without reaching Temporal's history limit.
    continue_as_new_after_events: int = Field(default=10_000, ge=100)


class OrderInput(Model):
    """Input of ``OrderWorkflow``: the accepted order plus its options."""

    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    channel: str
    customer: Customer
    currency: Currency
    lines: list[OrderLine]
    ship_to: Address
    # Where the invoice goes, when the shop sends it (the risk rules compare countries).
    bill_to: Address | None = None
    shipping_speed: ShippingSpeed = "standard"
    payment: PaymentDetails = Field(default_factory=PaymentDetails)
    placed_at: datetime
    body_hash: str = ""
    options: OrderOptions = Field(default_factory=OrderOptions)
    # Set when the order came from an accepted B2B quote (prices are the negotiated ones).
    quote_id: str | None = None
    # Set when the payment was authorized before the order started (a subscription's
    # renewal, which retries a declined card itself): the order authorizes nothing again.
    authorization_id: str | None = None
    # The state of the run before, when this run is a continuation (continue-as-new).
    carried: OrderCarried | None = None
    # A company order (invoice terms) the approval rules ask approvals of, before it is
    # confirmed (a purchase-order approval), and who placed it (who may not approve it).
    approvals: list[PurchaseApproval] = Field(default_factory=list)
    placed_by: str | None = None
    # What the order costs (lines, shipping, VAT), computed when it was placed; None for an
    # order placed before the OMS computed totals (its total is the sum of its lines).
    totals: OrderTotals | None = None
    price_source: PriceSource | None = None
    # Who placed it (set only by the OMS: a return's replacement, a subscription's renewal);
    # None for an order started before the field (``oms.domain.risk.order_origin`` tells).
    origin: OrderOrigin | None = None


class ShipmentSummary(Model):
    shipment_id: str
    warehouse_id: str
    lines: list[SkuQuantity]
    status: str
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    # What the parcel's charge did not collect (the provider refused it for good after the
    # parcel left) and why: support and finance collect it another way or write it off.
    uncollected: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    capture_error: str | None = Field(default=None, exclude_if=lambda v: v is None)

    @classmethod
    def of(cls, shipment: ShipmentView) -> ShipmentSummary:
        """The order's line for one of its shipments, from the shipment's own view."""
        return cls(
            shipment_id=shipment.shipment_id,
            warehouse_id=shipment.warehouse_id,
            lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in shipment.lines],
            status=str(shipment.status),
            carrier=shipment.carrier,
            service=shipment.service,
            tracking_number=shipment.tracking_number,
        )


class ReturnSummary(Model):
    """One return of an order, as ``GET /orders/{order_id}`` shows it (from the returns table)."""

    rma_id: str
    status: str
    resolution: str
    lines: list[SkuQuantity]
    refunded: Decimal = Decimal("0.00")
    exchange_order_id: str | None = None
    # An exchange: what its replacement order sends is worth (at the prices paid, or of the
    # new variants), sent at no charge, and the price difference of an exchange to other
    # variants (charged on this order's card when positive, refunded when negative).
    exchange_value: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    exchange_difference: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    updated_at: datetime


class ExchangeOrigin(Model):
    """What a return's replacement order replaces, as ``GET /orders/{id}`` shows it on the
    replacement (from the returns table): its return, the order returned to, what the
    replacement is worth though it charges nothing, and the difference settled on the
    original order's card (charged when positive, refunded when negative)."""

    rma_id: str
    order_id: str
    value: Decimal
    difference: Decimal | None = None


class OrderNote(Model):
    """Body of ``POST /orders/{id}/notes``: a note on the order, optionally tagged."""

    text: str = Field(min_length=1, max_length=2000)
    tags: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="short labels (letters, digits, '-', '_', ':'), kept in the given order",
    )
    # Filled by the API from the caller's bearer token; a value sent in the body is ignored.
    by: str = Field(default="api", max_length=100)

    @field_validator("tags")
    @classmethod
    def _tags_are_labels(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not _TAG.fullmatch(tag):
                raise ValueError(f"tag {tag!r} is not a label (1-40 of a-z, 0-9, '-', '_', ':')")
        if len(set(tags)) != len(tags):
            raise ValueError("tags repeat")
        return tags


class NoteEntry(Model):
    """A note as an order keeps it: when, who, what, and its tags."""

    at: datetime
    by: str
    text: str
    tags: list[str] = Field(default_factory=list)


class HoldRequest(Model):
    """Body of ``POST /orders/{id}/hold`` and ``/release``: why; who comes from the token."""

    reason: str = Field(min_length=1, max_length=500)
    # Filled by the API from the caller's bearer token; a value sent in the body is ignored.
    # Room for an operator's "ops:" prefix before a token subject (up to 100 characters):
    # POST /ops/orders/{id}/release-hold releases a review hold as ``ops:<subject>``.
    by: str = Field(default="api", max_length=120)


class Hold(Model):
    """Why an order is held before allocation: by whom (a person, or ``risk-rules``)."""

    reason: str
    by: str
    at: datetime
    # What the risk rules found (empty for a hold a person placed).
    findings: list[str] = Field(default_factory=list)


class RefundOrder(Model):
    """Body of ``POST /orders/{id}/refunds``: a refund without a return (appeasement, late
    delivery, shipping); once per ``Idempotency-Key`` header."""

    amount: PositiveAmount
    reason: str = Field(min_length=1, max_length=500)


RefundStatus = Literal["pending", "refunded", "declined"]


class OrderRefund(Model):
    """A refund of an order without a return, as requested and as the provider answered."""

    order_id: str
    key: str
    amount: Decimal
    currency: str
    reason: str
    requested_by: str
    status: RefundStatus
    refund_id: str | None = None
    # Why the provider declined it (more than captured minus refunded, nothing captured).
    error: str | None = None
    requested_at: datetime
    updated_at: datetime
    # Net and VAT per rate of the amount, split as the order was taxed
    # (oms.domain.tax.refund_tax); empty for an order placed without totals.
    tax: list[TaxLine] = Field(default_factory=list)
    net: Decimal | None = None


class OrderRefundInput(Model):
    """Input of ``OrderRefundWorkflow``: one claimed refund without a return."""

    order_id: str
    key: str
    amount: Decimal
    currency: str
    reason: str
    task_queue_prefix: str = ""


class RefundOutcome(Model):
    """What the provider answered a refund without a return (a refund id, or why not)."""

    order_id: str
    key: str
    refund_id: str | None = None
    error: str | None = None
    at: datetime


class OrderView(Model):
    """An order as the API, the read model and the workflow query show it."""

    order_id: str
    status: OrderStatus
    channel: str
    # Who placed it: the customer, or the OMS (a return's replacement, a renewal).
    origin: OrderOrigin = "customer"
    customer: Customer
    currency: str
    total: Decimal
    lines: list[OrderLine]
    ship_to: Address
    shipping_speed: ShippingSpeed = "standard"
    # How it is paid (its PO number on invoice terms); None in a view stored before the
    # field, until its workflow writes it again.
    payment: OrderPayment | None = None
    # The money of an order placed with totals (docs/money.md): lines and shipping as
    # priced, VAT per rate, whether prices include it, and where the prices came from.
    subtotal: Decimal | None = None
    shipping: Decimal = Decimal("0.00")
    tax: list[TaxLine] = Field(default_factory=list)
    tax_total: Decimal = Decimal("0.00")
    prices_include_tax: bool | None = None
    tax_treatment: TaxTreatment | None = None
    price_source: PriceSource | None = None
    shipments: list[ShipmentSummary] = Field(default_factory=list)
    backordered: list[SkuQuantity] = Field(default_factory=list)
    # Whether the order sent the customer its backorder email (``order_backordered``), which
    # only then may be resent; None for an order from before this was kept (its history's
    # ``backordered`` status tells).
    backorder_emailed: bool | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    allocations: list[AllocationDecision] = Field(default_factory=list)
    cancel_reason: str | None = None
    # The note the customer's cancel email said of why (``CancelOrder.customer_note``), so a
    # resend says the same; the reason above is internal.
    cancel_note: str | None = None
    notes: list[NoteEntry] = Field(default_factory=list)
    # Set while the order is held before allocation (by a person or the risk rules).
    hold: Hold | None = None
    # Parts of lines cancelled after the order was placed (``lines`` and ``total`` show
    # what is left).
    line_cancellations: list[LineCancellation] = Field(default_factory=list)
    # Edits before the pick (lines, address, speed), oldest first.
    edits: list[OrderEdit] = Field(default_factory=list)
    # Claims on parcels lost or damaged in transit (reshipped or refunded).
    claims: list[ShipmentClaim] = Field(default_factory=list)
    # The purchase-order approvals a company order needs, and what each approver decided.
    approvals: list[PurchaseApproval] = Field(default_factory=list)
    # Filled by the API from the returns read model; the order workflow leaves it empty.
    returns: list[ReturnSummary] = Field(default_factory=list)
    # Filled by the API from the refunds without a return (and a history line for each).
    refunds: list[OrderRefund] = Field(default_factory=list)
    # Filled by the API: carrier scans of its parcels that came after a parcel's workflow
    # ended (a parcel claimed lost that turned up), with a history line for each.
    late_events: list[LateScan] = Field(default_factory=list, exclude_if=lambda v: not v)
    # Filled by the API on a return's replacement order: the return and order it replaces
    # and the money of the exchange (its own lines are priced 0.00: nothing is charged).
    exchange_of: ExchangeOrigin | None = Field(default=None, exclude_if=lambda v: v is None)
    # Filled by the API: what the card was charged and refunded on the order.
    money: OrderMoney | None = Field(default=None, exclude_if=lambda v: v is None)
    placed_at: datetime
    updated_at: datetime
    # Increases with every change, so a late write never overwrites a newer one.
    version: int = 0


class OrderSearch(Model):
    """Filters of ``GET /orders`` beyond status and customer; every one given must match."""

    # An order id, a customer's email, or the start of a customer's name (any case).
    q: str | None = Field(default=None, min_length=1, max_length=320)
    email: str | None = Field(default=None, min_length=1, max_length=320)
    sku: Sku | None = None
    tracking_number: str | None = Field(default=None, min_length=1, max_length=64)
    channel: str | None = Field(default=None, min_length=1, max_length=32)
    placed_from: datetime | None = None
    placed_to: datetime | None = None


class CancelOrder(Model):
    """Body of ``POST /orders/{id}/cancel`` and input of the workflow's cancel update."""

    reason: str = Field(min_length=1, max_length=500)
    # Filled by the API from the caller's bearer token; a value sent in the body is ignored.
    # Room for an operator's "ops:" prefix before a token subject (up to 100 characters).
    requested_by: str = Field(default="customer", max_length=120)
    # What the customer's email says of why (the reason is internal: history, audit, ops
    # alerts): set by the API, a note the caller chose or a buyer's own reason
    # (``oms.domain.order_emails.note_for_customer``). Without it the email words the OMS's
    # own reason (``cancel_why``), or says none.
    customer_note: str | None = Field(default=None, min_length=1, max_length=500)


class CreditApproval(Model):
    """Finance lets an order go over its company's credit limit."""

    # Filled by the API from the caller's bearer token (only an admin may name ``role``).
    approver: str = Field(default="api", min_length=1, max_length=100)
    role: str = Field(default="finance", min_length=1, max_length=32)
    comment: str | None = Field(default=None, max_length=500)


class RetryPayment(Model):
    """Signal to an order held for payment: try again, optionally with a new token."""

    payment: PaymentDetails | None = None


class BackorderWake(Model):
    """Signal sent when stock arrived that may fill this order's backorder."""

    warehouse_id: str | None = None
    sku: Sku | None = None


class OrderResult(Model):
    """An order's id and status: the answer to ``POST /orders`` (``received``) and the
    order workflow's result (the status it ended in)."""

    # One shape for both: every finished order's history holds it as its result, and API
    # clients read it, so a field changes for both or the two become separate models.
    order_id: str
    status: OrderStatus


class ReadModelWrite(Model):
    """One read-model write of an order: its view, and the placeholder view of each
    shipment it started since its last write (stored only where the row is missing)."""

    order: OrderView
    shipments: list[ShipmentView] = Field(default_factory=list)


class RecordResult(Model):
    """Result of writing a view to the read model: ``False`` when a newer version was stored."""

    written: bool


class OrderCarried(Model):
    """What an order waiting for stock carries into its next run (continue-as-new): its
    view (history included), the money and stock it holds, and its counters, so keys stay
    unique across runs."""

    view: OrderView
    # When the current step's clock started (a backorder's: when stock first went missing).
    since: datetime
    stage: str | None = None
    authorization_id: str | None = None
    credit_reserved: bool = False
    # The order was held for its payment once (it sent ``order_on_hold``, which may be resent).
    payment_held: bool = False
    next_shipment_no: int = 1
    claims: int = 0
    reroutes: int = 0
    owed_since: datetime | None = None
    resends: int = 0
    runs: int = 1
    # The card the order was authorized with (an edit raising the total uses it).
    payment_token: str | None = None
    # Whether a parcel already carries the shipping charge: the next run's parcels do not.
    shipping_charged: bool = False
    # Key counters of line cancellations, short picks, edits and claims (keys stay unique).
    counters: dict[str, int] = Field(default_factory=dict)
    # When the authorization was made (None: carried by a run from before; its age is then
    # counted from the order's placing, which can only make it look older).
    authorized_at: datetime | None = Field(default=None, exclude_if=lambda v: v is None)


# OrderInput names OrderCarried, which needs OrderView, defined after it: resolve the
# reference now, so that every importer (the workflow sandbox too) gets a complete model.
OrderInput.model_rebuild()
