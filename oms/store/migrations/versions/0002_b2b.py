"""B2B: companies with credit limits, the credit ledger, and the quotes read model.

Mirrors the B2B tables of ``oms.store.tables``; ``tests/store/test_migrations.py``
fails if the two drift apart.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import bigint, drop_table, money, read_model, string, timestamp

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "companies",
        string("company_id", 64),
        string("name", 200),
        string("tier", 16),
        money("credit_limit"),
        string("currency", 3),
        string("over_limit", 8),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "credit_ledger",
        bigint("id"),
        string("key", 200),
        string("company_id", 64),
        string("order_id", 64),
        string("shipment_id", 80, nullable=True),
        string("kind", 16),
        money("amount"),
        money("available_before", nullable=True),
        timestamp("created_at"),
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
        string("quote_id", 64),
        string("status", 32),
        string("customer_id", 64),
        string("company_id", 64),
        *read_model(),
        sa.PrimaryKeyConstraint("quote_id"),
    )
    op.create_index("ix_quotes_company_id", "quotes", ["company_id"])
    op.create_index("ix_quotes_customer_id", "quotes", ["customer_id"])
    op.create_index("ix_quotes_status_updated", "quotes", ["status", "updated_at"])


def downgrade() -> None:
    drop_table(
        "quotes", "ix_quotes_status_updated", "ix_quotes_customer_id", "ix_quotes_company_id"
    )
    drop_table("credit_ledger", "ix_credit_ledger_order_kind", "ix_credit_ledger_company_id")
    op.drop_table("companies")
