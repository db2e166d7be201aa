"""A shipment held because the carrier refused its address is corrected by a person and
ships, without cancelling the order, and so is one still picking
(``ShipmentWorkflow.correct_address``).

Before, a refused address held the shipment until the order was cancelled and placed
again: the only way out the shipment listened for was a cancel.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from oms.models.carrier import LabelRequest, RateRequest
from oms.models.common import Address
from oms.models.order_changes import EditOrder
from oms.models.orders import OrderStatus
from oms.models.shipments import (
    ConfirmPack,
    ConfirmPick,
    CorrectAddress,
    Package,
    TrackingEvent,
)
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow
from workflows.shipment import ADDRESS_CORRECTED_PATCH, ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)

SOLNA = Address(
    name="Anna Lindqvist",
    line1="Industrivägen 4",
    postal_code="171 48",
    city="Solna",
    country="SE",
)


async def _held(
    harness: Harness, *, customs: bool = False, unserved: bool = False
) -> tuple[str, WorkflowHandle]:  # type: ignore[type-arg]
    """An order whose one shipment the carrier refused (its postal code, its country, or a
    product's customs data): its id and the shipment's handle, once held."""
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id)
    if customs:
        harness.world.customs_missing.add("TSHIRT")
    elif unserved:
        harness.world.unserved_countries.add(inp.ship_to.country)
    else:
        harness.world.invalid_postcodes.add(inp.ship_to.postal_code)
    await harness.start(inp)
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
    return order_id, ship


def _correction(ship_to: Address = SOLNA) -> CorrectAddress:
    return CorrectAddress(ship_to=ship_to, reason="customer gave the right address", by="ops-1")


async def _refused(ship: WorkflowHandle, request: CorrectAddress) -> str:  # type: ignore[type-arg]
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await ship.execute_update(ShipmentWorkflow.correct_address, request)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return str(cause.type)


async def test_a_corrected_address_relabels_the_held_parcel_and_the_order_ships_there(
    harness: Harness,
) -> None:
    order_id, ship = await _held(harness)
    shipment_id = f"{order_id}-S1"
    view = await ship.execute_update(ShipmentWorkflow.correct_address, _correction())
    assert view.status == "packed" and view.ship_to == SOLNA
    last = view.history[-1]
    assert (last.by, last.action) == ("ops-1", "correct_address")
    assert last.note == "Address corrected by ops-1: customer gave the right address"
    for _ in range(100):
        if (await ship.query(ShipmentWorkflow.state)).status == "shipped":
            break
        await tick()
    assert (await ship.query(ShipmentWorkflow.state)).status == "shipped"
    # Rates and the label asked anew for the corrected address, the label on a new key.
    quotes = [r for n, r in harness.world.calls if n == "quote_rates"]
    labels = [r for n, r in harness.world.calls if n == "buy_label"]
    assert isinstance(quotes[-1], RateRequest) and quotes[-1].ship_to == SOLNA
    assert [lb.idempotency_key for lb in labels if isinstance(lb, LabelRequest)] == [
        f"{shipment_id}:label:2"
    ]
    assert labels[-1].ship_to == SOLNA
    # The order ships there from now on, and says who corrected it.
    order = await harness.client.get_workflow_handle_for(
        OrderWorkflow.run, f"order-{order_id}"
    ).query(OrderWorkflow.state)
    assert order.ship_to == SOLNA
    assert any(
        h.note.startswith(f"{shipment_id}: Address corrected by ops-1") for h in order.history
    )
    for status in ("in_transit", "delivered"):
        await ship.signal(
            ShipmentWorkflow.tracking_event,
            TrackingEvent(tracking_number=f"TN{shipment_id}", status=status),
        )  # type: ignore[arg-type]
    result = await harness.client.get_workflow_handle_for(
        OrderWorkflow.run, f"order-{order_id}"
    ).result()
    assert result.status == OrderStatus.COMPLETED
    history = await ship.fetch_history()
    assert ADDRESS_CORRECTED_PATCH in patches(history)


async def test_a_corrected_address_the_carrier_refuses_again_holds_it_again_with_a_new_alert(
    harness: Harness,
) -> None:
    order_id, ship = await _held(harness)
    shipment_id = f"{order_id}-S1"
    harness.world.invalid_postcodes.add(SOLNA.postal_code)
    await ship.execute_update(ShipmentWorkflow.correct_address, _correction())
    for _ in range(100):
        keys = [e.key for e in harness.world.emails if e.template == "ops_alert"]
        if len(keys) == 2:
            break
        await tick()
    assert keys == [f"{shipment_id}:address_refused", f"{shipment_id}:address_refused:2"]
    assert (await ship.query(ShipmentWorkflow.state)).status == "held"
    # A second correction ships it.
    fixed = SOLNA.model_copy(update={"postal_code": "171 49"})
    assert (
        await ship.execute_update(ShipmentWorkflow.correct_address, _correction(fixed))
    ).status == "packed"


async def test_a_parcel_still_picking_ships_to_the_corrected_address(harness: Harness) -> None:
    """Before, an order with a parcel out (an edit is ``TooLateToEdit``) could not send its
    parcel still picking anywhere else."""
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    shipment_id = f"{order_id}-S1"
    await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(shipment_id)
    view = await ship.execute_update(ShipmentWorkflow.correct_address, _correction())
    assert view.status == "picking" and view.ship_to == SOLNA
    assert view.history[-1].action == "correct_address"
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=500)])
    )
    for _ in range(100):
        if (await ship.query(ShipmentWorkflow.state)).status == "shipped":
            break
        await tick()
    labels = [r for n, r in harness.world.calls if n == "buy_label"]
    assert isinstance(labels[-1], LabelRequest) and labels[-1].ship_to == SOLNA
    assert labels[-1].idempotency_key == f"{shipment_id}:label"  # its first label
    order = await harness.client.get_workflow_handle_for(
        OrderWorkflow.run, f"order-{order_id}"
    ).query(OrderWorkflow.state)
    assert order.ship_to == SOLNA
    # Shipped: too late for this parcel.
    assert await _refused(ship, _correction()) == "AlreadyShipped"


async def test_a_customs_hold_is_not_an_address_to_correct_nor_another_country(
    harness: Harness,
) -> None:
    _, customs_held = await _held(harness, customs=True)
    assert await _refused(customs_held, _correction()) == "NotHeld"
    _, address_held = await _held(harness)
    oslo = SOLNA.model_copy(update={"country": "NO", "postal_code": "0150", "city": "Oslo"})
    assert await _refused(address_held, _correction(oslo)) == "NotSupported"
    # Still held, as it was: a refused correction changes nothing.
    assert (await address_held.query(ShipmentWorkflow.state)).status == "held"


async def test_a_country_the_carrier_does_not_serve_is_advised_a_cancel_not_a_correction(
    harness: Harness,
) -> None:
    # Before, the alert said to correct the address in the same country, and a correction
    # there was accepted and refused by the carrier again.
    order_id, ship = await _held(harness, unserved=True)
    [alert] = [e for e in harness.world.emails if e.template == "ops_alert"]
    assert alert.key == f"{order_id}-S1:address_refused"
    assert alert.context["remedy"].startswith("the carrier does not serve that country")
    assert f"POST /ops/orders/{order_id}/cancel" in alert.context["remedy"]
    assert "/address" not in alert.context["remedy"]
    assert alert.context["detail"].endswith("country SE is not served")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await ship.execute_update(ShipmentWorkflow.correct_address, _correction())
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NotSupported"
    assert "the carrier does not serve SE" in str(cause) and "cancel the order" in str(cause)
    assert (await ship.query(ShipmentWorkflow.state)).status == "held"


async def test_an_address_edit_too_late_for_the_order_says_where_a_parcel_takes_one(
    harness: Harness,
) -> None:
    """Before, the answer offered only a return, a claim or a cancel."""
    order_id = f"A-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())
    edit = EditOrder(ship_to=SOLNA, reason="moved", by="support-1")
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(OrderWorkflow.edit, edit)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TooLateToEdit"
    assert "takes a new address by POST /shipments/{id}/address" in str(cause)
