"""Replenishment: suppliers, SKU -> supplier, reorder policies, episodes, purchase orders.

Mirrors the replenishment tables of ``oms.store.tables``;
``tests/store/test_migrations.py`` fails if the two drift apart.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import drop_table, integer, money, string, timestamp

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "suppliers",
        string("supplier_id", 64),
        string("name", 200),
        string("email", 320),
        integer("lead_time_days"),
        sa.PrimaryKeyConstraint("supplier_id"),
    )
    op.create_table(
        "product_suppliers",
        string("sku", 64),
        string("supplier_id", 64),
        money("unit_cost"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.supplier_id"]),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_index("ix_product_suppliers_supplier_id", "product_suppliers", ["supplier_id"])
    op.create_table(
        "reorder_policies",
        string("warehouse_id", 32),
        string("sku", 64),
        integer("reorder_point"),
        integer("reorder_qty"),
        timestamp("updated_at"),
        sa.CheckConstraint("reorder_point >= 0", name="ck_reorder_policies_point"),
        sa.CheckConstraint("reorder_qty > 0", name="ck_reorder_policies_qty"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.warehouse_id"]),
        sa.PrimaryKeyConstraint("warehouse_id", "sku"),
    )
    op.create_table(
        "replenishments",
        integer("id", autoincrement=True),
        string("warehouse_id", 32),
        string("sku", 64),
        integer("n"),
        string("status", 16),
        integer("available_at_open"),
        integer("reorder_point"),
        timestamp("opened_at"),
        timestamp("closed_at", nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_replenishments_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("warehouse_id", "sku", "n", name="uq_replenishments_wh_sku_n"),
    )
    op.create_index(
        "uq_replenishments_one_open",
        "replenishments",
        ["warehouse_id", "sku"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "purchase_orders",
        string("po_id", 160),
        integer("replenishment_id"),
        string("supplier_id", 64),
        string("warehouse_id", 32),
        string("status", 24),
        string("supplier_reference", 100),
        timestamp("created_at"),
        timestamp("confirmed_at", nullable=True),
        timestamp("updated_at"),
        sa.ForeignKeyConstraint(["replenishment_id"], ["replenishments.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.supplier_id"]),
        sa.PrimaryKeyConstraint("po_id"),
        sa.UniqueConstraint("replenishment_id"),
    )
    op.create_index("ix_purchase_orders_status", "purchase_orders", ["status"])
    op.create_table(
        "purchase_order_lines",
        string("po_id", 160),
        string("sku", 64),
        integer("quantity"),
        money("unit_cost"),
        integer("received_qty"),
        sa.CheckConstraint("quantity > 0", name="ck_po_lines_quantity"),
        sa.CheckConstraint("received_qty >= 0", name="ck_po_lines_received"),
        sa.ForeignKeyConstraint(["po_id"], ["purchase_orders.po_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("po_id", "sku"),
    )
    op.create_table(
        "goods_receipts",
        string("key", 200),
        string("po_id", 160),
        string("sku", 64),
        integer("quantity"),
        sa.Column("filled_orders", sa.JSON(), nullable=False),
        timestamp("created_at"),
        sa.CheckConstraint("quantity > 0", name="ck_goods_receipts_quantity"),
        sa.ForeignKeyConstraint(["po_id"], ["purchase_orders.po_id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_goods_receipts_po_id", "goods_receipts", ["po_id"])


def downgrade() -> None:
    drop_table("goods_receipts", "ix_goods_receipts_po_id")
    op.drop_table("purchase_order_lines")
    drop_table("purchase_orders", "ix_purchase_orders_status")
    drop_table("replenishments", "uq_replenishments_one_open")
    op.drop_table("reorder_policies")
    drop_table("product_suppliers", "ix_product_suppliers_supplier_id")
    op.drop_table("suppliers")
