"""The OMS's tables (SQLAlchemy 2.0 declarative). Alembic migrations mirror this module.

Every external effect has a row keyed by a business key under a unique
constraint, so a retried activity finds "already applied" instead of doing
the effect twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from oms.store.db import as_utc


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, read back in UTC with its zone on both stores.

    Every moment the store keeps is UTC. PostgreSQL's ``timestamptz`` answers in the
    session's time zone and SQLite answers without a zone at all, so a row read on SQLite
    would not compare with ``datetime.now(UTC)``: converting here, once, spares every
    reader its own ``as_utc``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        # A TypeDecorator does not pass its impl's on; the list cursors go by it.
        return datetime

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


# A 64-bit sequence on PostgreSQL; SQLite's autoincrementing key is its INTEGER rowid.
_Seq = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    # A column's type follows its annotation; every amount has 14 digits, 2 after the point.
    type_annotation_map = {
        dict[str, Any]: JSON,
        datetime: UtcDateTime(),
        Decimal: Numeric(14, 2),
    }


class ReadModel:
    """The columns a read-model row ends with: when its view last changed, the view's
    version (``oms.store.versioned``: an older one never overwrites a newer one) and the
    workflow's whole view as JSON."""

    updated_at: Mapped[datetime] = mapped_column()
    version: Mapped[int] = mapped_column(default=0)
    view: Mapped[dict[str, Any]] = mapped_column()


class ProductRow(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="SEK")
    weight_grams: Mapped[int] = mapped_column(default=500)
    active: Mapped[bool] = mapped_column(default=True)
    # False for products the merchant never takes back (hygiene items, made to order).
    returnable: Mapped[bool] = mapped_column(default=True, server_default=true())
    hs_code: Mapped[str | None] = mapped_column(String(10))
    origin_country: Mapped[str | None] = mapped_column(String(2))
    # Which VAT rate applies (oms.domain.tax): standard, reduced (books, food) or zero.
    tax_class: Mapped[str] = mapped_column(
        String(16), default="standard", server_default="standard"
    )


class PriceRow(Base):
    """A SKU's list price in one currency: what the OMS charges a buyer (oms.store.prices)."""

    __tablename__ = "prices"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    unit_price: Mapped[Decimal] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WarehouseRow(Base):
    __tablename__ = "warehouses"

    warehouse_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float] = mapped_column()
    lon: Mapped[float] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)


