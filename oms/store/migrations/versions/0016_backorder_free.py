"""Backorders owed at no charge (``free``): the units a claim's reship could not send at once.
When stock fills them they ship in parcels of their own that capture nothing.

Existing rows are filled from their allocation key: a reship allocates under
``<order>:claim:<n>`` (an order id has no ``:``, and no other allocation or backorder key
holds ``:claim:``), so an order already waiting for a reship's units ships them free once
they fill, instead of capturing them a second time. Every other row is a paid one.

Mirrors ``BackorderRow.free`` of ``oms.store.tables``.

Revision ID: 0016_backorder_free
Revises: 0015_order_origin
Create Date: 2026-12-07 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_backorder_free"
down_revision = "0015_order_origin"


def upgrade() -> None:
    with op.batch_alter_table("backorders") as batch:
        batch.add_column(sa.Column("free", sa.Boolean(), nullable=False, server_default=sa.false()))
    backorders = sa.table(
        "backorders", sa.column("allocation_key", sa.String), sa.column("free", sa.Boolean)
    )
    op.execute(
        backorders.update()
        .where(backorders.c.allocation_key.like("%:claim:%"))
        .values(free=sa.true())
    )


def downgrade() -> None:
    with op.batch_alter_table("backorders") as batch:
        batch.drop_column("free")
