"""Short picks on the time-skipping server: the parcel ships what was picked, is charged
for that only, and the order backorders or cancels the missing units by its policy."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from oms.domain.events import transitions
from oms.models.common import SkuQuantity
from oms.models.ops import ResendNotification
from oms.models.order_changes import BackorderUnits, CancelLine, OpenClaim, TrimReservation
from oms.models.orders import BackorderWake, OrderStatus
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow
from workflows.order_lines import SHORT_PICK_FREE_PATCH
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


async def _until(handle: WorkflowHandle[Any, Any], test: Any, what: str) -> Any:
    for _ in range(200):
        view = await handle.query(OrderWorkflow.state)
        if test(view):
            return view
        await tick()
    raise AssertionError(f"never {what}")


def _changed_events(view: Any) -> int:
    """How many ``order.changed`` webhooks the order's history so far would emit."""
    return [t.type for t in transitions("order", None, view.history)].count("order.changed")


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


async def _short_pick_2_of_3(harness: Harness, policy: str) -> tuple[str, Any, Any]:
    order_id = f"SP-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id, qty=3)
    inp.options = inp.options.model_copy(update={"short_pick_policy": policy})
    handle = await harness.start(inp)
    ship = await harness.shipment(f"{order_id}-S1")
    picked = await ship.execute_update(
        ShipmentWorkflow.confirm_pick,
        ConfirmPick(picked_by="Lisa", lines=[SkuQuantity(sku="TSHIRT", quantity=2)]),
    )
    assert [(ln.sku, ln.quantity) for ln in picked.lines] == [("TSHIRT", 2)]
    assert picked.short == [SkuQuantity(sku="TSHIRT", quantity=1)]
    assert picked.history[-1].note == (
        "Short pick by Lisa: missing TSHIRT x1; the parcel ships TSHIRT x2"
    )
    assert (picked.history[-1].by, picked.history[-1].action) == ("Lisa", "short_pick")
    assert _calls(harness, "trim") == [
        TrimReservation(
            order_id=order_id, sku="TSHIRT", keep=2, shipment_id=f"{order_id}-S1", lost=True
        )
    ]
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    return order_id, handle, ship


async def _deliver(ship: Any, order_id: str) -> None:
    for status in ("in_transit", "delivered"):
        await ship.signal(
            ShipmentWorkflow.tracking_event,
            TrackingEvent(tracking_number=f"TN{order_id}-S1", status=status),  # type: ignore[arg-type]
        )


async def test_backorder_policy_ships_two_charges_two_and_owes_one(harness: Harness) -> None:
    order_id, handle, ship = await _short_pick_2_of_3(harness, "backorder")
    view = await _until(
        handle, lambda v: v.status == OrderStatus.PARTIALLY_SHIPPED, "partially shipped"
    )
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=1)]
    assert view.total == Decimal("597.00")  # still owed: the order keeps its total
    [backorder] = _calls(harness, "backorder")
    assert backorder == BackorderUnits(
        key=f"{order_id}:short:1",
        order_id=order_id,
        lines=[SkuQuantity(sku="TSHIRT", quantity=1)],
        placed_at=backorder.placed_at,
    )
    short = next(h for h in view.history if h.action == "short_pick")
    assert short.note == (
        f"Short pick at WH-STO by Lisa: TSHIRT x1 not in {order_id}-S1, backordered "
        "(policy: backorder)"
    )
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]
    assert _calls(harness, "void_authorization") == []
    # Lines and total as they were: no order.changed (it used to fire for every short pick).
    assert _changed_events(view) == 0

    await _deliver(ship, order_id)
    delivered = await _until(
        handle, lambda v: v.shipments[0].status == "delivered", "the first parcel delivered"
    )
    assert delivered.status == OrderStatus.PARTIALLY_SHIPPED  # one unit is still owed
    # The owed unit arrives and ships as a parcel of its own.
    harness.world.arrived = {"TSHIRT": 1}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [
        Decimal("398.00"),
        Decimal("199.00"),
    ]


