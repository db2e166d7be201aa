"""Pure rules of replenishment: when a SKU is low, how much to order, names and timings."""

from __future__ import annotations

from datetime import datetime, timedelta

from oms.domain.spreadsheet import write_rows
from oms.models.replenishment import PurchaseOrder

WORKFLOW_PREFIX = "replenish-"
PO_PREFIX = "PO-"


def below_reorder_point(on_hand: int, reserved: int, reorder_point: int) -> bool:
    """True when the units still free to sell (on hand - reserved) are at or below the point."""
    return on_hand - reserved <= reorder_point


def order_quantity(reorder_qty: int, backordered: int) -> int:
    """Units to order: the policy's quantity plus what customers already wait for.

    Backordered units are owed before anything goes back on the shelf, so
    ordering only ``reorder_qty`` would leave the SKU below its point again.
    """
    return reorder_qty + max(backordered, 0)


def replenishment_workflow_id(warehouse_id: str, sku: str, n: int) -> str:
    return f"{WORKFLOW_PREFIX}{warehouse_id}-{sku}-{n}"


def purchase_order_id(warehouse_id: str, sku: str, n: int) -> str:
    """The purchase order's id: the workflow's with ``PO-`` in front, so either finds the other."""
    return f"{PO_PREFIX}{warehouse_id}-{sku}-{n}"


def workflow_id_for(reference: str) -> str:
    """The workflow id for a workflow id or a purchase order id."""
    if reference.startswith(PO_PREFIX):
        return WORKFLOW_PREFIX + reference[len(PO_PREFIX) :]
    return reference


def confirmation_timers(
    sent_at: datetime, reminder_s: int, lead_time_days: int
) -> tuple[datetime, datetime]:
    """When to remind the supplier and when to escalate to purchasing, for an unconfirmed order.

    The escalation is due when the lead time has passed (at least a day, so a
    zero lead time still gives the supplier a working day); the reminder at
    ``reminder_s`` after sending, but never later than half-way to it.
    """
    escalate_at = sent_at + max(timedelta(days=lead_time_days), timedelta(days=1))
    remind_at = min(sent_at + timedelta(seconds=reminder_s), sent_at + (escalate_at - sent_at) / 2)
    return remind_at, escalate_at


def purchase_order_csv(po: PurchaseOrder) -> str:
    """The purchase order as CSV (one row per line), the attachment a supplier imports.

    Product names are staff text: cells a spreadsheet would run as formulas are escaped.
    """
    header = [
        "po_id",
        "supplier_id",
        "ship_to_warehouse",
        "sku",
        "description",
        "quantity",
        "unit_cost",
        "currency",
    ]
    rows = [
        [
            po.po_id,
            po.supplier.supplier_id,
            po.warehouse_id,
            line.sku,
            line.name,
            line.quantity,
            f"{line.unit_cost:.2f}",
            po.currency,
        ]
        for line in po.lines
    ]
    return write_rows([header, *rows])
