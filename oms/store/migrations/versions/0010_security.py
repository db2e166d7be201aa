"""Security hardening: company memberships; stock adjustments as movements with who and why;
ids reserved for good; Idempotency-Key answers; inbound webhook ids seen lately.

Mirrors ``CompanyMemberRow``, ``StockMovementRow``, ``ReservedIdRow``,
``IdempotencyKeyRow`` and ``ReceivedEventRow`` of ``oms.store.tables``.

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_members",
        sa.Column(
            "company_id",
            sa.String(64),
            sa.ForeignKey("companies.company_id"),
            primary_key=True,
        ),
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_company_members_customer_id", "company_members", ["customer_id"])
    op.create_table(
        "reserved_ids",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "received_events",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
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
    op.drop_index("ix_received_events_received_at", table_name="received_events")
    op.drop_table("received_events")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
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
    op.drop_index("ix_company_members_customer_id", table_name="company_members")
    op.drop_table("company_members")
