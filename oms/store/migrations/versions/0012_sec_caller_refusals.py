"""Refusals of the OMS's own callers (401/403 seen by the simulated warehouse or the demo's
operator), kept for /ops/stuck.

Mirrors ``CallerRefusalRow`` of ``oms.store.tables``.

Revision ID: 0012_sec_caller_refusals
Revises: 0012_border
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

from alembic import op

from oms.store.migrations.columns import drop_table, integer, string, timestamp

revision = "0012_sec_caller_refusals"
down_revision = "0012_border"


def upgrade() -> None:
    op.create_table(
        "caller_refusals",
        string("caller", 120, primary_key=True),
        integer("status"),
        string("method", 8),
        string("path", 200),
        string("detail", 300),
        integer("count"),
        timestamp("first_at"),
        timestamp("last_at"),
    )
    op.create_index("ix_caller_refusals_last_at", "caller_refusals", ["last_at"])


def downgrade() -> None:
    drop_table("caller_refusals", "ix_caller_refusals_last_at")
