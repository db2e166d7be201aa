"""A parcel whose payment the provider refuses for good after it left the warehouse, on
the time-skipping server: it ships and is delivered, operations are told once with the
provider's reason, the shipment and its order show what was not collected, and the order
completes (docs/statuses.md). A provider that is down is still retried."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from oms.models.orders import OrderInput, OrderStatus, PaymentDetails
from tests.workflows.harness import Harness, patches
from workflows.shipment import CHARGE_REFUSED_PATCH

pytestmark = pytest.mark.timeout(120)


async def test_a_refused_capture_ships_tells_operations_and_the_order_completes(
    harness: Harness,
) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    shipment_id = f"{order_id}-S1"
    handle = await harness.start(harness.order_input(order_id))
    await harness.shipment(shipment_id)  # started once the card was authorized
    # The authorization ran out before the parcel shipped (the card network let it expire).
    [auth] = [a for a in harness.world.authorized if order_id in a]
    harness.world.settled.setdefault(auth, {})["expired"] = harness.world.authorized[auth]

    await harness.deliver(shipment_id)
    assert (await handle.result()).status == OrderStatus.COMPLETED

    world = harness.world
    assert world.names().count("capture") == 1  # refused for good: not retried
    alerts = [e for e in world.emails if e.template == "ops_alert"]
    [alert] = alerts
    assert alert.key == f"{shipment_id}:payment_not_collected"
    assert alert.to == "ops@oms.example"
    assert alert.context["problem"] == (
        f"The payment of SEK 398.00 was not collected for shipment {shipment_id}"
    )
    reason = str(alert.context["detail"])
    assert reason.startswith("capture of 398.00 exceeds the 0.00 left on")
    assert "another way" in str(alert.context["remedy"])
    assert "write it off" in str(alert.context["remedy"])
    assert alert.context["shipped"] is True
    # The customer hears of the parcel as of any other.
    assert world.email_keys() == [
        f"{order_id}:confirmed",
        f"{shipment_id}:payment_not_collected",
        f"{shipment_id}:shipped",
        f"{shipment_id}:delivered",
        f"{order_id}:completed",
    ]

    shipment = world.shipments[shipment_id]
    assert shipment.status == "delivered"
    assert (shipment.captured, shipment.uncollected) == (Decimal("0.00"), Decimal("398.00"))
    assert shipment.capture_error == reason
    notes = [h.note for h in shipment.history]
    assert (
        f"Payment not captured: {reason}; the parcel shipped: collect the payment another way"
        in notes
    )
    assert any(n.startswith("Shipped with") and "398.00 SEK not collected" in n for n in notes)

    order = world.orders[order_id]
    [summary] = order.shipments
    assert (summary.uncollected, summary.capture_error) == (Decimal("398.00"), reason)
    # GET /orders/{id} serves this view: it says so.
    dumped = order.model_dump(mode="json")["shipments"][0]
    assert (dumped["uncollected"], dumped["capture_error"]) == ("398.00", reason)
    assert any("398.00 SEK not collected" in h.note for h in order.history)

    history = await harness.client.get_workflow_handle(f"shipment-{shipment_id}").fetch_history()
    assert CHARGE_REFUSED_PATCH in patches(history)


async def test_a_refused_credit_consumption_ships_and_tells_operations(harness: Harness) -> None:
    inp: OrderInput = harness.order_input(f"A-{uuid.uuid4().hex[:6]}")
    inp.payment = PaymentDetails(method="invoice", po_number="PO-77", company_id="ACME-AB")
    harness.world.refuse_credit = f"order {inp.order_id} has no credit reserved"
    shipment_id = f"{inp.order_id}-S1"
    handle = await harness.start(inp)
    await harness.deliver(shipment_id)
    assert (await handle.result()).status == OrderStatus.COMPLETED

    [alert] = [e for e in harness.world.emails if e.template == "ops_alert"]
    assert alert.context["detail"] == harness.world.refuse_credit
    assert "invoice the company" in str(alert.context["remedy"])
    shipment = harness.world.shipments[shipment_id]
    assert (shipment.captured, shipment.uncollected) == (Decimal("0.00"), Decimal("398.00"))
    assert any(h.note.startswith("Credit not consumed: order ") for h in shipment.history)
    [summary] = harness.world.orders[inp.order_id].shipments
    assert summary.uncollected == Decimal("398.00")


async def test_a_provider_that_is_down_is_retried_until_it_captures(harness: Harness) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    harness.world.capture_unavailable = 2
    handle = await harness.start(harness.order_input(order_id))
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED

    world = harness.world
    assert world.names().count("capture") == 3
    assert not [e for e in world.emails if e.template == "ops_alert"]
    shipment = world.shipments[f"{order_id}-S1"]
    assert shipment.captured == Decimal("398.00")
    assert (shipment.uncollected, shipment.capture_error) == (None, None)
    assert "uncollected" not in world.orders[order_id].model_dump(mode="json")["shipments"][0]
    history = await harness.client.get_workflow_handle(f"shipment-{order_id}-S1").fetch_history()
    assert CHARGE_REFUSED_PATCH not in patches(history)
