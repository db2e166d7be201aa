"""Money: list prices per currency (filled from each product's own price), products'
VAT tax class and the VAT in each order's total (0 for the orders placed before).

Mirrors ``PriceRow``, ``ProductRow.tax_class`` and ``OrderRow.tax`` of ``oms.store.tables``.
The demo prices in other currencies come from the demo catalogue
(``devtools.demo.catalogue``), never from here.

Revision ID: 0012_money
Revises: 0012_sec_caller_refusals
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import money, string, timestamp

revision = "0012_money"
down_revision = "0012_sec_caller_refusals"


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("tax_class", sa.String(16), nullable=False, server_default="standard")
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("tax", sa.Numeric(14, 2), nullable=False, server_default="0"))
    op.create_table(
        "prices",
        string("currency", 3, primary_key=True),
        string("sku", 64, sa.ForeignKey("products.sku"), primary_key=True),
        money("unit_price"),
        string("updated_by", 100),
        timestamp("updated_at"),
    )
    # Each existing product's price is its list price in its own currency.
    products = sa.table(
        "products",
        sa.column("sku", sa.String),
        sa.column("unit_price", sa.Numeric),
        sa.column("currency", sa.String),
    )
    prices = sa.table(
        "prices",
        sa.column("currency", sa.String),
        sa.column("sku", sa.String),
        sa.column("unit_price", sa.Numeric),
        sa.column("updated_by", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = [
        {
            "currency": currency,
            "sku": sku,
            "unit_price": price,
            "updated_by": "migration",
            "updated_at": now,
        }
        for sku, price, currency in conn.execute(
            sa.select(products.c.sku, products.c.unit_price, products.c.currency)
        )
    ]
    if rows:
        conn.execute(prices.insert(), rows)


def downgrade() -> None:
    op.drop_table("prices")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tax")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("tax_class")
