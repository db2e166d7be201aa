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

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_border"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("number", sa.String(32), nullable=True, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(80), nullable=True),
        sa.Column(
            "company_id", sa.String(64), sa.ForeignKey("companies.company_id"), nullable=False
        ),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("net", sa.Numeric(14, 2), nullable=False),
        sa.Column("tax", sa.Numeric(14, 2), nullable=False),
        sa.Column("total", sa.Numeric(14, 2), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="ck_invoices_kind"),
        sa.CheckConstraint("total >= 0", name="ck_invoices_total"),
    )
    op.create_index("ix_invoices_order_id", "invoices", ["order_id"])
    op.create_index("ix_invoices_company_id", "invoices", ["company_id"])
    op.create_table(
        "company_payments",
        sa.Column(
            "company_id",
            sa.String(64),
            sa.ForeignKey("companies.company_id"),
            primary_key=True,
        ),
        sa.Column("reference", sa.String(100), primary_key=True),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_company_payments_amount"),
    )


def downgrade() -> None:
    op.drop_table("company_payments")
    op.drop_index("ix_invoices_company_id", table_name="invoices")
    op.drop_index("ix_invoices_order_id", table_name="invoices")
    op.drop_table("invoices")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("payment_terms")
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("customs")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("origin_country")
        batch.drop_column("hs_code")
