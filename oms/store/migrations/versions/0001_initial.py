"""Initial schema: catalogue, stock, allocation, read models, adapters' ledgers.

Mirrors ``oms.store.tables`` as first written; ``tests/store/test_migrations.py``
fails if the two drift apart.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import (
    bigint,
    drop_table,
    integer,
    money,
    read_model,
    string,
    timestamp,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "products",
        string("sku", 64),
        string("name", 200),
        money("unit_price"),
        string("currency", 3),
        integer("weight_grams"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "warehouses",
        string("warehouse_id", 32),
        string("name", 200),
        string("line1", 200),
        string("postal_code", 16),
        string("city", 100),
        string("country", 2),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("warehouse_id"),
    )
    op.create_table(
        "stock",
        string("warehouse_id", 32),
        string("sku", 64),
        integer("on_hand"),
        integer("reserved"),
        timestamp("updated_at"),
        sa.CheckConstraint("on_hand >= 0", name="ck_stock_on_hand"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_reserved"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.warehouse_id"]),
        sa.PrimaryKeyConstraint("warehouse_id", "sku"),
    )
    op.create_table(
        "allocations",
        string("key", 200),
        string("order_id", 64),
        sa.Column("decision", sa.JSON(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_allocations_order_id", "allocations", ["order_id"])
    op.create_table(
        "reservations",
        bigint("id"),
        string("key", 250),
        string("order_id", 64),
        string("warehouse_id", 32),
        string("sku", 64),
        integer("quantity"),
        string("status", 16),
        string("shipment_id", 80, nullable=True),
        integer("backorder_id", nullable=True),
        string("claim_key", 200, nullable=True),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.CheckConstraint("quantity > 0", name="ck_reservation_quantity"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_reservations_order_status", "reservations", ["order_id", "status"])
    op.create_index("ix_reservations_shipment", "reservations", ["shipment_id"])
    op.create_table(
        "backorders",
        integer("id", autoincrement=True),
        string("order_id", 64),
        string("allocation_key", 200),
        string("sku", 64),
        integer("quantity"),
        integer("quantity_open"),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        timestamp("placed_at"),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("allocation_key", "sku", name="uq_backorders_alloc_sku"),
    )
    op.create_index("ix_backorders_order_id", "backorders", ["order_id"])
    op.create_index("ix_backorders_sku_open", "backorders", ["sku", "quantity_open"])
    op.create_table(
        "orders",
        string("order_id", 64),
        string("status", 32),
        string("channel", 32),
        string("customer_id", 64),
        string("currency", 3),
        money("total"),
        timestamp("placed_at"),
        *read_model(),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_index("ix_orders_status_placed", "orders", ["status", "placed_at"])
    op.create_table(
        "shipments",
        string("shipment_id", 80),
        string("order_id", 64),
        string("warehouse_id", 32),
        string("status", 32),
        string("tracking_number", 64, nullable=True),
        *read_model(),
        sa.PrimaryKeyConstraint("shipment_id"),
        sa.UniqueConstraint("tracking_number"),
    )
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])
    op.create_index("ix_shipments_wh_status", "shipments", ["warehouse_id", "status"])
    op.create_table(
        "labels",
        string("idempotency_key", 200),
        string("shipment_id", 80),
        string("label_id", 80),
        string("tracking_number", 64),
        string("carrier", 32),
        string("service", 32),
        money("price"),
        string("currency", 3),
        sa.Column("voided", sa.Boolean(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )
    op.create_index("ix_labels_shipment_id", "labels", ["shipment_id"])
    op.create_table(
        "payment_transactions",
        integer("id", autoincrement=True),
        string("idempotency_key", 200),
        string("kind", 16),
        string("authorization_id", 80),
        string("order_id", 64),
        string("status", 16),
        money("amount"),
        string("currency", 3),
        sa.Column("detail", sa.Text(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(
        "ix_payment_transactions_authorization_id", "payment_transactions", ["authorization_id"]
    )
    op.create_index("ix_payment_transactions_order_id", "payment_transactions", ["order_id"])
    op.create_table(
        "notifications",
        string("key", 200),
        string("recipient", 320),
        string("template", 64),
        string("subject", 300),
        string("message_id", 250),
        string("status", 16),
        integer("attempts"),
        timestamp("created_at"),
        timestamp("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("notifications")
    drop_table(
        "payment_transactions",
        "ix_payment_transactions_order_id",
        "ix_payment_transactions_authorization_id",
    )
    drop_table("labels", "ix_labels_shipment_id")
    drop_table("shipments", "ix_shipments_wh_status", "ix_shipments_order_id")
    drop_table("orders", "ix_orders_status_placed", "ix_orders_customer_id")
    drop_table("backorders", "ix_backorders_sku_open", "ix_backorders_order_id")
    drop_table("reservations", "ix_reservations_shipment", "ix_reservations_order_status")
    drop_table("allocations", "ix_allocations_order_id")
    op.drop_table("stock")
    op.drop_table("warehouses")
    op.drop_table("products")
