"""Returns: the RMA read model with its lines (reasons), stock movements, returnable products.

Mirrors the return tables of ``oms.store.tables``; ``tests/store/test_migrations.py``
fails if the two drift apart.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import drop_table, integer, money, read_model, string, timestamp

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("returnable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "returns",
        string("rma_id", 80),
        string("order_id", 64),
        string("status", 32),
        string("resolution", 16),
        string("customer_id", 64),
        timestamp("requested_at"),
        *read_model(),
        sa.PrimaryKeyConstraint("rma_id"),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id"])
    op.create_index("ix_returns_customer_id", "returns", ["customer_id"])
    op.create_index("ix_returns_status_updated", "returns", ["status", "updated_at"])
    op.create_table(
        "return_lines",
        string("rma_id", 80),
        string("sku", 64),
        string("order_id", 64),
        integer("quantity"),
        string("reason", 32),
        integer("received_resellable"),
        integer("received_damaged"),
        integer("received_wrong_item"),
        money("refunded"),
        sa.ForeignKeyConstraint(["rma_id"], ["returns.rma_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rma_id", "sku"),
    )
    op.create_index("ix_return_lines_order_sku", "return_lines", ["order_id", "sku"])
    op.create_index("ix_return_lines_reason", "return_lines", ["reason"])
    op.create_table(
        "stock_movements",
        string("key", 200),
        string("kind", 16),
        string("warehouse_id", 32),
        string("sku", 64),
        integer("quantity"),
        string("reference", 80),
        sa.Column("filled_orders", sa.JSON(), nullable=False),
        timestamp("created_at"),
        sa.CheckConstraint("quantity > 0", name="ck_stock_movements_quantity"),
        sa.CheckConstraint("kind IN ('restock', 'write_off')", name="ck_stock_movements_kind"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_stock_movements_sku", "stock_movements", ["sku"])
    op.create_index("ix_stock_movements_reference", "stock_movements", ["reference"])


def downgrade() -> None:
    drop_table("stock_movements", "ix_stock_movements_reference", "ix_stock_movements_sku")
    drop_table("return_lines", "ix_return_lines_reason", "ix_return_lines_order_sku")
    drop_table(
        "returns", "ix_returns_status_updated", "ix_returns_customer_id", "ix_returns_order_id"
    )
    with op.batch_alter_table("products") as batch:
        batch.drop_column("returnable")
