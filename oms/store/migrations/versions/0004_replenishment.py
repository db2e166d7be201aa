"""Replenishment: suppliers, SKU -> supplier, reorder policies, episodes, purchase orders.

Mirrors the replenishment tables of ``oms.store.tables``;
``tests/store/test_migrations.py`` fails if the two drift apart.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id"),
    )
    op.create_table(
        "product_suppliers",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.supplier_id"]),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_index("ix_product_suppliers_supplier_id", "product_suppliers", ["supplier_id"])
    op.create_table(
        "reorder_policies",
        sa.Column("warehouse_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("reorder_qty", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reorder_point >= 0", name="ck_reorder_policies_point"),
        sa.CheckConstraint("reorder_qty > 0", name="ck_reorder_policies_qty"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.warehouse_id"]),
        sa.PrimaryKeyConstraint("warehouse_id", "sku"),
    )
    op.create_table(
        "replenishments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("warehouse_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("available_at_open", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.Column("po_id", sa.String(length=160), nullable=False),
        sa.Column("replenishment_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("warehouse_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("supplier_reference", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["replenishment_id"], ["replenishments.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.supplier_id"]),
        sa.PrimaryKeyConstraint("po_id"),
        sa.UniqueConstraint("replenishment_id"),
    )
    op.create_index("ix_purchase_orders_status", "purchase_orders", ["status"])
    op.create_table(
        "purchase_order_lines",
        sa.Column("po_id", sa.String(length=160), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("received_qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_po_lines_quantity"),
        sa.CheckConstraint("received_qty >= 0", name="ck_po_lines_received"),
        sa.ForeignKeyConstraint(["po_id"], ["purchase_orders.po_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("po_id", "sku"),
    )
    op.create_table(
        "goods_receipts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("po_id", sa.String(length=160), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("filled_orders", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_goods_receipts_quantity"),
        sa.ForeignKeyConstraint(["po_id"], ["purchase_orders.po_id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_goods_receipts_po_id", "goods_receipts", ["po_id"])


def downgrade() -> None:
    op.drop_index("ix_goods_receipts_po_id", table_name="goods_receipts")
    op.drop_table("goods_receipts")
    op.drop_table("purchase_order_lines")
    op.drop_index("ix_purchase_orders_status", table_name="purchase_orders")
    op.drop_table("purchase_orders")
    op.drop_index("uq_replenishments_one_open", table_name="replenishments")
    op.drop_table("replenishments")
    op.drop_table("reorder_policies")
    op.drop_index("ix_product_suppliers_supplier_id", table_name="product_suppliers")
    op.drop_table("product_suppliers")
    op.drop_table("suppliers")
