"""``/ops/stuck`` says why an item waits for a person, from the read model
(``_waiting_reasons``).

- A held shipment is advised by what holds it: a refused address is fixed with the
  customer, missing customs data in the catalogue (both then cancel and place again).
  Before, every held shipment was told "The carrier refused the address: contact the
  customer", also one held because a product had lost its HS code and origin.
- A return waiting in ``refund_failed`` shows the provider's answer its view keeps as
  ``refund_error``. Before, it showed ``last_error: null`` while its view said
  "RefundDeclined: ... exceeds the 97.00 left ...".
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from oms.domain.ops import Evidence, suggest
from oms.models.common import Customer, HistoryEntry
from oms.models.ops import StuckItem
from oms.models.returns import ReturnLine, ReturnStatus, ReturnView
from oms.models.shipments import ShipmentStatus
from oms.store import orders as order_store
from oms.store import returns as return_store
from oms.store.db import Database
from starters.api.ops import _waiting_reasons

from inventory_fixtures import shipment_view

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DECLINED = "RefundDeclined: refund of 249.00 exceeds the 97.00 left on the capture"
HOLDS = {
    "customs": "Customs data missing: CustomsDataMissing: no HS code or origin for CAP-NVY",
    "address": "Carrier refused the address: InvalidAddress: postal code unknown",
    "unserved": "Carrier refused the address: InvalidAddress: country JP is not served",
}


def _waiting_item(kind: str, business_id: str, status: str, stage: str) -> StuckItem:
    """A stuck item as the finder lists one that needs a person, before its reasons."""
    evidence = Evidence(kind, stage, "operations", False, None, None)
    workflow_id = f"{kind}-{business_id}"
    return StuckItem(
        kind=kind,
        workflow_id=workflow_id,
        business_id=business_id,
        status=status,
        stage=stage,
        waiting_for="operations",
        reason="needs_a_person",
        suggested_action=suggest("needs_a_person", evidence, workflow_id, business_id),
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
        item = _waiting_item("shipment", "B-7-S1", "held", "shipment_held")
        _waiting_reasons(SimpleNamespace(db=db), [item])  # type: ignore[arg-type]
    finally:
        db.dispose()
    assert item.last_error == HOLDS[hold]
    advice = item.suggested_action
    assert "POST /ops/orders/B-7/cancel" in advice
    if hold == "unserved":
        # Before, it said to correct the address in the same country: none there ships.
        assert advice.startswith("Carrier refused the address: the carrier does not serve")
        assert "/shipments/B-7-S1/address" not in advice and "place it again" not in advice
        return
    assert "place it again" in advice
    if hold == "customs":
        assert advice.startswith("Customs data missing: add the HS code and country of origin")
        assert "PUT /products/{sku}" in advice and "address" not in advice
    else:
        assert advice.startswith("Carrier refused the address: get the right address")
        assert "POST /shipments/B-7-S1/address" in advice
        assert "HS code" not in advice and "customs" not in advice.lower()


def test_a_return_whose_refund_was_declined_shows_the_providers_answer(
    migrated_sqlite_url: str,
) -> None:
    db = Database(migrated_sqlite_url)
    try:
        view = ReturnView(
            rma_id="RMA-7",
            order_id="B-7",
            status=ReturnStatus.REFUND_FAILED,
            resolution="refund",
            customer=Customer(id="C-1", name="Anna", email="anna@example.com"),
            currency="SEK",
            lines=[ReturnLine(sku="TSHIRT", quantity=1, reason="wrong_size")],
            refund_error=DECLINED,
            requested_at=AT,
            updated_at=AT,
            version=1,
        )
        with db.session() as session:
            return_store.record_return(session, view)
        failed = _waiting_item("return", "RMA-7", "refund_failed", "refund_failed")
        unknown = _waiting_item("return", "RMA-8", "refund_failed", "refund_failed")
        _waiting_reasons(SimpleNamespace(db=db), [failed, unknown])  # type: ignore[arg-type]
    finally:
        db.dispose()
    assert failed.last_error == DECLINED
    assert unknown.last_error is None  # not in the read model (yet): nothing to say
    assert "retry-refund" in failed.suggested_action
