"""Cancelling units the customer already paid for (sent again at no charge after a claim):
their money is refunded, not released, and the order ends only once a cancellation is
recorded, on the time-skipping server."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from oms.models.common import SkuQuantity
from oms.models.order_changes import CancelLine, OpenClaim
from oms.models.orders import BackorderWake, OrderStatus
from oms.models.shipments import ConfirmPack, ConfirmPick, Package
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow
from workflows.order_lines import LINE_CANCEL_RECORDED_FIRST_PATCH, LINE_REFUND_PATCH
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


def _cancel(quantity: int) -> CancelLine:
    return CancelLine(sku="TSHIRT", quantity=quantity, reason="do not reship", by="support-1")


async def _until(handle: WorkflowHandle[Any, Any], test: Any, what: str) -> Any:
    for _ in range(200):
        view = await handle.query(OrderWorkflow.state)
        if test(view):
            return view
        await tick()
    raise AssertionError(f"never {what}")


async def _ship(harness: Harness, shipment_id: str) -> None:
    ship = await harness.shipment(shipment_id)
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )


async def _lost_and_reshipped(harness: Harness, qty: int, **start: Any) -> tuple[str, Any]:
    """An order of ``qty`` TSHIRT (199.00 each) whose parcel S1 shipped (captured), was lost
    and is reshipped at no charge; ``start`` sets the fake store's stock for the reship."""
    order_id = f"LR-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=qty))
    await _ship(harness, f"{order_id}-S1")
    await _until(handle, lambda v: v.status == OrderStatus.SHIPPED, "shipped")
    harness.world.stock = dict(start.get("stock", {"TSHIRT": qty}))
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1",
        kind="lost",
        resolution="reship",
        reason="no scan for 9 days",
        by="support-1",
    )
    await handle.execute_update(OrderWorkflow.open_claim, claim)
    return order_id, handle


async def test_cancelling_reshipped_units_refunds_what_the_lost_parcel_captured(
    harness: Harness,
) -> None:
    # Before, the 199.00 was "released" of an authorization the lost parcel had used up
    # (a void of 0.00) and nothing was refunded: the customer paid for a unit never sent.
    order_id, handle = await _lost_and_reshipped(harness, qty=3)
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("597.00")]

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    [cancelled] = view.line_cancellations
    assert cancelled.from_shipments == {f"{order_id}-S2": 1}
    assert (cancelled.amount, cancelled.refunded, cancelled.released) == (
        Decimal("199.00"),
        Decimal("199.00"),
        Decimal("0.00"),
    )
    key = f"{order_id}:line-refund:1"
    assert cancelled.refund_id == f"REF-{key}"
    [refund] = _calls(harness, "refund")
    assert (refund.idempotency_key, refund.amount) == (key, Decimal("199.00"))
    # Nothing is left of the authorization to release: no void for it.
    assert not [
        v for v in _calls(harness, "void_authorization") if "release-line" in v.idempotency_key
    ]
    assert view.history[-1].note == (
        f"Line cancelled by support-1: TSHIRT x1 (1 from {order_id}-S2): do not reship; "
        f"total -199.00 SEK, 199.00 SEK refunded (REF-{key})"
    )
    [email] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert (email.context["refunded"], email.context["not_charged"]) == ("199,00 SEK", False)
    assert email.context["nothing_left"] is False

    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    # Captured 597.00 once, refunded 199.00 once: the customer paid the 398.00 total.
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("597.00")]
    assert list(harness.world.refunds) == [key]
    assert (await handle.query(OrderWorkflow.state)).total == Decimal("398.00")
    assert patches(await handle.fetch_history()).count(LINE_REFUND_PATCH) == 1


