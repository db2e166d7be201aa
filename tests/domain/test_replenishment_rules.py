"""Pure replenishment rules: the reorder point, quantities, ids, timers and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oms.domain.replenishment import (
    below_reorder_point,
    confirmation_timers,
    order_quantity,
    purchase_order_csv,
    purchase_order_id,
    replenishment_workflow_id,
    workflow_id_for,
)
from oms.models.replenishment import PurchaseOrder, PurchaseOrderLine, Supplier


def test_available_at_the_point_is_low_and_one_above_is_not() -> None:
    assert below_reorder_point(on_hand=10, reserved=5, reorder_point=5)
    assert below_reorder_point(on_hand=10, reserved=10, reorder_point=0)
    assert not below_reorder_point(on_hand=10, reserved=4, reorder_point=5)
    assert not below_reorder_point(on_hand=1, reserved=0, reorder_point=0)


def test_the_order_covers_backordered_units_on_top_of_the_reorder_quantity() -> None:
    assert order_quantity(reorder_qty=10, backordered=0) == 10
    assert order_quantity(reorder_qty=10, backordered=3) == 13
    assert order_quantity(reorder_qty=10, backordered=-2) == 10


def test_workflow_and_purchase_order_ids_map_to_each_other() -> None:
    wid = replenishment_workflow_id("WH-STO", "JACKET-WOOL-M", 2)
    po = purchase_order_id("WH-STO", "JACKET-WOOL-M", 2)
    assert wid == "replenish-WH-STO-JACKET-WOOL-M-2"
    assert po == "PO-WH-STO-JACKET-WOOL-M-2"
    assert workflow_id_for(po) == wid
    assert workflow_id_for(wid) == wid


def test_reminder_comes_before_the_escalation_at_the_lead_time() -> None:
    sent = datetime(2026, 11, 30, 8, tzinfo=UTC)
    remind, escalate = confirmation_timers(sent, reminder_s=24 * 3600, lead_time_days=10)
    assert (remind, escalate) == (sent + timedelta(days=1), sent + timedelta(days=10))


def test_reminder_is_at_most_half_way_and_a_zero_lead_time_still_gives_a_day() -> None:
    sent = datetime(2026, 11, 30, 8, tzinfo=UTC)
    remind, escalate = confirmation_timers(sent, reminder_s=5 * 24 * 3600, lead_time_days=2)
    assert (remind, escalate) == (sent + timedelta(days=1), sent + timedelta(days=2))
    remind, escalate = confirmation_timers(sent, reminder_s=3600, lead_time_days=0)
    assert (remind, escalate) == (sent + timedelta(hours=1), sent + timedelta(days=1))


def test_purchase_order_csv_has_a_header_and_one_row_per_line() -> None:
    po = PurchaseOrder(
        po_id="PO-WH-STO-JACKET-WOOL-M-1",
        warehouse_id="WH-STO",
        supplier=Supplier(
            supplier_id="WOOLWORKS", name="Woolworks", email="po@w.example", lead_time_days=10
        ),
        lines=[
            PurchaseOrderLine(
                sku="JACKET-WOOL-M",
                name="Wool jacket, M",
                quantity=12,
                unit_cost=Decimal("820.00"),
            )
        ],
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
        available=0,
        reorder_point=0,
    )
    rows = list(csv.DictReader(io.StringIO(purchase_order_csv(po))))
    assert rows == [
        {
            "po_id": "PO-WH-STO-JACKET-WOOL-M-1",
            "supplier_id": "WOOLWORKS",
            "ship_to_warehouse": "WH-STO",
            "sku": "JACKET-WOOL-M",
            "description": "Wool jacket, M",
            "quantity": "12",
            "unit_cost": "820.00",
            "currency": "SEK",
        }
    ]
