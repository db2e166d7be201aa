"""Bought carrier labels (table ``labels``), one per idempotency key.

The carrier activities record a label here before they report it, so a retry
after a lost answer finds it instead of buying a second one.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.models.carrier import Label
from oms.models.customs import CustomsDeclaration
from oms.store.db import Bound
from oms.store.tables import LabelRow


class LabelStore(Bound):
    """The labels of one database; every method is one transaction."""

    def find(self, key: str) -> Label | None:
        """The label recorded under ``key``, if any."""
        with self.db.session() as session:
            row = session.get(LabelRow, key)
            return None if row is None else Label.model_validate(row, from_attributes=True)

    def owner_of(self, key: str) -> str | None:
        """The shipment or RMA the label under ``key`` was bought for, if any."""
        with self.db.session() as session:
            row = session.get(LabelRow, key)
            return None if row is None else row.shipment_id

    def record(
        self, key: str, owner_id: str, label: Label, customs: CustomsDeclaration | None = None
    ) -> Label:
        """Record ``label`` under ``key`` for a shipment or RMA, with the customs declaration
        it was bought with; returns the label stored under the key (a concurrent attempt's,
        when it recorded first)."""
        try:
            with self.db.session() as session:
                session.add(
                    LabelRow(
                        idempotency_key=key,
                        shipment_id=owner_id,
                        **label.model_dump(),
                        customs=None if customs is None else customs.model_dump_json(),
                    )
                )
        except IntegrityError:
            # A concurrent attempt recorded the key first: its row is the answer.
            stored = self.find(key)
            if stored is None:
                raise
            return stored
        return label

    def mark_voided(self, label_id: str) -> None:
        """Mark the label voided (the carrier has confirmed the void)."""
        with self.db.session() as session:
            session.execute(
                update(LabelRow).where(LabelRow.label_id == label_id).values(voided=True)
            )


def customs_of(session: Session, shipment_id: str) -> CustomsDeclaration | None:
    """The customs declaration of the shipment's live label; None for a parcel that stays
    inside its customs area (or has no label yet)."""
    text = session.scalar(
        select(LabelRow.customs)
        .where(LabelRow.shipment_id == shipment_id, LabelRow.voided.is_(False))
        .where(LabelRow.customs.is_not(None))
        .order_by(LabelRow.created_at.desc())
        .limit(1)
    )
    return None if text is None else CustomsDeclaration.model_validate_json(text)
