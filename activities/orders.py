"""Read-model activities: the order and shipment workflows publish their views here.

Writes are versioned: an older view never overwrites a newer one, so a retried
or late activity is harmless (``written=False``). Database errors propagate so
Temporal retries them. Synchronous: run them on the worker's thread pool.
"""

from __future__ import annotations

from temporalio import activity

from oms.models.orders import OrderView, ReadModelWrite, RecordResult
from oms.models.shipments import ShipmentView
from oms.store import orders
from oms.store.db import Database


class ReadModelActivities:
    """Activities that write the API's read model, built with the process's ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="orders.record_order")
    def record_order(self, view: OrderView) -> RecordResult:
        """Store the order's view unless a newer version is already stored."""
        with self._db.session() as session:
            return RecordResult(written=orders.record_order(session, view))

    @activity.defn(name="orders.record_shipment")
    def record_shipment(self, view: ShipmentView) -> RecordResult:
        """Store the shipment's view unless a newer version is already stored."""
        with self._db.session() as session:
            return RecordResult(written=orders.record_shipment(session, view))

    @activity.defn(name="orders.record_views")
    def record_views(self, write: ReadModelWrite) -> RecordResult:
        """Store the order's view and its new shipments' placeholders in one transaction.

        A placeholder has version 0: it is stored only where the shipment has no row yet,
        so it never overwrites what the shipment wrote itself.
        """
        with self._db.session() as session:
            written = orders.record_order(session, write.order)
            for shipment in write.shipments:
                orders.record_shipment(session, shipment)
            return RecordResult(written=written)
