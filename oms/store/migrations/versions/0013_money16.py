"""Refunds' tax and credit notes' credit: the VAT per rate of a refund without a return
(``order_refunds.tax``), and what a credit note gives back in the company's credit currency
(``invoices.credit``; NULL: its total, a note of an order in that currency).

Mirrors ``OrderRefundRow.tax`` and ``InvoiceRow.credit`` of ``oms.store.tables``.

Revision ID: 0013_money16
Revises: 0012_money
Create Date: 2026-12-06 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import money

revision = "0013_money16"
down_revision = "0012_money"


def upgrade() -> None:
    with op.batch_alter_table("order_refunds") as batch:
        batch.add_column(sa.Column("tax", sa.JSON(), nullable=True))
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(money("credit", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("credit")
    with op.batch_alter_table("order_refunds") as batch:
        batch.drop_column("tax")