async def test_cancel_policy_takes_the_missing_units_off_the_order(harness: Harness) -> None:
    order_id, handle, ship = await _short_pick_2_of_3(harness, "cancel")
    view = await _until(handle, lambda v: v.line_cancellations, "a line cancellation")
    [cancelled] = view.line_cancellations
    assert (cancelled.sku, cancelled.quantity, cancelled.by) == ("TSHIRT", 1, "Lisa")
    assert cancelled.reason == "short pick at WH-STO (policy: cancel)"
    assert cancelled.from_shipments == {f"{order_id}-S1": 1}
    assert (view.total, view.backordered) == (Decimal("398.00"), [])
    # The total went down: an integration hears it once, from the line cancel.
    assert _changed_events(view) == 1
    [void] = _calls(harness, "void_authorization")
    assert void.amount == Decimal("199.00")
    assert _calls(harness, "backorder") == []

    await _deliver(ship, order_id)
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]


async def test_a_pick_of_what_the_parcel_does_not_hold_is_refused(harness: Harness) -> None:
    order_id = f"SP-{uuid.uuid4().hex[:6]}"
    await harness.start(harness.order_input(order_id, qty=2))
    ship = await harness.shipment(f"{order_id}-S1")
    for lines, why in (
        ([SkuQuantity(sku="TSHIRT", quantity=3)], "lines[0]: 3 TSHIRT picked, only 2 asked"),
        ([SkuQuantity(sku="CAP", quantity=1)], "lines[0]: the shipment has no CAP"),
        ([], "nothing picked"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await ship.execute_update(
                ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa", lines=lines)
            )
        cause = info.value.cause
        assert getattr(cause, "type", None) == "BadPick" and why in str(cause)
    # Nothing changed: a whole pick still goes through.
    view = await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    assert view.short == [] and view.lines[0].quantity == 2


async def test_a_cancelled_short_pick_tells_the_customer_once_what_went_and_the_new_total(
    harness: Harness,
) -> None:
    # Before, the units came off the order and the total went down without a word.
    order_id, handle, ship = await _short_pick_2_of_3(harness, "cancel")
    await _until(handle, lambda v: v.line_cancellations, "a line cancellation")
    await _deliver(ship, order_id)
    await handle.result()
    [email] = [e for e in harness.world.emails if e.template == "order_short_picked"]
    assert email.key == f"{order_id}:short-pick:1"
    assert email.locale == "sv"
    context = email.context
    assert context["missing"] == [{"sku": "TSHIRT", "quantity": 1}]
    assert (context["total"], context["amount"]) == ("398,00 SEK", "199,00 SEK")
    assert context["lines"][0]["quantity"] == 2
    assert context["shipment_id"] == f"{order_id}-S1"
    # Not also told as a line cancellation, nor as a backorder.
    assert not [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert not [e for e in harness.world.emails if e.template == "order_backordered"]
    assert "order-short-pick-email" in patches(await handle.fetch_history())


async def test_a_backordered_short_pick_sends_the_backorder_email_and_sets_the_flag(
    harness: Harness,
) -> None:
    # Before, the unit was owed again without the email, and a resend of order_backordered
    # was refused as never sent.
    order_id, handle, ship = await _short_pick_2_of_3(harness, "backorder")
    view = await _until(handle, lambda v: v.backorder_emailed, "the backorder emailed")
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=1)]
    [email] = [e for e in harness.world.emails if e.template == "order_backordered"]
    assert email.key == f"{order_id}:backordered:short:1"
    assert email.context["backordered"] == [{"sku": "TSHIRT", "quantity": 1}]
    assert "order-short-pick-email" in patches(await handle.fetch_history())
    resend = ResendNotification(by="ops-1", reason="lost it", notification="order_backordered")
    await handle.execute_update(OrderWorkflow.resend_notification, resend)
    assert f"{order_id}:order_backordered:resend:1" in harness.world.email_keys()
    await _deliver(ship, order_id)
    harness.world.arrived = {"TSHIRT": 1}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S2")
    await handle.result()
    assert [e.template for e in harness.world.emails].count("order_backordered") == 2  # + resend


async def test_a_short_pick_filled_at_once_from_free_stock_sends_no_backorder_email(
    harness: Harness,
) -> None:
    # Another warehouse has the unit: the order claims it at once, so nothing is owed.
    harness.world.arrived = {"TSHIRT": 1}
    order_id, handle, ship = await _short_pick_2_of_3(harness, "backorder")
    await _until(handle, lambda v: len(v.shipments) == 2, "the missing unit shipped again")
    await _deliver(ship, order_id)
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert not [e for e in harness.world.emails if e.template == "order_backordered"]
    # Asked only when a short pick leaves units owed: this run records no marker.
    assert "order-short-pick-email" not in patches(await handle.fetch_history())


async def _reship_short_picked(harness: Harness) -> tuple[str, Any, Any]:
    """An order of 3 TSHIRT (199.00 each, backorder policy) whose parcel S1 shipped
    (captured 597.00) and was lost; its reship S2 (at no charge) is picked 2 of 3."""
    order_id = f"SP-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=3))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    await _until(handle, lambda v: v.status == OrderStatus.SHIPPED, "shipped")
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1", kind="lost", resolution="reship", reason="lost", by="s"
    )
    await handle.execute_update(OrderWorkflow.open_claim, claim)
    reship = await harness.shipment(f"{order_id}-S2")
    await reship.execute_update(
        ShipmentWorkflow.confirm_pick,
        ConfirmPick(picked_by="Lisa", lines=[SkuQuantity(sku="TSHIRT", quantity=2)]),
    )
    view = await _until(handle, lambda v: v.backordered, "the missing unit owed")
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=1)]
    [backorder] = _calls(harness, "backorder")
    assert backorder.free  # paid once, by the lost parcel's capture
    return order_id, handle, reship


