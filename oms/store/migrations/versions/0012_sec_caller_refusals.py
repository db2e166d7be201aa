"""Refusals of the OMS's own callers (401/403 seen by the simulated warehouse or the demo's
operator), kept for /ops/stuck.

Mirrors ``CallerRefusalRow`` of ``oms.store.tables``.

Revision ID: 0012_sec_caller_refusals
Revises: 0012_border
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_sec_caller_refusals"
down_revision: str | Sequence[str] | None = "0012_border"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caller_refusals",
        sa.Column("caller", sa.String(120), primary_key=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_caller_refusals_last_at", "caller_refusals", ["last_at"])


def downgrade() -> None:
    op.drop_index("ix_caller_refusals_last_at", table_name="caller_refusals")
    op.drop_table("caller_refusals")
