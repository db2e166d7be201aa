"""OrderWorkflow and ShipmentWorkflow on the time-skipping test server, with fake activities.

Days of SLA and backorder timers run in milliseconds here; the integration
and end-to-end tests run the same workflows against real systems.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from oms.models.orders import (
    CancelOrder,
    OrderStatus,
    PaymentDetails,
    RetryPayment,
)
from oms.models.shipments import ConfirmPack, ConfirmPick, Package
from tests.workflows.harness import Harness, tick
from workflows.order import OrderWorkflow
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


async def test_order_runs_from_payment_to_completed(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    await harness.deliver(f"{order_id}-S1")
    result = await handle.result()

    assert result.status == OrderStatus.COMPLETED
    names = harness.world.names()
    assert names.index("authorize") < names.index("allocate") < names.index("buy_label")
    assert names.index("consume") < names.index("capture")
    captures = [req for name, req in harness.world.calls if name == "capture"]
    assert [c.amount for c in captures] == [Decimal("398.00")]
    assert captures[0].idempotency_key == f"{order_id}-S1:capture"
    assert harness.world.email_keys() == [
        f"{order_id}:confirmed",
        f"{order_id}-S1:shipped",
        f"{order_id}-S1:delivered",
        f"{order_id}:completed",
    ]
    view = harness.world.orders[order_id]
    statuses = [h.status for h in view.history]
    assert statuses[:3] == ["received", "confirmed", "allocated"]
    assert statuses[-2:] == ["delivered", "completed"]
    assert view.shipments[0].tracking_number == f"TN{order_id}-S1"
    assert harness.world.shipments[f"{order_id}-S1"].picked_by == "Lisa"


async def test_pack_before_pick_is_refused(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await ship.execute_update(
            ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
        )
    assert getattr(info.value.cause, "type", None) == "PackBeforePick"


async def test_late_pick_alerts_operations_once_and_still_ships(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, pick_sla_s=4 * 3600))
    ship = await harness.shipment(f"{order_id}-S1")
    await env.sleep(timedelta(hours=5))
    state = await ship.query(ShipmentWorkflow.state)
    assert state.pick_late is True
    assert harness.world.email_keys().count(f"{order_id}-S1:pick_late") == 1
    ops_mail = next(e for e in harness.world.emails if e.template == "pick_late")
    assert ops_mail.to == "ops@oms.example"
    assert ops_mail.context["sla"] == "4 hours"  # as people say it, not "14400 s"
    assert state.history[-1].note.endswith("within its SLA (4 hours); operations notified")
    order_view = await handle.query(OrderWorkflow.state)
    assert any("Pick late" in h.note for h in order_view.history)
    await env.sleep(timedelta(hours=10))
    assert harness.world.email_keys().count(f"{order_id}-S1:pick_late") == 1
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_backorder_allocates_when_stock_arrives_even_without_a_wake_signal(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    harness.world.stock["TSHIRT"] = 1
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(
        harness.order_input(order_id, qty=3, recheck_s=3600, pick_sla_s=24 * 3600)
    )
    first = await harness.shipment(f"{order_id}-S1")
    state = await handle.query(OrderWorkflow.state)
    assert state.status == OrderStatus.BACKORDERED
    assert [(b.sku, b.quantity) for b in state.backordered] == [("TSHIRT", 2)]
    for _ in range(100):
        if f"{order_id}:backordered" in harness.world.email_keys():
            break
        await tick()
    assert f"{order_id}:backordered" in harness.world.email_keys()

    harness.world.arrived["TSHIRT"] = 2  # the store gave arrived units to this order
    await env.sleep(timedelta(hours=1, minutes=1))
    second = await harness.shipment(f"{order_id}-S2")
    assert second is not None and first is not None
    await harness.deliver(f"{order_id}-S1")
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    claims = [req for name, req in harness.world.calls if name == "claim_backorders"]
    assert claims and claims[-1].first_shipment_no == 2


async def test_cancel_before_shipping_compensates_everything(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())

    view = await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="changed my mind"))

    assert view.status == OrderStatus.CANCELLED
    assert (await handle.result()).status == OrderStatus.CANCELLED
    names = harness.world.names()
    assert "release" in names and "void_authorization" in names
    assert "buy_label" not in names and "capture" not in names
    assert f"{order_id}:cancelled" in harness.world.email_keys()
    assert harness.world.shipments[f"{order_id}-S1"].status == "cancelled"
    final = harness.world.orders[order_id]
    assert final.status == OrderStatus.CANCELLED and final.cancel_reason == "changed my mind"


async def test_cancel_after_shipping_is_refused(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=500)])
    )
    for _ in range(100):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.SHIPPED:
            break
        await tick()
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="too late"))
    assert getattr(info.value.cause, "type", None) == "AlreadyShipped"
    assert "release" not in harness.world.names()


async def test_declined_payment_holds_the_order_until_a_retry(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, token="tok_declined"))
    for _ in range(100):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.ON_HOLD:
            break
        await tick()
    assert (await handle.query(OrderWorkflow.state)).status == OrderStatus.ON_HOLD
    assert "allocate" not in harness.world.names()
    await handle.signal(
        OrderWorkflow.retry_payment, RetryPayment(payment=PaymentDetails(token="tok_visa"))
    )
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert f"{order_id}:on_hold:1" in harness.world.email_keys()


async def test_order_held_too_long_is_cancelled(harness: Harness, env: WorkflowEnvironment) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, token="tok_declined"))
    await env.sleep(timedelta(days=4))
    result = await handle.result()
    assert result.status == OrderStatus.CANCELLED
    assert "allocate" not in harness.world.names()
    assert harness.world.orders[order_id].cancel_reason == "payment not completed in time"
    # The customer's email words the OMS's reason in their language by its code.
    cancelled = {e.key: e for e in harness.world.emails}[f"{order_id}:cancelled"]
    assert cancelled.context["why"] == "payment_not_completed"


async def test_refused_address_holds_the_shipment_until_cancelled(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id)
    harness.world.invalid_postcodes.add(inp.ship_to.postal_code)
    handle = await harness.start(inp)
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=500)])
    )
    for _ in range(100):
        if (await ship.query(ShipmentWorkflow.state)).status == "held":
            break
        await tick()
    assert (await ship.query(ShipmentWorkflow.state)).status == "held"
    view = await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="bad address"))
    assert view.status == OrderStatus.CANCELLED


@pytest.mark.parametrize("hold", ["address", "customs"])
async def test_a_held_shipments_alert_says_what_it_is_held_for_and_what_fixes_it(
    harness: Harness, hold: str
) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id)
    if hold == "address":
        harness.world.invalid_postcodes.add(inp.ship_to.postal_code)
    else:
        harness.world.customs_missing.add("TSHIRT")
    handle = await harness.start(inp)
    shipment_id = f"{order_id}-S1"
    ship = await harness.shipment(shipment_id)
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=500)])
    )
    alerts = []
    for _ in range(100):
        alerts = [e for e in harness.world.emails if e.template == "ops_alert"]
        if alerts:
            break
        await tick()
    [alert] = alerts
    remedy = str(alert.context["remedy"])
    if hold == "customs":
        assert alert.key == f"{shipment_id}:customs_missing"
        assert alert.context["problem"] == f"Customs data is missing for shipment {shipment_id}"
        assert str(alert.context["detail"]).endswith("no HS code or origin for TSHIRT")
        assert "HS code and country of origin" in remedy and "address" not in remedy
    else:
        assert alert.key == f"{shipment_id}:address_refused"
        problem = f"The carrier refused the address of shipment {shipment_id}"
        assert alert.context["problem"] == problem
        assert "address from the customer" in remedy and "HS code" not in remedy
    assert f"/ops/orders/{order_id}/cancel" in remedy
    # The order reads packed (how far its parcels got); its shipment shows held, and why.
    for _ in range(100):
        order = await handle.query(OrderWorkflow.state)
        if [s.status for s in order.shipments] == ["held"]:
            break
        await tick()
    assert [s.status for s in order.shipments] == ["held"]
    assert order.status == OrderStatus.PACKED
    why = "Customs data missing: " if hold == "customs" else "Carrier refused the address: "
    assert f"{shipment_id}: {why}{alert.context['detail']}" in [h.note for h in order.history]
    view = await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="held"))
    assert view.status == OrderStatus.CANCELLED
