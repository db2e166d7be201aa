"""Labels by tracking number: the carrier webhook finds a shipment by its label when the
read model has not caught up with the label yet.

Mirrors ``LabelRow.tracking_number`` (``index=True``) of ``oms.store.tables``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_index("ix_labels_tracking_number", "labels", ["tracking_number"])


def downgrade() -> None:
    op.drop_index("ix_labels_tracking_number", table_name="labels")
