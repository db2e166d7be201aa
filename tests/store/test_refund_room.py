"""What is left to refund on a return's order, as the store knows it (``returns.refund_room``):
the shipments' captures and exchange charges, less every refund but the asking return's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from oms.domain.returns import CHARGED_DIFFERENCE, REFUNDED_DIFFERENCE
from oms.models.common import Customer, HistoryEntry
from oms.models.order_changes import LineCancellation, ShipmentClaim
from oms.models.orders import ShipmentSummary
from oms.models.returns import ReturnLine, ReturnStatus, ReturnView
from oms.models.shipments import ShipmentStatus
from oms.store import refunds
from oms.store.db import Database
from oms.store.orders import get_order, record_order, record_shipment
from oms.store.returns import ReturnStore, money_of, record_return

from inventory_fixtures import T0, order_view, shipment_view


def _return(
    rma_id: str,
    refunded: str = "0.00",
    difference: str | None = None,
    note: str | None = None,
) -> ReturnView:
    history = [HistoryEntry(at=T0, status="closed", note=note)] if note else []
    return ReturnView(
        rma_id=rma_id,
        order_id="O-1",
        status=ReturnStatus.CLOSED,
        resolution="refund" if difference is None else "exchange",
        customer=Customer(id="C-1", name="Astrid", email="astrid@example.com"),
        currency="SEK",
        lines=[ReturnLine(sku="TSHIRT", quantity=1, reason="changed_mind")],
        refund_total=Decimal(refunded),
        exchange_difference=None if difference is None else Decimal(difference),
        history=history,
        requested_at=T0,
        updated_at=T0,
        version=1,
    )


def _order(db: Database, captures: list[str | None]) -> None:
    view = order_view("O-1")
    with db.session() as session:
        for i, captured in enumerate(captures):
            shipment = shipment_view(f"S-{i}", status=ShipmentStatus.DELIVERED)
            shipment.captured = None if captured is None else Decimal(captured)
            record_shipment(session, shipment)
            view.shipments.append(ShipmentSummary.of(shipment))
        view.claims.append(
            ShipmentClaim(
                at=T0,
                by="support",
                shipment_id="S-0",
                kind="damaged",
                resolution="refund",
                refunded=Decimal("10.00"),
            )
        )
        record_order(session, view)


def _refund(db: Database, key: str, amount: str, answer: str | None) -> None:
    with db.session() as session:
        refunds.claim(session, "O-1", key, Decimal(amount), "SEK", "late", "support", T0)
        if answer is not None:
            refund_id, error = (answer, None) if answer.startswith("RF") else (None, answer)
            later = T0 + timedelta(minutes=1)
            refunds.finish(session, "O-1", key, refund_id, error, later)


def test_everything_refunded_on_the_order_but_by_the_asking_return_counts(db: Database) -> None:
    _order(db, ["398.00", "199.00"])  # 597.00 captured, a claim refunded 10.00
    _refund(db, "k-1", "50.00", "RF-1")
    _refund(db, "k-2", "400.00", "RF-2")
    _refund(db, "k-3", "30.00", "RefundDeclined: no")  # declined: nothing moved
    _refund(db, "k-4", "20.00", None)  # pending: may yet be declined, not counted
    with db.session() as session:
        record_return(session, _return("RMA-1", refunded="25.00"))
        # An exchange whose difference was refunded, one whose charge was taken, one
        # whose refund was not made (operations refund it without a return).
        record_return(
            session, _return("RMA-2", difference="-5.00", note=f"{REFUNDED_DIFFERENCE} x")
        )
        record_return(session, _return("RMA-3", difference="30.00", note=f"{CHARGED_DIFFERENCE} x"))
        record_return(session, _return("RMA-4", difference="-7.00", note="not refunded"))
        record_return(session, _return("RMA-ME", refunded="99.00"))

    room = ReturnStore(db).refund_room("O-1", "RMA-ME")

    assert room.captured == Decimal("627.00")  # 597.00 + the charged exchange difference
    assert room.refunded == Decimal("490.00")  # 50 + 400 + claim 10 + RMA-1 25 + RMA-2 5
    assert room.left() == Decimal("137.00")
    assert room.left(own=Decimal("99.00")) == Decimal("38.00")
    assert room.left(own=Decimal("500.00")) == Decimal("0.00")


def test_no_capture_known_caps_nothing(db: Database) -> None:
    _order(db, [None])
    assert ReturnStore(db).refund_room("O-1", "RMA-1").left() is None
    assert ReturnStore(db).refund_room("O-404", "RMA-1").left() is None


def test_a_line_cancel_s_refund_counts_and_the_order_shows_its_money(db: Database) -> None:
    """Units a claim's reshipment owed were paid by the claimed parcel: cancelling them
    refunds them, and what is left to refund (and the order's money) must know it."""
    _order(db, ["398.00", "199.00"])  # 597.00 captured, a claim refunded 10.00
    with db.session() as session:
        view = get_order(session, "O-1")
        assert view is not None
        view.line_cancellations.append(
            LineCancellation(
                at=T0, by="support", sku="TSHIRT", quantity=1, reason="not wanted",
                amount=Decimal("249.00"), refunded=Decimal("249.00"), refund_id="RF-9",
            )
        )  # fmt: skip
        view.version += 1
        record_order(session, view)

    room = ReturnStore(db).refund_room("O-1", "RMA-1")

    assert room.refunded == Decimal("259.00")  # the claim's 10.00 and the cancel's 249.00
    assert room.left() == Decimal("338.00")
    with db.session() as session:
        shown = get_order(session, "O-1")
        assert shown is not None
        assert money_of(session, shown) == room


def test_a_line_cancel_s_credit_note_counts_as_given_back_on_an_invoice_order(
    db: Database,
) -> None:
    """On invoice terms the parcels' invoices are what ``captured`` holds, and units a claim's
    reshipment sent were invoiced with the claimed parcel: cancelling them credits the
    company, which the order's money (and what is left to give back) must count."""
    _order(db, ["398.00", "199.00"])  # 597.00 invoiced, a claim gave back 10.00
    with db.session() as session:
        view = get_order(session, "O-1")
        assert view is not None
        view.line_cancellations.append(
            LineCancellation(
                at=T0, by="support", sku="TSHIRT", quantity=1, reason="not wanted",
                amount=Decimal("249.00"), refunded=Decimal("249.00"), credit_note="CN-000042",
            )
        )  # fmt: skip
        view.version += 1
        record_order(session, view)

    room = ReturnStore(db).refund_room("O-1", "RMA-1")

    assert room.refunded == Decimal("259.00")
    assert room.left() == Decimal("338.00")
    with db.session() as session:
        shown = get_order(session, "O-1")
        assert shown is not None
        # The read model keeps the note's number.
        assert shown.line_cancellations[-1].credit_note == "CN-000042"
        assert money_of(session, shown) == room
