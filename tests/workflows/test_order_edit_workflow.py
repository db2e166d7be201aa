"""Editing an order before its pick on the time-skipping server: lines, address and speed,
the money it moves, and the race against a pick that starts at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from oms.models.common import Address
from oms.models.order_changes import EditLine, EditOrder
from oms.models.orders import HoldRequest, OrderStatus
from oms.models.shipments import ConfirmPick
from tests.workflows.harness import Harness, tick
from workflows.order import OrderWorkflow
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)

MOVED = Address(
    name="Anna Lindqvist", line1="Storgatan 1", postal_code="411 04", city="Göteborg", country="SE"
)


def _id() -> str:
    return f"E-{uuid.uuid4().hex[:6]}"


def _edit(qty: int | None = None, **kw: Any) -> EditOrder:
    lines = [EditLine(sku="TSHIRT", quantity=qty)] if qty is not None else []
    return EditOrder(lines=lines, reason=kw.pop("reason", "customer asked"), by="support-1", **kw)


async def _until(handle: WorkflowHandle[Any, Any], *statuses: OrderStatus) -> None:
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status in statuses:
            return
        await tick()
    raise AssertionError(f"never {statuses}")


async def _refused(handle: WorkflowHandle[Any, Any], body: EditOrder) -> tuple[str, str]:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(OrderWorkflow.edit, body)
    cause = info.value.cause
    return str(getattr(cause, "type", None)), str(cause)


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


async def test_quantity_address_and_speed_change_before_the_pick(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    [first_auth] = _calls(harness, "authorize")

    view = await handle.execute_update(
        OrderWorkflow.edit, _edit(3, ship_to=MOVED, shipping_speed="express", reason="moved")
    )
    assert [(ln.sku, ln.quantity) for ln in view.lines] == [("TSHIRT", 3)]
    assert (view.total, view.ship_to, view.shipping_speed) == (Decimal("597.00"), MOVED, "express")
    [edit] = view.edits
    assert edit.changes == [
        "TSHIRT 2 -> 3",
        "ship to Anna Lindqvist, Storgatan 1, 411 04 Göteborg, SE",
        "shipping standard -> express",
    ]
    assert view.history[-1].by == "support-1" and view.history[-1].action == "edit"
    assert view.history[-1].note.startswith("Edited by support-1: TSHIRT 2 -> 3; ship to")
    [_, auth] = _calls(harness, "authorize")
    assert (auth.amount, auth.idempotency_key) == (
        Decimal("597.00"),
        f"{order_id}:edit-authorize:1",
    )
    assert edit.authorization_id == f"AUTH-{auth.idempotency_key}"
    [void] = _calls(harness, "void_authorization")
    assert void.authorization_id == f"AUTH-{first_auth.idempotency_key}" and void.amount is None
    [realloc] = _calls(harness, "reallocate")
    assert (realloc.key, realloc.postal_code, realloc.first_shipment_no) == (
        f"{order_id}:edit:1",
        "411 04",
        2,
    )
    assert [(s.shipment_id, s.status) for s in view.shipments] == [
        (f"{order_id}-S1", "cancelled"),
        (f"{order_id}-S2", "picking"),
    ]
    changed = [e for e in harness.world.emails if e.template == "order_changed"]
    assert [e.key for e in changed] == [f"{order_id}:changed:1"]
    assert changed[0].context["changes"] == edit.changes

    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    [label] = _calls(harness, "buy_label")
    assert (label.ship_to, label.service) == (MOVED, "express")
    [capture] = _calls(harness, "capture")
    assert (capture.amount, capture.authorization_id) == (Decimal("597.00"), edit.authorization_id)


async def test_a_lowered_total_releases_the_difference(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _until(handle, OrderStatus.PICKING)
    view = await handle.execute_update(OrderWorkflow.edit, _edit(1))
    assert view.total == Decimal("199.00") and view.edits[0].released == Decimal("398.00")
    assert len(_calls(harness, "authorize")) == 1
    [void] = _calls(harness, "void_authorization")
    assert (void.amount, void.idempotency_key) == (Decimal("398.00"), f"{order_id}:edit-release:1")
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("199.00")]


async def test_a_declined_raise_leaves_the_order_and_its_pick_as_they_were(
    harness: Harness,
) -> None:
    harness.world.decline_over = Decimal("500.00")
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    before = await handle.query(OrderWorkflow.state)
    kind, message = await _refused(handle, _edit(3, ship_to=MOVED))
    assert kind == "PaymentDeclined" and "the order is unchanged" in message
    after = await handle.query(OrderWorkflow.state)
    assert (after.lines, after.ship_to, after.total, after.history, after.edits) == (
        before.lines,
        before.ship_to,
        before.total,
        before.history,
        [],
    )
    assert _calls(harness, "reallocate") == [] and _calls(harness, "void_authorization") == []
    # The shipment is thawed (the signal may still be on its way): the warehouse picks it.
    ship = await harness.shipment(f"{order_id}-S1")
    for _ in range(100):
        try:
            picked = await ship.execute_update(
                ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="L")
            )
            break
        except WorkflowUpdateFailedError as err:
            assert getattr(err.cause, "type", None) == "EditInProgress"
            await tick()
    assert picked.picked_by == "L"


async def test_a_pick_that_came_first_makes_the_edit_too_late(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    before = await handle.query(OrderWorkflow.state)
    assert before.shipments[0].status == "picking"  # the order hears of a pick only when it ships

    kind, message = await _refused(handle, _edit(3))
    assert kind == "TooLateToEdit"
    assert f"shipment {order_id}-S1 was picked at WH-STO" in message
    assert "/address" not in message  # the edit gave no address
    after = await handle.query(OrderWorkflow.state)
    assert (after.lines, after.history) == (before.lines, before.history)
    assert len(_calls(harness, "authorize")) == 1 and _calls(harness, "reallocate") == []


async def test_an_edit_that_came_first_holds_the_pick_then_cancels_its_shipment(
    harness: Harness,
) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    harness.world.authorize_gate = gate = asyncio.Event()  # the edit's authorization waits
    editing = asyncio.create_task(handle.execute_update(OrderWorkflow.edit, _edit(3)))
    while len(_calls(harness, "authorize")) < 2:
        await tick()

    ship = await harness.shipment(f"{order_id}-S1")
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    assert getattr(info.value.cause, "type", None) == "EditInProgress"

    gate.set()
    view = await editing
    assert [s.status for s in view.shipments] == ["cancelled", "picking"]
    assert (await ship.result()).status == "cancelled"
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("597.00")]


async def test_a_held_order_is_edited_before_it_is_allocated(harness: Harness) -> None:
    harness.world.risk_findings = ["first order above the threshold"]
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.ON_HOLD)
    view = await handle.execute_update(OrderWorkflow.edit, _edit(ship_to=MOVED))
    assert view.ship_to == MOVED and view.shipments == []
    assert _calls(harness, "reallocate") == [] and _calls(harness, "allocate") == []

    await handle.execute_update(OrderWorkflow.release, HoldRequest(reason="ok", by="ops-1"))
    await _until(handle, OrderStatus.PICKING)
    [allocate] = _calls(harness, "allocate")
    assert allocate.postal_code == "411 04"
    ship = await harness.shipment(f"{order_id}-S1")
    assert (await ship.query(ShipmentWorkflow.state)).ship_to == MOVED


async def test_refusals_name_why_and_change_nothing(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    before = await handle.query(OrderWorkflow.state)
    assert (await _refused(handle, _edit(2)))[0] == "NothingChanged"
    assert (await _refused(handle, _edit(0)))[0] == "WholeOrder"
    socks = EditOrder(lines=[EditLine(sku="SOCKS", quantity=1)], reason="x", by="s")
    assert (await _refused(handle, socks))[0] == "UnknownSku"
    after = await handle.query(OrderWorkflow.state)
    assert after.history == before.history and after.edits == []
    assert len(_calls(harness, "authorize")) == 1
