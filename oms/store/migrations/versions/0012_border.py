"""Cross-border shipping and B2B invoices: products' customs master data (HS code, country
of origin), the customs declaration a label was bought with, companies' payment terms,
invoices and credit notes, and companies' payments.

Mirrors ``ProductRow.hs_code``/``origin_country``, ``LabelRow.customs``,
``CompanyRow.payment_terms``, ``InvoiceRow`` and ``CompanyPaymentRow`` of
``oms.store.tables``.

Revision ID: 0012_border
Revises: 0010
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import bigint, drop_table, money, string, timestamp

revision = "0012_border"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("hs_code", sa.String(10), nullable=True))
        batch.add_column(sa.Column("origin_country", sa.String(2), nullable=True))
    with op.batch_alter_table("labels") as batch:
        batch.add_column(sa.Column("customs", sa.Text(), nullable=True))
    with op.batch_alter_table("companies") as batch:
        batch.add_column(
            sa.Column("payment_terms", sa.String(8), nullable=False, server_default="net30")
        )
    op.create_table(
        "invoices",
        bigint("id", primary_key=True, autoincrement=True),
        string("key", 300, unique=True),
        string("number", 32, nullable=True, unique=True),
        string("kind", 16),
        string("order_id", 64),
        string("shipment_id", 80, nullable=True),
        string("company_id", 64, sa.ForeignKey("companies.company_id")),
        string("currency", 3),
        sa.Column("lines", sa.JSON(), nullable=False),
        money("net"),
        money("tax"),
        money("total"),
        timestamp("issued_at"),
        timestamp("due_at", nullable=True),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="ck_invoices_kind"),
        sa.CheckConstraint("total >= 0", name="ck_invoices_total"),
    )
    op.create_index("ix_invoices_order_id", "invoices", ["order_id"])
    op.create_index("ix_invoices_company_id", "invoices", ["company_id"])
    op.create_table(
        "company_payments",
        string("company_id", 64, sa.ForeignKey("companies.company_id"), primary_key=True),
        string("reference", 100, primary_key=True),
        money("amount"),
        string("currency", 3),
        string("recorded_by", 100),
        timestamp("received_at"),
        sa.CheckConstraint("amount > 0", name="ck_company_payments_amount"),
    )


def downgrade() -> None:
    op.drop_table("company_payments")
    drop_table("invoices", "ix_invoices_company_id", "ix_invoices_order_id")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("payment_terms")
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("customs")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("origin_country")
        batch.drop_column("hs_code")
