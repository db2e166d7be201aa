"""``/ops/stuck`` advises a held shipment by what holds it: a refused address is fixed with
the customer, missing customs data in the catalogue (both then cancel and place again).

The hole: every held shipment was told "The carrier refused the address: contact the
customer", also one held because a product had lost its HS code and origin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from oms.domain.ops import Evidence, suggest
from oms.models.common import HistoryEntry
from oms.models.ops import StuckItem
from oms.models.shipments import ShipmentStatus
from oms.store import orders as order_store
from oms.store.db import Database
from starters.api.ops import _waiting_reasons

from inventory_fixtures import shipment_view

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOLDS = {
    "customs": "Customs data missing: CustomsDataMissing: no HS code or origin for CAP-NVY",
    "address": "Carrier refused the address: InvalidAddress: postal code unknown",
}


def _held_item(shipment_id: str) -> StuckItem:
    evidence = Evidence("shipment", "shipment_held", "operations", False, None, None)
    workflow_id = f"shipment-{shipment_id}"
    return StuckItem(
        kind="shipment",
        workflow_id=workflow_id,
        business_id=shipment_id,
        status="held",
        stage="shipment_held",
        waiting_for="operations",
        reason="needs_a_person",
        suggested_action=suggest("needs_a_person", evidence, workflow_id, shipment_id),
        ui_url="",
    )


@pytest.mark.parametrize("hold", sorted(HOLDS))
def test_a_held_shipment_is_advised_by_what_holds_it(migrated_sqlite_url: str, hold: str) -> None:
    db = Database(migrated_sqlite_url)
    try:
        view = shipment_view("B-7-S1", order_id="B-7", status=ShipmentStatus.HELD)
        view.history = [
            HistoryEntry(at=AT, status="picking", note="Picked by Lisa"),
            HistoryEntry(at=AT, status="held", note=HOLDS[hold]),
        ]
        with db.session() as session:
            order_store.record_shipment(session, view)
        item = _held_item("B-7-S1")
        _waiting_reasons(SimpleNamespace(db=db), [item])  # type: ignore[arg-type]
    finally:
        db.dispose()
    assert item.last_error == HOLDS[hold]
    advice = item.suggested_action
    assert "POST /ops/orders/B-7/cancel" in advice and "place it again" in advice
    if hold == "customs":
        assert advice.startswith("Customs data missing: add the HS code and country of origin")
        assert "PUT /products/{sku}" in advice and "address" not in advice
    else:
        assert advice.startswith("Carrier refused the address: get the right address")
        assert "HS code" not in advice and "customs" not in advice.lower()
