"""Writes the demo's generated order history into the read model, once.

The orders (``devtools.demo.history_generator``) go straight into the orders,
shipments and returns tables: they are history, not work, so no workflow runs
for them and no stock or backorder moves. Every generated id starts with ``H-``
(returns ``RMA-H-``); once any ``H-`` order exists a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from devtools.demo.history_generator import PREFIX, SEED, GeneratedHistory, generate_history
from oms.store.orders import order_skus, order_values, shipment_values
from oms.store.returns import return_line_values, return_values
from oms.store.tables import OrderRow, OrderSkuRow, ReturnLineRow, ReturnRow, ShipmentRow


@dataclass
class SeededHistory:
    """What ``seed_history`` did: rows written, or ``skipped`` when history was already there."""

    orders: int
    shipments: int
    returns: int
    skipped: bool


def seed_history(
    session: Session, end: date, now: datetime, days: int = 90, seed: int = SEED
) -> SeededHistory:
    """Write the generated history into the read model, unless ``H-`` orders are already there."""
    if session.scalar(
        select(OrderRow.order_id).where(OrderRow.order_id.like(f"{PREFIX}%")).limit(1)
    ):
        return SeededHistory(orders=0, shipments=0, returns=0, skipped=True)
    generated = generate_history(end, now, days, seed)
    write_generated(session, generated)
    return SeededHistory(
        orders=len(generated.orders),
        shipments=len(generated.shipments),
        returns=len(generated.returns),
        skipped=False,
    )


def write_generated(session: Session, generated: GeneratedHistory) -> None:
    """Insert ``generated`` with one multi-row insert per table, search rows included.

    Thousands of rows in seconds. Only for ids nothing else writes (``H-``): the read
    model's one-by-one versioned upsert has nothing to guard here. Raises
    ``IntegrityError`` for an id already stored.
    """
    if generated.orders:
        session.execute(insert(OrderRow), [order_values(v) for v in generated.orders])
        session.execute(
            insert(OrderSkuRow),
            [
                {"order_id": v.order_id, "sku": sku}
                for v in generated.orders
                for sku in order_skus(v)
            ],
        )
    if generated.shipments:
        session.execute(insert(ShipmentRow), [shipment_values(v) for v in generated.shipments])
    if generated.returns:
        session.execute(insert(ReturnRow), [return_values(v) for v in generated.returns])
        session.execute(
            insert(ReturnLineRow),
            [values for v in generated.returns for values in return_line_values(v)],
        )
