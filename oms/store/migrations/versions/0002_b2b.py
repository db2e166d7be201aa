"""B2B: companies with credit limits, the credit ledger, and the quotes read model.

Mirrors the B2B tables of ``oms.store.tables``; ``tests/store/test_migrations.py``
fails if the two drift apart.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("credit_limit", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("over_limit", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("shipment_id", sa.String(length=80), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("available_before", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name="ck_credit_ledger_amount"),
        sa.CheckConstraint(
            "kind IN ('reserve', 'consume', 'release')", name="ck_credit_ledger_kind"
        ),
        sa.ForeignKeyConstraint(["company_id"], ["companies.company_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_credit_ledger_company_id", "credit_ledger", ["company_id"])
    op.create_index("ix_credit_ledger_order_kind", "credit_ledger", ["order_id", "kind"])
    op.create_table(
        "quotes",
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("quote_id"),
    )
    op.create_index("ix_quotes_company_id", "quotes", ["company_id"])
    op.create_index("ix_quotes_customer_id", "quotes", ["customer_id"])
    op.create_index("ix_quotes_status_updated", "quotes", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_quotes_status_updated", table_name="quotes")
    op.drop_index("ix_quotes_customer_id", table_name="quotes")
    op.drop_index("ix_quotes_company_id", table_name="quotes")
    op.drop_table("quotes")
    op.drop_index("ix_credit_ledger_order_kind", table_name="credit_ledger")
    op.drop_index("ix_credit_ledger_company_id", table_name="credit_ledger")
    op.drop_table("credit_ledger")
    op.drop_table("companies")
