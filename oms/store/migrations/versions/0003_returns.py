"""Returns: the RMA read model with its lines (reasons), stock movements, returnable products.

Mirrors the return tables of ``oms.store.tables``; ``tests/store/test_migrations.py``
fails if the two drift apart.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("returnable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "returns",
        sa.Column("rma_id", sa.String(length=80), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("rma_id"),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id"])
    op.create_index("ix_returns_customer_id", "returns", ["customer_id"])
    op.create_index("ix_returns_status_updated", "returns", ["status", "updated_at"])
    op.create_table(
        "return_lines",
        sa.Column("rma_id", sa.String(length=80), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("received_resellable", sa.Integer(), nullable=False),
        sa.Column("received_damaged", sa.Integer(), nullable=False),
        sa.Column("received_wrong_item", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["rma_id"], ["returns.rma_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rma_id", "sku"),
    )
    op.create_index("ix_return_lines_order_sku", "return_lines", ["order_id", "sku"])
    op.create_index("ix_return_lines_reason", "return_lines", ["reason"])
    op.create_table(
        "stock_movements",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("warehouse_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("filled_orders", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_stock_movements_quantity"),
        sa.CheckConstraint("kind IN ('restock', 'write_off')", name="ck_stock_movements_kind"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_stock_movements_sku", "stock_movements", ["sku"])
    op.create_index("ix_stock_movements_reference", "stock_movements", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_stock_movements_reference", table_name="stock_movements")
    op.drop_index("ix_stock_movements_sku", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index("ix_return_lines_reason", table_name="return_lines")
    op.drop_index("ix_return_lines_order_sku", table_name="return_lines")
    op.drop_table("return_lines")
    op.drop_index("ix_returns_status_updated", table_name="returns")
    op.drop_index("ix_returns_customer_id", table_name="returns")
    op.drop_index("ix_returns_order_id", table_name="returns")
    op.drop_table("returns")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("returnable")
