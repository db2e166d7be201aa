"""Changes after an order is placed: refunds without a return, once per request key; the
order search's columns, SKU table and indexes (filled from the stored views).

Mirrors ``OrderRefundRow``, ``OrderSkuRow`` and ``OrderRow``'s search columns and indexes
of ``oms.store.tables``.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import money, string, timestamp

revision = "0011"
down_revision = "0009"


def upgrade() -> None:
    _search()
    op.create_table(
        "order_refunds",
        string("order_id", 64, primary_key=True),
        string("key", 255, primary_key=True),
        money("amount"),
        string("currency", 3),
        string("reason", 500),
        string("requested_by", 100),
        string("status", 16),
        string("refund_id", 100, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        timestamp("requested_at"),
        timestamp("updated_at"),
    )


def _search() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("customer_email", sa.String(320), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("customer_name", sa.String(200), nullable=False, server_default="")
        )
    op.create_table(
        "order_skus",
        string("order_id", 64, primary_key=True),
        string("sku", 64, primary_key=True),
    )
    # Existing orders: their search columns and SKUs from the view each row stores.
    conn = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("order_id", sa.String),
        sa.column("view", sa.JSON),
        sa.column("customer_email", sa.String),
        sa.column("customer_name", sa.String),
    )
    skus = sa.table("order_skus", sa.column("order_id", sa.String), sa.column("sku", sa.String))
    for order_id, view in conn.execute(sa.select(orders.c.order_id, orders.c.view)):
        customer = view.get("customer", {})
        conn.execute(
            orders.update()
            .where(orders.c.order_id == order_id)
            .values(
                customer_email=str(customer.get("email", "")).lower(),
                customer_name=str(customer.get("name", "")).lower(),
            )
        )
        found = sorted({line["sku"] for line in view.get("lines", [])})
        if found:
            conn.execute(skus.insert(), [{"order_id": order_id, "sku": sku} for sku in found])
    op.create_index("ix_order_skus_sku", "order_skus", ["sku"])
    op.create_index("ix_orders_customer_email", "orders", ["customer_email"])
    op.create_index(
        "ix_orders_customer_name",
        "orders",
        ["customer_name"],
        postgresql_ops={"customer_name": "varchar_pattern_ops"},
    )
    op.create_index("ix_orders_channel_placed", "orders", ["channel", "placed_at"])
    op.create_index("ix_orders_placed", "orders", ["placed_at"])


def downgrade() -> None:
    op.drop_table("order_refunds")
    for name in (
        "ix_orders_placed",
        "ix_orders_channel_placed",
        "ix_orders_customer_name",
        "ix_orders_customer_email",
    ):
        op.drop_index(name, table_name="orders")
    op.drop_table("order_skus")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("customer_name")
        batch.drop_column("customer_email")
