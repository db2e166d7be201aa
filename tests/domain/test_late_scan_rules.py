"""Which carrier scans after a shipment ended need a person, and how the history says it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from oms.domain.shipping import late_scan_alerts
from oms.models.shipments import LateScan, ShipmentStatus
from oms.views.shipments import late_scan_note


@pytest.mark.parametrize(
    ("ended", "scan", "lost", "alerts"),
    [
        ("claimed", "delivered", True, True),
        ("claimed", "delivered", False, False),  # claimed damaged: a delivery is expected
        ("claimed", "in_transit", True, False),  # its delivery scan will tell
        ("delivered", "delivered", False, False),  # a carrier's resend
        ("cancelled", "delivered", False, False),
    ],
)
def test_only_a_delivery_of_a_parcel_claimed_lost_alerts(
    ended: str, scan: str, lost: bool, alerts: bool
) -> None:
    assert late_scan_alerts(ended, scan, lost) is alerts


def test_the_history_line_gives_the_carriers_time_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    scan = LateScan(
        event_id="e-1",
        shipment_id="O-1-S1",
        tracking_number="T1",
        status="delivered",
        at=datetime(2026, 12, 9, 11, 15, tzinfo=cet),
        received_at=datetime(2026, 12, 9, 12, 0, tzinfo=UTC),
        description="left at the door",
        shipment_status=ShipmentStatus.CLAIMED,
        alerted=True,
    )
    assert late_scan_note(scan) == (
        "Carrier: delivered on 2026-12-09 10:15:00 UTC, after the shipment ended claimed"
        " (left at the door); operations notified"
    )
    unsaid = scan.model_copy(update={"at": None, "description": "", "alerted": False})
    assert late_scan_note(unsaid) == (
        "Carrier: delivered on 2026-12-09 12:00:00 UTC, after the shipment ended claimed"
    )
