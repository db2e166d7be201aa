"""Outbound events: the events outbox, webhook endpoints, their deliveries and attempts;
and the ``integration`` role for API tokens.

Mirrors ``EventRow``, ``WebhookEndpointRow``, ``WebhookDeliveryRow``, ``WebhookAttemptRow``
and ``ApiTokenRow``'s role check of ``oms.store.tables``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import bigint, integer, string, timestamp

revision = "0008"
down_revision = "0007"

_ROLES = (
    "'buyer', 'sales', 'sales_manager', 'sales_director', 'finance', 'cfo', "
    "'support', 'warehouse', 'ops', 'admin'"
)


def _roles(extra: str) -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("ck_api_tokens_role", type_="check")
        batch.create_check_constraint("ck_api_tokens_role", f"role IN ({_ROLES}{extra})")


def upgrade() -> None:
    _roles(", 'integration'")
    op.create_table(
        "events",
        bigint("seq", autoincrement=True),
        string("event_id", 40),
        string("type", 40),
        string("object_id", 200),
        sa.Column("payload", sa.JSON(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.create_table(
        "webhook_endpoints",
        string("endpoint_id", 40),
        string("url", 2000),
        sa.Column("events", sa.JSON(), nullable=False),
        string("description", 500),
        string("secret", 100),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("endpoint_id"),
    )
    op.create_table(
        "webhook_deliveries",
        string("endpoint_id", 40),
        bigint("event_seq"),
        string("status", 16),
        integer("attempts"),
        timestamp("first_attempt_at", nullable=True),
        timestamp("next_attempt_at", nullable=True),
        integer("last_status_code", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        timestamp("delivered_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name="ck_webhook_deliveries_status"
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.endpoint_id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["event_seq"], ["events.seq"]),
        sa.PrimaryKeyConstraint("endpoint_id", "event_seq"),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["endpoint_id", "status", "event_seq"],
    )
    op.create_table(
        "webhook_attempts",
        bigint("id", autoincrement=True),
        string("endpoint_id", 40),
        bigint("event_seq"),
        integer("attempt"),
        timestamp("at"),
        integer("status_code", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        string("outcome", 16),
        timestamp("next_retry_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.endpoint_id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["event_seq"], ["events.seq"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_attempts_endpoint", "webhook_attempts", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("events")
    _roles("")
