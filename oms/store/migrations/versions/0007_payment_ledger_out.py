"""The sandbox payment provider's ledger leaves the OMS's schema.

``payment_transactions`` was the sandbox's own book-keeping kept in the OMS's
tables; the sandbox now keeps it in a database of its own
(``sandboxes/payments.py``), as a real provider would. Its rows were sandbox
test data: an order paid before this revision cannot be refunded through the
sandbox afterwards (the sandbox no longer knows its capture).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import drop_table

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    drop_table(
        "payment_transactions",
        "ix_payment_transactions_order_id",
        "ix_payment_transactions_authorization_id",
    )


def downgrade() -> None:
    op.create_table(
        "payment_transactions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("authorization_id", sa.String(80), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_payment_transactions_authorization_id", "payment_transactions", ["authorization_id"]
    )
    op.create_index("ix_payment_transactions_order_id", "payment_transactions", ["order_id"])
