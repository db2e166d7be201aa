"""Models of replenishment: suppliers, reorder policies, low-stock episodes, purchase orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import EmailStr, Field

from oms.models.common import HistoryEntry, Model, Sku

if TYPE_CHECKING:
    from oms.settings import Settings


class SupplierIn(Model):
    """A supplier as the API takes it."""

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    lead_time_days: int = Field(default=7, ge=0, le=365)


class Supplier(Model):
    supplier_id: str
    name: str
    email: str
    lead_time_days: int


class ReorderPolicyIn(Model):
    """Reorder when available units (on hand - reserved) fall to ``reorder_point`` or below."""

    reorder_point: int = Field(ge=0, le=1_000_000)
    reorder_qty: int = Field(ge=1, le=1_000_000)
    # Optional: the SKU's supplier (must exist), linked with this policy.
    supplier_id: str | None = Field(default=None, min_length=1, max_length=64)


class ReorderPolicy(Model):
    warehouse_id: str
    sku: str
    reorder_point: int
    reorder_qty: int
    supplier_id: str | None = None
    available: int = 0


class Episode(Model):
    """An open low-stock episode of a SKU in a warehouse (``opened`` when this call opened it)."""

    warehouse_id: str
    sku: str
    n: int
    available: int
    reorder_point: int
    opened: bool
    opened_at: datetime


class ScanRequest(Model):
    """Input of the daily low-stock scan (nothing yet; a model so fields can be added)."""

    reason: str = "schedule"


class ScanResult(Model):
    """Episodes found below their reorder point and the workflows started (or already running)."""

    workflow_ids: list[str] = Field(default_factory=list)


class ReplenishmentOptions(Model):
    """Who is told and how long the workflow waits, fixed at start."""

    purchasing_email: str = "purchasing@oms.example"
    # Remind the supplier after this long without a confirmation (capped at half the lead time).
    supplier_reminder_s: int = 24 * 3600
    step_deadline_s: int = 60
    task_queue_prefix: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplenishmentOptions:
        """The options every new episode gets, from the deployment's settings (the API's
        ``POST /replenishments`` and the worker's low-stock scan start episodes alike)."""
        return cls(
            purchasing_email=settings.purchasing_email,
            supplier_reminder_s=settings.supplier_reminder_s,
            step_deadline_s=settings.step_deadline_s,
            task_queue_prefix=settings.task_queue_prefix,
        )


class ReplenishmentInput(Model):
    warehouse_id: str
    sku: Sku
    n: int = Field(ge=1)
    opened_at: datetime
    # The SKU when the episode opened.
    available: int = 0
    reorder_point: int = 0
    options: ReplenishmentOptions = Field(default_factory=ReplenishmentOptions)


class PurchaseOrderRequest(Model):
    """Raise (or find) purchase order ``po_id`` for episode ``n`` of the SKU in the warehouse."""

    po_id: str
    warehouse_id: str
    sku: str
    n: int


class PurchaseOrderLine(Model):
    sku: str
    name: str
    quantity: int
    unit_cost: Decimal = Decimal("0.00")
    received: int = 0


class PurchaseOrder(Model):
    po_id: str
    warehouse_id: str
    supplier: Supplier
    lines: list[PurchaseOrderLine]
    created_at: datetime
    # The SKU when the episode opened: why this order was raised.
    available: int
    reorder_point: int
    backordered: int = 0
    currency: str = "SEK"


class SupplierMessage(Model):
    """Send ``po`` to its supplier: the order itself or a reminder; once per ``key``."""

    key: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(purchase_order|reminder)$")
    po: PurchaseOrder


class SupplierMessageResult(Model):
    key: str
    channel: str
    already_sent: bool


class ConfirmPurchaseOrder(Model):
    """The supplier confirmed the purchase order (as told by a person, or a supplier system)."""

    by: str = Field(default="supplier", min_length=1, max_length=100)
    supplier_reference: str = Field(default="", max_length=100)


class RecordConfirmation(Model):
    po_id: str
    by: str
    supplier_reference: str = ""


class ReceiveGoods(Model):
    """A delivery against the purchase order, as counted by the receiving warehouse."""

    quantity: int = Field(ge=1, le=1_000_000)
    received_by: str = Field(default="warehouse", min_length=1, max_length=100)


class GoodsReceiptRequest(Model):
    key: str = Field(min_length=1, max_length=200)
    po_id: str
    warehouse_id: str
    sku: str
    quantity: int = Field(ge=1)


class GoodsReceiptResult(Model):
    key: str
    ordered: int
    received: int
    on_hand: int
    available: int
    # Orders whose backorders the delivery filled, oldest first: the caller wakes them.
    filled_orders: list[str] = Field(default_factory=list)


class CloseEpisode(Model):
    warehouse_id: str
    sku: str
    n: int


class CloseResult(Model):
    closed: bool


class RetryPurchaseOrder(Model):
    """Try raising the purchase order again (after linking the SKU to a supplier)."""

    by: str = Field(default="purchasing", min_length=1, max_length=100)


class ReplenishmentStatus(StrEnum):
    LOW_STOCK = "low_stock"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    AWAITING_GOODS = "awaiting_goods"
    PARTIALLY_RECEIVED = "partially_received"
    CLOSED = "closed"
    NO_SUPPLIER = "no_supplier"


class ReplenishmentView(Model):
    """What the workflow knows about one episode; answered by its ``state`` query."""

    workflow_id: str
    po_id: str
    warehouse_id: str
    sku: str
    n: int
    status: ReplenishmentStatus
    supplier_id: str | None = None
    supplier_name: str | None = None
    ordered: int = 0
    received: int = 0
    confirmed_by: str | None = None
    supplier_reference: str = ""
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    # Goods expected by (sent + the supplier's lead time).
    expected_by: datetime | None = None
    filled_orders: list[str] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    # When the episode last changed (the tracker stamps it; None only before its first
    # step, and in answers recorded before the stamp). No read model: ``version`` stays 0.
    updated_at: datetime | None = None
    version: int = 0


class ReplenishmentSummary(Model):
    """One episode as the store lists it (``GET /replenishments``)."""

    workflow_id: str
    po_id: str
    warehouse_id: str
    sku: str
    n: int
    status: str
    po_status: str | None = None
    supplier_id: str | None = None
    ordered: int = 0
    received: int = 0
    opened_at: datetime
    closed_at: datetime | None = None
