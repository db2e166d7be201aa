"""Carrier scans that came after their shipment's workflow had ended (a parcel claimed lost
that turned up delivered, a carrier's resend after delivery), once per the carrier's event
id, shown on the shipment and its order.

Mirrors ``LateScanRow`` of ``oms.store.tables``.

Revision ID: 0017_late_scans
Revises: 0016_backorder_free
Create Date: 2026-12-07 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms.store.migrations.columns import drop_table, string, timestamp

revision = "0017_late_scans"
down_revision = "0016_backorder_free"


def upgrade() -> None:
    op.create_table(
        "late_scans",
        string("event_id", 200, primary_key=True),
        string("shipment_id", 80),
        string("order_id", 64),
        string("tracking_number", 64),
        string("status", 32),
        timestamp("at", nullable=True),
        string("description", 500),
        string("shipment_status", 32),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        timestamp("received_at"),
    )
    op.create_index("ix_late_scans_shipment_id", "late_scans", ["shipment_id"])
    op.create_index("ix_late_scans_order_id", "late_scans", ["order_id"])


def downgrade() -> None:
    drop_table("late_scans", "ix_late_scans_shipment_id", "ix_late_scans_order_id")
