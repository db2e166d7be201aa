"""Carrier scans that came after their shipment's workflow had ended (table ``late_scans``).

A scan for a parcel claimed lost, delivered or cancelled can no longer reach its workflow;
``POST /carrier/events`` keeps it here, once per the carrier's event id (the primary key:
a carrier's retry of the same event, even days later, finds the row it wrote), and
``GET /orders/{id}`` and ``GET /shipments/{id}`` show it (:func:`show_on`). The workflows
never read it: the ended shipment stays as it ended, and the order's own writes cannot
overwrite what is shown.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from oms.models.common import HistoryEntry
from oms.models.orders import OrderView
from oms.models.shipments import LateScan, ShipmentView
from oms.store.db import dialect_insert
from oms.store.tables import LateScanRow
from oms.views.shipments import late_scan_note


def record(session: Session, scan: LateScan, order_id: str) -> tuple[LateScan, bool]:
    """Keep ``scan`` of a shipment of ``order_id`` unless its event id is kept already:
    the scan as stored (the first one for a retry) and whether it is new.

    Only the first scan of a shipment that alerts operations is kept ``alerted``: the alert
    is one email per shipment, so a second delivery scan (another event id) is kept without
    claiming an alert it did not send."""
    if scan.alerted and session.scalar(
        select(LateScanRow.event_id).where(
            LateScanRow.shipment_id == scan.shipment_id,
            LateScanRow.alerted.is_(True),
            LateScanRow.event_id != scan.event_id,
        )
    ):
        scan = scan.model_copy(update={"alerted": False})
    statement = (
        dialect_insert(session)(LateScanRow)
        .values(**scan.model_dump(), order_id=order_id)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(LateScanRow.event_id)
    )
    new = session.scalar(statement) is not None
    row = session.get(LateScanRow, scan.event_id, populate_existing=True)
    assert row is not None  # just inserted, or there before
    return _scan(row), new


def for_shipment(session: Session, shipment_id: str) -> list[LateScan]:
    """The shipment's late scans, in the order they came."""
    return _in_order(session, LateScanRow.shipment_id == shipment_id)


def for_order(session: Session, order_id: str) -> list[LateScan]:
    """The late scans of all the order's parcels, in the order they came."""
    return _in_order(session, LateScanRow.order_id == order_id)


def _in_order(session: Session, where: ColumnElement[bool]) -> list[LateScan]:
    query = select(LateScanRow).where(where)
    rows = session.scalars(query.order_by(LateScanRow.received_at, LateScanRow.event_id))
    return [_scan(row) for row in rows]


def show_on(view: OrderView | ShipmentView, scans: list[LateScan]) -> None:
    """Put ``scans`` on the order's or shipment's view, with a history line for each."""
    view.late_events = scans
    lines = [
        HistoryEntry(
            at=scan.received_at,
            status=str(view.status),
            note=late_scan_note(scan),
            by="carrier",
            action="late_scan",
        )
        for scan in scans
    ]
    if lines:
        view.history = sorted([*view.history, *lines], key=lambda h: h.at)


def _scan(row: LateScanRow) -> LateScan:
    return LateScan.model_validate(row, from_attributes=True)
