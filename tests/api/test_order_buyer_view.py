"""What a buyer reads of their own order: its lines, money, shipments, the changes they were
told of and the note staff wrote for them, never staff's reasons, notes, risk findings or
names; staff read the whole order (docs/security.md, "What a buyer sees of an order").

The buyer used to read ``cancel_reason: "fraud suspected"`` and the history line "Cancelled
by ops:...: fraud suspected" after an operator cancelled with a note for the customer, a
support agent's "called customer", and the risk rules' findings, from ``GET /orders/{id}``.

The app in this process on the read model; Temporal is a fake that answers each update with
the order's view (what the workflow would answer).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from oms.models.common import HistoryEntry, SkuQuantity
from oms.models.inventory import AllocationDecision, Candidate
from oms.models.order_changes import LineCancellation, OrderEdit, ShipmentClaim
from oms.models.orders import (
    Hold,
    NoteEntry,
    OrderStatus,
    OrderView,
    PurchaseApproval,
    ShipmentSummary,
)
from oms.store import orders, refunds

from app_fixtures import FakeOrderWorkflow, FakeTemporal, app_clients
from inventory_fixtures import T0, order_view

pytestmark = [pytest.mark.timeout(60)]

BUYER = "buyer-C-98"  # dev-buyer-C-98: the orders' customer
STAFF = "support"
NOTE = "we could not verify your payment; nothing was charged"
FINDING = "6 orders from C-98 within an hour, above 5"
# What only the merchant's side may read of the orders below.
INTERNAL = (
    "fraud suspected",
    "called customer",
    "vip",
    "dev-support",
    "dev-ops",
    "ops:",
    "risk-rules",
    "risk review",
    FINDING,
    "customer is abusive",
    "warehouse mixed it up",
    "carrier says stolen",
    "goodwill after complaint",
    "card_declined_for_good",
    "Maria Manager",
    "stock_seen",
    "WH-GBG",
    "nearest_complete",
)


def _line(minutes: int, status: str, note: str, by: str | None = None, action: str | None = None):
    return HistoryEntry(
        at=T0 + timedelta(minutes=minutes), status=status, note=note, by=by, action=action
    )


def _cancelled_by_ops() -> OrderView:
    """A-2008: held by the risk rules, noted by support, cancelled by an operator for
    "fraud suspected" with a note for the customer."""
    view = order_view("A-2008", status=OrderStatus.CANCELLED, customer_id="C-98", version=9)
    view.cancel_reason, view.cancel_note = "fraud suspected", NOTE
    view.notes = [NoteEntry(at=T0, by="dev-support", text="called customer", tags=["vip"])]
    view.history = [
        _line(0, "received", "Order received via web"),
        _line(
            1,
            "on_hold",
            f"On hold before allocation (risk review, by risk-rules): {FINDING}",
            "risk-rules",
            "hold",
        ),
        _line(2, "on_hold", "Note by dev-support: called customer [vip]", "dev-support", "note"),
        _line(
            3, "on_hold", "Operations (dev-ops): cancel: fraud suspected", "ops:dev-ops", "cancel"
        ),
        _line(4, "cancelled", "Cancelled by ops:dev-ops: fraud suspected", "ops:dev-ops"),
    ]
    return view


def _held_by_risk() -> OrderView:
    """H-4001: held by the risk rules before allocation, with a support note."""
    view = order_view("H-4001", status=OrderStatus.ON_HOLD, customer_id="C-98", version=4)
    view.hold = Hold(reason="risk review", by="risk-rules", at=T0, findings=[FINDING])
    view.notes = [NoteEntry(at=T0, by="dev-support", text="called customer")]
    view.approvals = [
        PurchaseApproval(
            rule_id="big",
            rule_name="Large order",
            role="finance",
            decision="approve",
            decided_by="Maria Manager",
            comment="fraud suspected but ok",
        )
    ]
    view.history = [
        _line(0, "received", "Order received via web"),
        _line(1, "received", "Held by dev-support: fraud suspected", "dev-support", "hold"),
        _line(
            2,
            "on_hold",
            f"On hold before allocation (risk review, by risk-rules): {FINDING}",
            "risk-rules",
            "hold",
        ),
        _line(3, "on_hold", "Note by dev-support: called customer", "dev-support", "note"),
    ]
    return view


def _changed() -> OrderView:
    """C-7001: allocated, a line cut and an address changed by staff, a parcel claimed lost
    and reshipped, one refunded; shipped."""
    view = order_view("C-7001", status=OrderStatus.SHIPPED, customer_id="C-98", version=12)
    view.allocations = [
        AllocationDecision(
            key="C-7001:alloc",
            rule="nearest_complete",
            decided_at=T0,
            candidates=[Candidate(warehouse_id="WH-GBG", distance_km=400.0, stock_seen={"A": 3})],
        )
    ]
    view.shipments = [
        ShipmentSummary(
            shipment_id="C-7001-S1",
            warehouse_id="WH-STO",
            lines=[SkuQuantity(sku="TSHIRT", quantity=1)],
            status="shipped",
            carrier="sandbox",
            tracking_number="TRK-1",
            uncollected=Decimal("249.00"),
            capture_error="card_declined_for_good",
        )
    ]
    view.line_cancellations = [
        LineCancellation(
            at=T0,
            by="dev-support",
            sku="TSHIRT",
            quantity=1,
            reason="customer is abusive",
            amount=Decimal("249.00"),
            released=Decimal("249.00"),
        )
    ]
    view.edits = [
        OrderEdit(
            at=T0,
            by="ops:dev-ops",
            reason="fraud suspected",
            changes=["ship_to: new address"],
            total_before=Decimal("249.00"),
            total_after=Decimal("249.00"),
            authorization_id="auth-internal",
        )
    ]
    view.claims = [
        ShipmentClaim(
            at=T0,
            by="dev-support",
            shipment_id="C-7001-S0",
            kind="lost",
            resolution="reship",
            reason="carrier says stolen",
            reshipped_as=["C-7001-S1"],
        )
    ]
    view.history = [
        _line(0, "received", "Order received via web"),
        _line(1, "confirmed", "Payment authorized; order confirmed"),
        _line(2, "allocated", "Allocated (nearest_complete): WH-GBG: TSHIRT x2"),
        _line(
            3,
            "allocated",
            "Line cancelled by dev-support: TSHIRT x1 (1 from C-7001-S0): "
            "customer is abusive; total -249.00 SEK",
            "dev-support",
            "cancel_line",
        ),
        _line(
            4,
            "allocated",
            "Edited by ops:dev-ops: ship_to: new address: fraud suspected",
            "ops:dev-ops",
            "edit",
        ),
        _line(
            5,
            "allocated",
            "Short pick at WH-GBG by picker-7: warehouse mixed it up",
            "picker-7",
            "short_pick",
        ),
        _line(
            6,
            "allocated",
            "Claim by dev-support: C-7001-S0 lost: carrier says stolen; "
            "reshipped as C-7001-S1 at no charge",
            "dev-support",
            "claim",
        ),
        _line(7, "shipped", "C-7001-S1 shipped"),
    ]
    return view


def _cancelled_by_buyer() -> OrderView:
    """B-5001: the buyer cancelled it, with their own reason (their note, as the API sends it)."""
    view = order_view("B-5001", status=OrderStatus.CANCELLED, customer_id="C-98", version=5)
    view.cancel_reason = view.cancel_note = "ordered the wrong size"
    view.history = [
        _line(0, "received", "Order received via web"),
        _line(
            1, "cancelled", "Cancelled by dev-buyer-C-98: ordered the wrong size", "dev-buyer-C-98"
        ),
    ]
    return view


VIEWS: dict[str, Callable[[], OrderView]] = {
    "A-2008": _cancelled_by_ops,
    "H-4001": _held_by_risk,
    "C-7001": _changed,
    "B-5001": _cancelled_by_buyer,
}


def _fill(session: Session) -> None:
    for make in VIEWS.values():
        assert orders.record_order(session, make())
    # Two refunds without a return on C-7001: one refunded, one the provider declined.
    for key, refund_id, error in (("k1", "re_1", None), ("k2", None, "card_declined_for_good")):
        refunds.claim(
            session,
            "C-7001",
            key,
            Decimal("10.00"),
            "SEK",
            "goodwill after complaint",
            "dev-support",
            T0 + timedelta(minutes=8),
        )
        refunds.finish(session, "C-7001", key, refund_id, error, T0 + timedelta(minutes=9))


def _leaks(body: str) -> list[str]:
    return [secret for secret in INTERNAL if secret in body]


def _history(order: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(h["status"], h["note"], h["by"]) for h in order["history"]]


@pytest.fixture
async def clients(migrated_sqlite_url: str) -> Any:
    async with app_clients(migrated_sqlite_url, BUYER, STAFF, fill=_fill) as clients:
        yield clients


async def test_a_buyer_reads_the_customer_note_not_the_operators_cancel_reason(
    clients: Any,
) -> None:
    got = await clients[BUYER].get("/orders/A-2008")
    assert got.status_code == 200, got.text
    order = got.json()
    assert (order["status"], order["cancel_reason"], order["cancel_note"]) == (
        "cancelled",
        NOTE,
        NOTE,
    )
    assert _history(order) == [
        ("received", "Order received via web", None),
        ("on_hold", "On hold", None),
        ("cancelled", f"Cancelled: {NOTE}", None),
    ]
    assert (order["notes"], order["hold"]) == ([], None)
    assert _leaks(got.text) == []
    # Their own data, as placed.
    assert (order["customer"]["id"], order["total"]) == ("C-98", "498.00")
    assert order["lines"] == [
        {"sku": "TSHIRT", "quantity": 2, "unit_price": "249.00", "tax_rate": None}
    ]

    staff = (await clients[STAFF].get("/orders/A-2008")).json()
    assert staff["cancel_reason"] == "fraud suspected"
    assert staff["history"][-1]["note"] == "Cancelled by ops:dev-ops: fraud suspected"
    assert [n["text"] for n in staff["notes"]] == ["called customer"]
    assert len(staff["history"]) == 5


async def test_a_buyer_reads_no_risk_findings_notes_or_approvers_of_a_held_order(
    clients: Any,
) -> None:
    got = await clients[BUYER].get("/orders/H-4001")
    assert got.status_code == 200, got.text
    order = got.json()
    assert order["status"] == "on_hold"
    assert (order["hold"], order["notes"], order["approvals"]) == (None, [], [])
    assert _history(order) == [
        ("received", "Order received via web", None),
        ("on_hold", "On hold", None),
    ]
    assert _leaks(got.text) == []

    staff = (await clients[STAFF].get("/orders/H-4001")).json()
    assert staff["hold"]["findings"] == [FINDING]
    assert staff["approvals"][0]["decided_by"] == "Maria Manager"
    assert len(staff["history"]) == 4


async def test_a_buyer_reads_what_changed_and_the_money_not_who_or_why(clients: Any) -> None:
    got = await clients[BUYER].get("/orders/C-7001")
    assert got.status_code == 200, got.text
    order = got.json()
    assert _history(order) == [
        ("received", "Order received via web", None),
        ("confirmed", "Payment authorized; order confirmed", None),
        ("allocated", "Allocated: shipments are being prepared", None),
        (
            "allocated",
            "Line cancelled: TSHIRT x1; total -249.00 SEK, 249.00 SEK of the card "
            "authorization released",
            None,
        ),
        ("allocated", "Order changed: ship_to: new address", None),
        ("allocated", "Parcel C-7001-S0 lost: sent again as C-7001-S1, free", None),
        ("shipped", "C-7001-S1 shipped", None),
        ("shipped", "Refunded 10.00 SEK", None),
    ]
    assert order["allocations"] == []
    cancelled = order["line_cancellations"][0]
    assert (cancelled["sku"], cancelled["quantity"], cancelled["amount"]) == ("TSHIRT", 1, "249.00")
    assert (cancelled["by"], cancelled["reason"]) == ("", "")
    assert (order["edits"][0]["reason"], order["edits"][0]["authorization_id"]) == ("", None)
    assert order["claims"][0]["reshipped_as"] == ["C-7001-S1"]
    assert (order["claims"][0]["by"], order["claims"][0]["reason"]) == ("", "")
    # Shipments and tracking, the refund that was made (not the declined one), the money.
    shipment = order["shipments"][0]
    assert (shipment["tracking_number"], shipment["status"]) == ("TRK-1", "shipped")
    assert "uncollected" not in shipment and "capture_error" not in shipment
    assert [(r["amount"], r["status"], r["reason"]) for r in order["refunds"]] == [
        ("10.00", "refunded", "")
    ]
    assert _leaks(got.text) == []

    staff = (await clients[STAFF].get("/orders/C-7001")).json()
    assert staff["line_cancellations"][0]["reason"] == "customer is abusive"
    assert staff["allocations"][0]["candidates"][0]["stock_seen"] == {"A": 3}
    assert staff["shipments"][0]["capture_error"] == "card_declined_for_good"
    assert len(staff["refunds"]) == 2


async def test_a_buyer_reads_their_own_cancel_reason(clients: Any) -> None:
    order = (await clients[BUYER].get("/orders/B-5001")).json()
    assert order["cancel_reason"] == "ordered the wrong size"
    assert order["history"][-1]["note"] == "Cancelled: ordered the wrong size"


async def test_a_buyers_list_shows_each_order_as_the_buyer_sees_it(clients: Any) -> None:
    listed = await clients[BUYER].get("/orders", params={"limit": 10})
    assert listed.status_code == 200, listed.text
    items = {o["order_id"]: o for o in listed.json()["items"]}
    assert set(items) == set(VIEWS)
    for order_id, order in items.items():
        # The list's view is the GET's, except what only the GET adds from the store.
        got = (await clients[BUYER].get(f"/orders/{order_id}")).json()
        assert order["history"] == [h for h in got["history"] if h["action"] != "refund"]
        assert order["cancel_reason"] == got["cancel_reason"]
    assert _leaks(listed.text) == []

    staff = (await clients[STAFF].get("/orders", params={"customer_id": "C-98"})).json()
    assert {o["order_id"]: o["cancel_reason"] for o in staff["items"]}["A-2008"] == (
        "fraud suspected"
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/orders/H-4001/cancel", {"reason": "changed my mind"}),
        ("/orders/H-4001/lines/TSHIRT/cancel", {"quantity": 1, "reason": "too many"}),
        ("/orders/H-4001/edits", {"lines": [{"sku": "TSHIRT", "quantity": 1}], "reason": "x"}),
    ],
)
async def test_a_change_a_buyer_makes_answers_the_order_as_the_buyer_sees_it(
    migrated_sqlite_url: str, path: str, body: dict[str, Any]
) -> None:
    held = _held_by_risk()
    workflow = FakeOrderWorkflow(held)

    def fill(session: Session) -> None:
        orders.record_order(session, held)

    async with app_clients(
        migrated_sqlite_url, BUYER, STAFF, fill=fill, temporal=FakeTemporal(workflow)
    ) as clients:
        answer = await clients[BUYER].post(path, json=body)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["hold"], answer.json()["notes"]) == (None, [])
        assert _leaks(answer.text) == []

        staff = await clients[STAFF].post(path, json=body)
        assert staff.status_code == 200, staff.text
        assert staff.json()["hold"]["findings"] == [FINDING]
        assert [n["text"] for n in staff.json()["notes"]] == ["called customer"]
