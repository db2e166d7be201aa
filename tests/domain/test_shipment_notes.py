"""What a shipment writes that is pure rendering: the "shipped" email's context (what the
parcel carries now, its carrier and what it was charged) and the history lines of a claim
and of a carrier's scan."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.models.common import Address, Customer
from oms.models.order_changes import ClaimShipment
from oms.models.shipments import ShipmentInput, ShipmentLine, TrackingEvent
from oms.views.shipments import carrier_note, claim_note, placeholder, shipped_context

ADDRESS = Address(
    name="Anna Lindqvist",
    line1="Drottninggatan 53",
    postal_code="111 21",
    city="Stockholm",
    country="SE",
)


def shipment() -> ShipmentInput:
    return ShipmentInput(
        shipment_id="O-1-S1",
        order_id="O-1",
        warehouse_id="WH-STO",
        ship_from=ADDRESS,
        ship_to=ADDRESS,
        lines=[
            ShipmentLine(sku="TSHIRT", quantity=3, unit_price=Decimal("199.00")),
            ShipmentLine(sku="CAP-NVY", quantity=1, unit_price=Decimal("99.00")),
        ],
        currency="SEK",
        customer=Customer(id="C-1", name="Anna Lindqvist", email="anna@example.com"),
        authorization_id="auth-1",
    )


def test_the_shipped_email_shows_what_the_parcel_carries_now_and_its_charge() -> None:
    inp = shipment()
    view = placeholder(inp, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    view.lines = [ShipmentLine(sku="TSHIRT", quantity=2, unit_price=Decimal("199.00"))]
    view.carrier, view.service, view.tracking_number = "sandbox", "economy", "SBX123"

    context = shipped_context(inp, view, Decimal("398.00"))

    assert context["lines"] == [{"sku": "TSHIRT", "quantity": 2}]  # a short pick cut it
    assert (context["carrier"], context["service"], context["tracking_number"]) == (
        "sandbox",
        "economy",
        "SBX123",
    )
    assert "398" in context["amount"] and "SEK" in context["amount"]
    assert context["shipment_id"] == "O-1-S1" and context["order_id"] == "O-1"


def test_claim_and_scan_notes_name_what_happened_and_why_when_told() -> None:
    assert claim_note(ClaimShipment(kind="lost", by="support")) == "Claimed lost by support"
    damaged = ClaimShipment(kind="damaged", by="support", reason="box crushed")
    assert claim_note(damaged) == "Claimed damaged by support: box crushed"
    scan = TrackingEvent(tracking_number="SBX123", status="in_transit")
    assert carrier_note(scan) == "Carrier: in_transit"
    late = TrackingEvent(tracking_number="SBX123", status="exception", description="weather")
    assert carrier_note(late) == "Carrier: exception (weather)"
