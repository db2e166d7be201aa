"""Security hardening: company memberships; stock adjustments as movements with who and why;
ids reserved for good; Idempotency-Key answers; inbound webhook ids seen lately.

Mirrors ``CompanyMemberRow``, ``StockMovementRow``, ``ReservedIdRow``,
``IdempotencyKeyRow`` and ``ReceivedEventRow`` of ``oms.store.tables``.

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import drop_table, integer, string, timestamp

revision = "0010"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "company_members",
        string("company_id", 64, sa.ForeignKey("companies.company_id"), primary_key=True),
        string("customer_id", 64, primary_key=True),
        string("added_by", 100),
        timestamp("added_at"),
    )
    op.create_index("ix_company_members_customer_id", "company_members", ["customer_id"])
    op.create_table(
        "reserved_ids",
        string("kind", 16, primary_key=True),
        string("id", 80, primary_key=True),
        string("owner", 120),
        string("body_hash", 64, nullable=True),
        timestamp("created_at"),
    )
    op.create_table(
        "idempotency_keys",
        string("subject", 100, primary_key=True),
        string("key", 255, primary_key=True),
        string("request_hash", 64),
        integer("status_code", nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        timestamp("created_at"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "received_events",
        string("message_id", 255, primary_key=True),
        timestamp("received_at"),
    )
    op.create_index("ix_received_events_received_at", "received_events", ["received_at"])
    with op.batch_alter_table("stock_movements") as batch:
        batch.add_column(sa.Column("actor", sa.String(100), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(200), nullable=True))
        batch.add_column(sa.Column("on_hand_after", sa.Integer(), nullable=True))
        batch.drop_constraint("ck_stock_movements_quantity", type_="check")
        batch.drop_constraint("ck_stock_movements_kind", type_="check")
        batch.create_check_constraint(
            "ck_stock_movements_quantity", "quantity > 0 OR kind = 'adjust'"
        )
        batch.create_check_constraint(
            "ck_stock_movements_kind", "kind IN ('restock', 'write_off', 'adjust')"
        )


def downgrade() -> None:
    drop_table("received_events", "ix_received_events_received_at")
    drop_table("idempotency_keys", "ix_idempotency_keys_created_at")
    op.drop_table("reserved_ids")
    op.execute("DELETE FROM stock_movements WHERE kind = 'adjust'")
    with op.batch_alter_table("stock_movements") as batch:
        batch.drop_constraint("ck_stock_movements_quantity", type_="check")
        batch.drop_constraint("ck_stock_movements_kind", type_="check")
        batch.create_check_constraint("ck_stock_movements_quantity", "quantity > 0")
        batch.create_check_constraint("ck_stock_movements_kind", "kind IN ('restock', 'write_off')")
        batch.drop_column("on_hand_after")
        batch.drop_column("reason")
        batch.drop_column("actor")
    drop_table("company_members", "ix_company_members_customer_id")
