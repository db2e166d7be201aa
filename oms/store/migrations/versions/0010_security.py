"""Security hardening: company memberships.

Mirrors ``CompanyMemberRow`` of ``oms.store.tables``.

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


def downgrade() -> None:
    op.drop_index("ix_company_members_customer_id", table_name="company_members")
    op.drop_table("company_members")