class StockRow(Base):
    """On hand and reserved units of one SKU in one warehouse."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="ck_stock_on_hand"),
        CheckConstraint("reserved >= 0", name="ck_stock_reserved"),
    )

    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.warehouse_id"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AllocationRow(Base):
    """One allocation decision, stored whole so a retried allocate returns it unchanged."""

    __tablename__ = "allocations"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    decision: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReservationRow(Base):
    """Units held for an order in a warehouse; ``status`` open -> consumed | released."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_reservation_quantity"),
        Index("ix_reservations_order_status", "order_id", "status"),
        Index("ix_reservations_shipment", "shipment_id"),
    )

    id: Mapped[int] = mapped_column(_Seq, primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    order_id: Mapped[str] = mapped_column(String(64))
    warehouse_id: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Set when the order turned the reservation into a shipment.
    shipment_id: Mapped[str | None] = mapped_column(String(80))
    # Reservations made for a backorder wait here until the order claims them.
    backorder_id: Mapped[int | None] = mapped_column()
    claim_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BackorderRow(Base):
    """Units an order is still owed; filled oldest ``placed_at`` first when stock arrives, from
    the warehouses a re-route left it (``exclude_warehouses``, ``only_warehouses``); ``free``
    units (a claim's reship) ship in parcels of their own that capture nothing."""

    __tablename__ = "backorders"
    __table_args__ = (
        UniqueConstraint("allocation_key", "sku", name="uq_backorders_alloc_sku"),
        Index("ix_backorders_sku_open", "sku", "quantity_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    allocation_key: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column()
    quantity_open: Mapped[int] = mapped_column()
    cancelled: Mapped[bool] = mapped_column(default=False)
    placed_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A re-route's choice (``AllocateRequest``), kept so that every fill respects it: the
    # warehouses that may not fill this backorder, or the only ones that may (NULL: any).
    exclude_warehouses: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    only_warehouses: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # Owed at no charge (a claim's reship of units the customer paid for once).
    free: Mapped[bool] = mapped_column(default=False, server_default=false())


class OrderRow(ReadModel, Base):
    """Read model of an order, written only by its workflow (through an activity)."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_placed", "status", "placed_at"),
        Index("ix_orders_channel_placed", "channel", "placed_at"),
        Index("ix_orders_placed", "placed_at"),
        # ``q`` matches the start of a name: LIKE 'prefix%' uses this index on PostgreSQL too.
        Index(
            "ix_orders_customer_name",
            "customer_name",
            postgresql_ops={"customer_name": "varchar_pattern_ops"},
        ),
    )

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    # Who placed it: "customer", or the OMS ("replacement", "renewal"); the risk rules
    # count only the customer's own orders.
    origin: Mapped[str] = mapped_column(String(16), default="customer", server_default="customer")
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    # Lower-cased, for search (``q`` and ``email``).
    customer_email: Mapped[str] = mapped_column(String(320), index=True, default="")
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column()
    # The VAT in ``total`` (reports split revenue into net and tax).
    tax: Mapped[Decimal] = mapped_column(default=0, server_default="0")
    placed_at: Mapped[datetime] = mapped_column()


class OrderSkuRow(Base):
    """Which SKUs an order holds, for the order search by SKU (written with the order)."""

    __tablename__ = "order_skus"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class OrderRefundRow(Base):
    """A refund of an order without a return, once per the caller's ``Idempotency-Key``:
    ``pending`` until the provider answered, then ``refunded`` or ``declined``."""

    __tablename__ = "order_refunds"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    amount: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    # Net and VAT per rate of the amount ([{rate, net, tax}]); NULL: not split (an order
    # placed without totals).
    tax: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)


class ShipmentRow(ReadModel, Base):
    """Read model of a shipment (the warehouse's pick list), written by its workflow."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_wh_status", "warehouse_id", "status"),)

    shipment_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    warehouse_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64), unique=True)


class LabelRow(Base):
    """A carrier label bought for a shipment; one per idempotency key."""

    __tablename__ = "labels"

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(80), index=True)
    label_id: Mapped[str] = mapped_column(String(80))
    tracking_number: Mapped[str] = mapped_column(String(64), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    voided: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The customs declaration (JSON) the label was bought with; NULL inside a customs area.
    customs: Mapped[str | None] = mapped_column(Text)


class LateScanRow(Base):
    """A carrier scan that came after its shipment's workflow had ended, once per the
    carrier's event id (``webhook-id``, the same on every retry of one event)."""

    __tablename__ = "late_scans"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(80), index=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    tracking_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime | None] = mapped_column()
    description: Mapped[str] = mapped_column(String(500))
    shipment_status: Mapped[str] = mapped_column(String(32))
    alerted: Mapped[bool] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()


class NotificationRow(Base):
    """Email outbox: one row per business key (``<order>:<event>``), never sent again once sent."""

    __tablename__ = "notifications"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


# --- B2B: companies, credit, quotes -----------------------------------------------------------


class CompanyRow(Base):
    """A B2B customer company: price tier, credit limit and what to do beyond it."""

    __tablename__ = "companies"

    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    credit_limit: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="SEK")
    over_limit: Mapped[str] = mapped_column(String(8), default="hold")  # hold | refuse
    # Due date of its invoices: days after issue (net30, net60).
    payment_terms: Mapped[str] = mapped_column(String(8), default="net30", server_default="net30")


