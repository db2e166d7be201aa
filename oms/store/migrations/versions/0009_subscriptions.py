"""Subscriptions: the read model of each subscription workflow.

Mirrors ``SubscriptionRow`` of ``oms.store.tables``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import drop_table, read_model, string, timestamp

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        string("subscription_id", 64),
        string("status", 16),
        string("customer_id", 64),
        string("interval", 8),
        timestamp("next_renewal_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        timestamp("created_at"),
        *read_model(),
        sa.PrimaryKeyConstraint("subscription_id"),
    )
    op.create_index("ix_subscriptions_customer_id", "subscriptions", ["customer_id"])
    op.create_index("ix_subscriptions_status_updated", "subscriptions", ["status", "updated_at"])


def downgrade() -> None:
    drop_table("subscriptions", "ix_subscriptions_status_updated", "ix_subscriptions_customer_id")
