"""A re-route's choice of warehouses on the backorders it makes: the warehouses that may not
fill one (``exclude_warehouses``) or the only ones that may (``only_warehouses``); NULL, as
for every backorder made before, lets any warehouse fill it.

Mirrors ``BackorderRow.exclude_warehouses``/``only_warehouses`` of ``oms.store.tables``.

Revision ID: 0014_backorder_warehouses
Revises: 0013_money16
Create Date: 2026-12-07 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_backorder_warehouses"
down_revision = "0013_money16"


def upgrade() -> None:
    with op.batch_alter_table("backorders") as batch:
        batch.add_column(sa.Column("exclude_warehouses", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("only_warehouses", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backorders") as batch:
        batch.drop_column("only_warehouses")
        batch.drop_column("exclude_warehouses")
