"""API tokens: bearer tokens mapped to roles, kept as SHA-256 digests of their secrets.

Mirrors ``ApiTokenRow`` of ``oms.store.tables``; ``tests/store/test_migrations.py``
fails if the two drift apart.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import string, timestamp

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        string("token_id", 32),
        string("secret_sha256", 64),
        string("role", 32),
        string("subject", 100),
        string("customer_id", 64, nullable=True),
        string("company_id", 64, nullable=True),
        timestamp("created_at"),
        timestamp("revoked_at", nullable=True),
        sa.CheckConstraint(
            "role IN ('buyer', 'sales', 'sales_manager', 'sales_director', 'finance', 'cfo', "
            "'support', 'warehouse', 'ops', 'admin')",
            name="ck_api_tokens_role",
        ),
        sa.PrimaryKeyConstraint("token_id"),
        sa.UniqueConstraint("secret_sha256"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
