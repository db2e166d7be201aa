"""Who placed an order (``orders.origin``): ``customer``, or the OMS on the customer's behalf
(``replacement``: a return's exchange order; ``renewal``: a subscription's). The risk rules
count only the customer's own orders.

Existing rows are filled from what the OMS gave the orders it placed: the ``exchange``
channel with an ``RMA-...-X`` id, the ``subscription`` channel with a ``SUB-...`` id (a
caller's order could have both only before ``POST /orders`` refused those ids); every other
row is the customer's. A running order's next write sets its own.

Mirrors ``OrderRow.origin`` of ``oms.store.tables``.

Revision ID: 0015_order_origin
Revises: 0014_backorder_warehouses
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_order_origin"
down_revision = "0014_backorder_warehouses"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(16), nullable=False, server_default="customer")
        )
    orders = sa.table(
        "orders",
        sa.column("order_id", sa.String),
        sa.column("channel", sa.String),
        sa.column("origin", sa.String),
    )
    for origin, channel, pattern in (
        ("replacement", "exchange", "RMA-%-X"),
        ("renewal", "subscription", "SUB-%"),
    ):
        op.execute(
            orders.update()
            .where(orders.c.channel == channel, orders.c.order_id.like(pattern))
            .values(origin=origin)
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("origin")