async def test_units_short_picked_from_a_reship_are_owed_and_shipped_at_no_charge(
    harness: Harness,
) -> None:
    # Before, the missing unit was owed as a paid one: its fill started a paid parcel that
    # captured 199.00 again on the authorization the lost parcel had used up (refused).
    order_id, handle, reship = await _reship_short_picked(harness)
    await reship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )

    harness.world.arrived = {"TSHIRT": 1}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S3")
    await _until(handle, lambda v: v.shipments[-1].status == "delivered", "the owed unit delivered")
    # Charged once, for the lost parcel: neither the reship nor its owed unit captured.
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("597.00")]
    assert harness.world.shipments[f"{order_id}-S3"].captured == Decimal("0.00")
    for status in ("in_transit", "delivered"):
        await reship.signal(
            ShipmentWorkflow.tracking_event,
            TrackingEvent(tracking_number=f"TN{order_id}-S2", status=status),  # type: ignore[arg-type]
        )
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert patches(await handle.fetch_history()).count(SHORT_PICK_FREE_PATCH) == 1


async def test_cancelling_a_unit_a_reships_short_pick_owes_refunds_it(harness: Harness) -> None:
    # Before, it was "released" of the used-up authorization and nothing was refunded: the
    # customer had paid for a unit never sent.
    order_id, handle, _ = await _reship_short_picked(harness)

    cancel = CancelLine(sku="TSHIRT", quantity=1, reason="do not send it", by="support-1")
    view = await handle.execute_update(OrderWorkflow.cancel_line, cancel)

    [cancelled] = view.line_cancellations
    assert (cancelled.from_backorder, cancelled.refunded, cancelled.released) == (
        1,
        Decimal("199.00"),
        Decimal("0.00"),
    )
    [refund] = _calls(harness, "refund")
    assert (refund.idempotency_key, refund.amount) == (
        f"{order_id}:line-refund:1",
        Decimal("199.00"),
    )
    assert view.backordered == []