async def test_cancelling_units_a_reship_owes_free_refunds_them(harness: Harness) -> None:
    # The reship sends 1 and owes 2 at no charge; cancelling the 2 owed refunded nothing.
    order_id, handle = await _lost_and_reshipped(harness, qty=3, stock={"TSHIRT": 1})
    assert (await handle.query(OrderWorkflow.state)).backordered == [
        SkuQuantity(sku="TSHIRT", quantity=2)
    ]

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(2))

    [cancelled] = view.line_cancellations
    assert (cancelled.from_backorder, cancelled.refunded, cancelled.released) == (
        2,
        Decimal("398.00"),
        Decimal("0.00"),
    )
    [refund] = _calls(harness, "refund")
    assert (refund.idempotency_key, refund.amount) == (
        f"{order_id}:line-refund:1",
        Decimal("398.00"),
    )
    assert view.backordered == []
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_owed_units_partly_paid_refund_the_paid_ones_and_release_the_rest(
    harness: Harness,
) -> None:
    # Three ordered, two in stock: S1 ships two (398.00), one is owed (paid, authorized).
    # S1 is lost and reshipped with no stock: two more are owed at no charge.
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"LR-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _ship(harness, f"{order_id}-S1")
    await _until(handle, lambda v: v.status == OrderStatus.PARTIALLY_SHIPPED, "shipped")
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1", kind="lost", resolution="reship", reason="lost", by="s"
    )
    await handle.execute_update(OrderWorkflow.open_claim, claim)
    assert (await handle.query(OrderWorkflow.state)).backordered == [
        SkuQuantity(sku="TSHIRT", quantity=3)
    ]

    # Two of three: the free ones go first (refunded), the paid one stays owed.
    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(2))
    cancelled = view.line_cancellations[-1]
    assert (cancelled.refunded, cancelled.released) == (Decimal("398.00"), Decimal("0.00"))
    # The last one was only authorized: released, nothing refunded.
    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))
    cancelled = view.line_cancellations[-1]
    assert (cancelled.refunded, cancelled.released) == (Decimal("0.00"), Decimal("199.00"))
    assert [(r.idempotency_key, r.amount) for r in _calls(harness, "refund")] == [
        (f"{order_id}:line-refund:1", Decimal("398.00"))
    ]
    [release] = [
        v for v in _calls(harness, "void_authorization") if "release-line" in v.idempotency_key
    ]
    assert (release.idempotency_key, release.amount) == (
        f"{order_id}:release-line:1",
        Decimal("199.00"),
    )
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_a_mixed_cancel_refunds_the_paid_units_and_releases_the_others(
    harness: Harness,
) -> None:
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"LR-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _ship(harness, f"{order_id}-S1")
    await _until(handle, lambda v: v.status == OrderStatus.PARTIALLY_SHIPPED, "shipped")
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1", kind="lost", resolution="reship", reason="lost", by="s"
    )
    await handle.execute_update(OrderWorkflow.open_claim, claim)

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(3))

    cancelled = view.line_cancellations[-1]
    assert (cancelled.amount, cancelled.refunded, cancelled.released) == (
        Decimal("597.00"),
        Decimal("398.00"),
        Decimal("199.00"),
    )
    [email] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert (email.context["refunded"], email.context["not_charged"]) == ("398,00 SEK", True)
    assert email.context["nothing_left"] is True
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_a_declined_refund_keeps_the_cancellation_and_says_what_to_do(
    harness: Harness,
) -> None:
    harness.world.captured = Decimal("100.00")  # the provider refunds no more than this
    _, handle = await _lost_and_reshipped(harness, qty=3)

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    cancelled = view.line_cancellations[-1]
    assert (cancelled.refunded, cancelled.refund_id) == (Decimal("0.00"), None)
    assert cancelled.refund_error is not None and "RefundDeclined" in cancelled.refund_error
    assert "refund it with POST /orders/{id}/refunds" in view.history[-1].note
    [email] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert (email.context["refunded"], email.context["refund_due"]) == ("", True)
    assert view.total == Decimal("398.00")


async def test_a_short_pick_of_a_reship_under_the_cancel_policy_refunds_the_missing_unit(
    harness: Harness,
) -> None:
    # Before, 199.00 came off the total, a void of 0.00 released nothing, nothing was
    # refunded, and the short-pick email said the missing unit was not charged.
    order_id = f"LR-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id, qty=3)
    inp.options = inp.options.model_copy(update={"short_pick_policy": "cancel"})
    handle = await harness.start(inp)
    await _ship(harness, f"{order_id}-S1")
    await _until(handle, lambda v: v.status == OrderStatus.SHIPPED, "shipped")
    harness.world.stock = {"TSHIRT": 3}
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1", kind="lost", resolution="reship", reason="lost", by="s"
    )
    await handle.execute_update(OrderWorkflow.open_claim, claim)
    reship = await harness.shipment(f"{order_id}-S2")
    await reship.execute_update(
        ShipmentWorkflow.confirm_pick,
        ConfirmPick(picked_by="Lisa", lines=[SkuQuantity(sku="TSHIRT", quantity=2)]),
    )
    view = await _until(handle, lambda v: v.line_cancellations, "a line cancellation")

    [cancelled] = view.line_cancellations
    assert (cancelled.amount, cancelled.refunded, cancelled.released) == (
        Decimal("199.00"),
        Decimal("199.00"),
        Decimal("0.00"),
    )
    [refund] = _calls(harness, "refund")
    assert refund.idempotency_key == f"{order_id}:line-refund:1"
    [email] = [e for e in harness.world.emails if e.template == "order_short_picked"]
    assert (email.context["refunded"], email.context["not_charged"]) == ("199,00 SEK", False)


async def test_cancelling_the_last_parcel_records_the_cut_before_the_order_completes(
    harness: Harness,
) -> None:
    # S1 (two) delivered, S2 (one, filled later) still picking: cancelling it ended the order
    # first, so order.delivered / order.completed and the completed email carried the total
    # from before, and the line-cancel email promised a rest that did not exist.
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"LR-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await harness.deliver(f"{order_id}-S1")
    harness.world.arrived = {"TSHIRT": 1}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    # S1's delivery reached the order (deliver() only sends the scans): else the cancel's
    # email rightly says the rest (S1, still in transit to the order) goes on.
    await _until(
        handle,
        lambda v: len(v.shipments) == 2 and v.shipments[0].status == "delivered",
        "a second parcel, the first delivered",
    )

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))
    assert view.total == Decimal("398.00")
    assert (await handle.result()).status == OrderStatus.COMPLETED

    final = await handle.query(OrderWorkflow.state)
    notes = [h.note for h in final.history]
    cut = next(i for i, n in enumerate(notes) if n.startswith("Line cancelled"))
    ended = [i for i, h in enumerate(final.history) if h.status in ("delivered", "completed")]
    assert ended and cut < min(ended)
    # Every view the read model (and its events) saw as delivered or completed: the new total.
    done = [v for v in harness.world.order_writes if v.status in ("delivered", "completed")]
    assert done and {(v.total, v.lines[0].quantity) for v in done} == {(Decimal("398.00"), 2)}
    emails = [e.template for e in harness.world.emails]
    assert emails.index("order_line_cancelled") < emails.index("order_completed")
    [told] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert told.context["nothing_left"] is True
    [completed] = [e for e in harness.world.emails if e.template == "order_completed"]
    assert completed.context["total"] == "398,00 SEK"
    assert LINE_CANCEL_RECORDED_FIRST_PATCH in patches(await handle.fetch_history())