class CompanyMemberRow(Base):
    """A customer who buys for a company: only members get its prices, quotes and credit."""

    __tablename__ = "company_members"

    company_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("companies.company_id"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditLedgerRow(Base):
    """One credit movement of an order: ``reserve``, ``consume`` (invoiced) or ``release``.

    Still reserved for an order: reserves - consumes - releases (never below 0).
    Available to the company: limit - still reserved - consumed.
    """

    __tablename__ = "credit_ledger"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="ck_credit_ledger_amount"),
        CheckConstraint("kind IN ('reserve', 'consume', 'release')", name="ck_credit_ledger_kind"),
        Index("ix_credit_ledger_order_kind", "order_id", "kind"),
    )

    id: Mapped[int] = mapped_column(_Seq, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    shipment_id: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column()
    # Credit available just before a reservation, so a retried reserve answers the same.
    available_before: Mapped[Decimal | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuoteRow(ReadModel, Base):
    """Read model of a B2B quote, written only by its workflow (through an activity)."""

    __tablename__ = "quotes"
    __table_args__ = (Index("ix_quotes_status_updated", "status", "updated_at"),)

    quote_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    company_id: Mapped[str] = mapped_column(String(64), index=True)


# --- returns ----------------------------------------------------------------------------------


class ReturnRow(ReadModel, Base):
    """Read model of a return (RMA), written only by its workflow (through an activity)."""

    __tablename__ = "returns"
    __table_args__ = (Index("ix_returns_status_updated", "status", "updated_at"),)

    rma_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    resolution: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime] = mapped_column()


class ReturnLineRow(Base):
    """One SKU of a return, with its reason: what return reports group and filter by."""

    __tablename__ = "return_lines"
    __table_args__ = (
        Index("ix_return_lines_order_sku", "order_id", "sku"),
        Index("ix_return_lines_reason", "reason"),
    )

    rma_id: Mapped[str] = mapped_column(
        ForeignKey("returns.rma_id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32))
    received_resellable: Mapped[int] = mapped_column(default=0)
    received_damaged: Mapped[int] = mapped_column(default=0)
    received_wrong_item: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))


class StockMovementRow(Base):
    """Returned units put back on a shelf (``restock``) or written off, or a count set by a
    person (``adjust``: ``quantity`` is the signed change, with who and why); one per key."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("quantity > 0 OR kind = 'adjust'", name="ck_stock_movements_quantity"),
        CheckConstraint(
            "kind IN ('restock', 'write_off', 'adjust')", name="ck_stock_movements_kind"
        ),
    )

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    warehouse_id: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column()
    reference: Mapped[str] = mapped_column(String(80), index=True)
    # Orders whose backorders a restock filled, so a retried restock wakes the same ones.
    filled_orders: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An adjustment's author (the token's subject), reason and the level it set.
    actor: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(200))
    on_hand_after: Mapped[int | None] = mapped_column()


class ReservedIdRow(Base):
    """An order, quote, return or subscription id, taken for good: Temporal forgets a closed
    workflow after its retention, the store does not, so an id is never accepted for something
    else."""

    __tablename__ = "reserved_ids"

    # order | quote | return | subscription
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    # Who took it: the caller's subject, or the quote or return it is derived from.
    owner: Mapped[str] = mapped_column(String(120))
    # Fingerprint of the request's content (a resubmission of the same thing is no conflict).
    body_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKeyRow(Base):
    """A POST's ``Idempotency-Key``: the same caller, key and request get the same answer."""

    __tablename__ = "idempotency_keys"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # None while the first request is being answered.
    status_code: Mapped[int | None] = mapped_column()
    response: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReceivedEventRow(Base):
    """An inbound webhook message id seen lately: a replay within the tolerance is ignored."""

    __tablename__ = "received_events"

    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CallerRefusalRow(Base):
    """The API refused one of the OMS's own callers (401/403): kept for /ops/stuck, since
    the caller itself only logs it, and every order it serves stalls meanwhile."""

    __tablename__ = "caller_refusals"

    # The caller's subject, or the dev token it presented while dev tokens are off.
    caller: Mapped[str] = mapped_column(String(120), primary_key=True)
    status: Mapped[int] = mapped_column()
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(300))
    count: Mapped[int] = mapped_column(default=1)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ApiTokenRow(Base):
    """An API bearer token: only the SHA-256 of its secret is kept; revoked, never deleted."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(
            "role IN ('buyer', 'sales', 'sales_manager', 'sales_director', 'finance', 'cfo', "
            "'support', 'warehouse', 'ops', 'admin', 'integration')",
            name="ck_api_tokens_role",
        ),
    )

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


# --- replenishment: suppliers, reorder policies, episodes, purchase orders --------------------


class SupplierRow(Base):
    """A supplier the merchant buys from; purchase orders go to ``email``."""

    __tablename__ = "suppliers"

    supplier_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    lead_time_days: Mapped[int] = mapped_column(default=7)


class ProductSupplierRow(Base):
    """Which supplier a SKU is bought from (one per SKU), and at what unit cost."""

    __tablename__ = "product_suppliers"

    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.supplier_id"), index=True)
    unit_cost: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))


class ReorderPolicyRow(Base):
    """When to reorder a SKU in a warehouse (available at or below the point) and how much."""

    __tablename__ = "reorder_policies"
    __table_args__ = (
        CheckConstraint("reorder_point >= 0", name="ck_reorder_policies_point"),
        CheckConstraint("reorder_qty > 0", name="ck_reorder_policies_qty"),
    )

    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.warehouse_id"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    reorder_point: Mapped[int] = mapped_column()
    reorder_qty: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReplenishmentRow(Base):
    """One low-stock episode of a SKU in a warehouse: opened once, closed when goods arrive.

    ``(warehouse_id, sku, n)`` is unique and names the workflow
    ``replenish-<warehouse>-<sku>-<n>``; the partial unique index allows at most
    one ``open`` episode per warehouse and SKU, so concurrent triggers open one.
    """

    __tablename__ = "replenishments"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "sku", "n", name="uq_replenishments_wh_sku_n"),
        Index(
            "uq_replenishments_one_open",
            "warehouse_id",
            "sku",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        CheckConstraint("status IN ('open', 'closed')", name="ck_replenishments_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    warehouse_id: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64))
    n: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What the SKU looked like when the episode opened (for the team's email and reports).
    available_at_open: Mapped[int] = mapped_column()
    reorder_point: Mapped[int] = mapped_column()
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class PurchaseOrderRow(Base):
    """A purchase order raised to a supplier for one episode; ``po_id`` is its business key."""

    __tablename__ = "purchase_orders"
    __table_args__ = (Index("ix_purchase_orders_status", "status"),)

    po_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    replenishment_id: Mapped[int] = mapped_column(ForeignKey("replenishments.id"), unique=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.supplier_id"))
    warehouse_id: Mapped[str] = mapped_column(String(32))
    # sent -> confirmed -> partially_received -> received
    status: Mapped[str] = mapped_column(String(24), default="sent")
    supplier_reference: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PurchaseOrderLineRow(Base):
    """Units of one SKU ordered on a purchase order, and how many have been received."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_po_lines_quantity"),
        CheckConstraint("received_qty >= 0", name="ck_po_lines_received"),
    )

    po_id: Mapped[str] = mapped_column(
        ForeignKey("purchase_orders.po_id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column()
    unit_cost: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    received_qty: Mapped[int] = mapped_column(default=0)


class GoodsReceiptRow(Base):
    """One delivery booked against a purchase order line; once per business key."""

    __tablename__ = "goods_receipts"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_goods_receipts_quantity"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    po_id: Mapped[str] = mapped_column(ForeignKey("purchase_orders.po_id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column()
    # Orders whose backorders this delivery filled, so a retried receipt wakes the same ones.
    filled_orders: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- outbound events: the outbox, webhook endpoints and their deliveries ----------------------


class EventRow(Base):
    """One business event, written in the transaction of the change it reports.

    ``seq`` orders events (the feed's cursor); ``event_id`` is deterministic
    (``oms.domain.events.event_id``), so a retried write never inserts one twice.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_created_at", "created_at"),)

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(200))
    # The body every endpoint receives: {"id", "type", "timestamp", "data"}.
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpointRow(Base):
    """A URL that receives the events it subscribed to, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    endpoint_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Event type patterns: ["order.*", "return.refunded"].
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(500), default="")
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDeliveryRow(Base):
    """One event owed to one endpoint: pending until delivered, or dead after retrying
    for days. Fanned out in the event's own transaction, so none is ever skipped."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "endpoint_id", "status", "event_seq"),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name="ck_webhook_deliveries_status"
        ),
    )

    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.endpoint_id", ondelete="CASCADE"), primary_key=True
    )
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()


class WebhookAttemptRow(Base):
    """Every attempt to deliver an event to an endpoint, as the deliveries list shows it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.endpoint_id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq"))
    attempt: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    # delivered, failed (retried at next_retry_at) or dead (given up).
    outcome: Mapped[str] = mapped_column(String(16))
    next_retry_at: Mapped[datetime | None] = mapped_column()


# --- subscriptions ------------------------------------------------------------------------------


class SubscriptionRow(ReadModel, Base):
    """Read model of a subscription, written only by its workflow (through an activity)
    and by the callers of its updates; ``last_error`` is the last renewal's failure."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_status_updated", "status", "updated_at"),)

    subscription_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    interval: Mapped[str] = mapped_column(String(8))
    next_renewal_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()


class InvoiceRow(Base):
    """A B2B invoice (one per shipment of an invoice-term order) or a credit note (one per
    refund of such an order), numbered in one sequence; unique on its business key."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="ck_invoices_kind"),
        CheckConstraint("total >= 0", name="ck_invoices_total"),
    )

    id: Mapped[int] = mapped_column(_Seq, primary_key=True)
    # "<shipment_id>:invoice" or "<order_id>:credit-note:<refund key>".
    key: Mapped[str] = mapped_column(String(300), unique=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    shipment_id: Mapped[str | None] = mapped_column(String(80))
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[dict[str, Any]] = mapped_column()
    net: Mapped[Decimal] = mapped_column()
    tax: Mapped[Decimal] = mapped_column()
    total: Mapped[Decimal] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    # Credit notes: what they give back in the company's credit currency, when the order is
    # in another one (NULL: ``total``).
    credit: Mapped[Decimal | None] = mapped_column()


class CompanyPaymentRow(Base):
    """A payment a company made against its invoices, once per (company, reference)."""

    __tablename__ = "company_payments"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_company_payments_amount"),)

    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    recorded_by: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
