"""Backorders owed at no charge (``free``): the units a claim's reship could not send at once.
When stock fills them they ship in parcels of their own that capture nothing; every backorder
made before is a paid one (false), as it was.

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


def downgrade() -> None:
    with op.batch_alter_table("backorders") as batch:
        batch.drop_column("free")
