"""Cancelling part of a line on the time-skipping server: owed units first, then units in
parcels that have not shipped, and the race against a parcel that ships."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from oms.models.order_changes import CancelLine, TrimReservation
from oms.models.orders import BackorderWake, OrderStatus
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.order_lines import LINE_CANCEL_EMAIL_PATCH
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


def _id() -> str:
    return f"L-{uuid.uuid4().hex[:6]}"


def _cancel(quantity: int, by: str = "support-1", reason: str = "changed mind") -> CancelLine:
    return CancelLine(sku="TSHIRT", quantity=quantity, reason=reason, by=by)


async def _until(handle: WorkflowHandle[Any, Any], *statuses: OrderStatus) -> None:
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status in statuses:
            return
        await tick()
    raise AssertionError(f"never {statuses}")


async def _refused(handle: WorkflowHandle[Any, Any], body: CancelLine) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(OrderWorkflow.cancel_line, body)
    return str(getattr(info.value.cause, "type", None))


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


async def test_part_of_a_picking_line_leaves_the_parcel_and_the_charge(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _until(handle, OrderStatus.PICKING)

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))
    assert [(ln.sku, ln.quantity) for ln in view.lines] == [("TSHIRT", 2)]
    assert view.total == Decimal("398.00")
    [cancelled] = view.line_cancellations
    assert (cancelled.by, cancelled.reason, cancelled.from_shipments) == (
        "support-1",
        "changed mind",
        {f"{order_id}-S1": 1},
    )
    assert view.history[-1].note == (
        f"Line cancelled by support-1: TSHIRT x1 (1 from {order_id}-S1): changed mind; "
        "total -199.00 SEK, 199.00 SEK of the authorization released"
    )
    assert (view.history[-1].by, view.history[-1].action) == ("support-1", "cancel_line")
    assert view.shipments[0].lines[0].quantity == 2
    assert _calls(harness, "trim") == [
        TrimReservation(order_id=order_id, sku="TSHIRT", keep=2, shipment_id=f"{order_id}-S1")
    ]
    [void] = _calls(harness, "void_authorization")
    assert (void.amount, void.idempotency_key) == (Decimal("199.00"), f"{order_id}:release-line:1")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "Line cancelled by support-1: TSHIRT x1" in metadata.current_details

    ship = await harness.shipment(f"{order_id}-S1")
    parcel = await ship.query(ShipmentWorkflow.state)
    assert [(ln.sku, ln.quantity) for ln in parcel.lines] == [("TSHIRT", 2)]
    assert parcel.history[-1].note == "TSHIRT x1 taken out by support-1: changed mind"

    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]
    assert _calls(harness, "consume")[0].lines[0].quantity == 2


async def test_the_customer_is_told_what_was_cancelled_and_the_new_total(
    mail_harness: Harness,
) -> None:
    harness = mail_harness
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _until(handle, OrderStatus.PICKING)

    await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    assert harness.smtp is not None
    [email] = harness.smtp.messages_for(f"{order_id}:line-cancel:1")
    assert email.to == "anna@example.com"
    assert email.subject == f"En del av din order {order_id} har avbeställts"
    assert f"Vi har avbeställt 1 st TSHIRT från din order {order_id}." in email.text
    # Support's reason is internal (tests/workflows/test_customer_notes_workflow.py).
    assert "changed mind" not in email.text
    assert "  2 st TSHIRT  398,00 SEK\n" in email.text
    assert "Totalt: 398,00 SEK (199,00 SEK mindre än tidigare)" in email.text
    assert LINE_CANCEL_EMAIL_PATCH in patches(await handle.fetch_history())


async def test_each_cancellation_sends_one_email_on_its_own_key(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _until(handle, OrderStatus.PICKING)

    await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))
    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1, reason="too many"))
    # The answer still ends with the cancellation's own history line.
    assert view.history[-1].action == "cancel_line"

    sent = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert [e.key for e in sent] == [f"{order_id}:line-cancel:1", f"{order_id}:line-cancel:2"]
    assert [(e.context["quantity"], e.context["reason"]) for e in sent] == [
        (1, "changed mind"),
        (1, "too many"),
    ]
    assert sent[-1].context["total"] == "199,00 SEK"
    assert [ln["quantity"] for ln in sent[-1].context["lines"]] == [1]


async def test_owed_units_shrink_first(harness: Harness) -> None:
    harness.world.stock = {"TSHIRT": 1}
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _until(handle, OrderStatus.BACKORDERED)

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(2, reason="no wait"))
    assert view.backordered == []
    assert view.line_cancellations[0].from_backorder == 2
    assert view.line_cancellations[0].from_shipments == {}
    assert _calls(harness, "trim") == [TrimReservation(order_id=order_id, sku="TSHIRT", keep=0)]
    assert [v.amount for v in _calls(harness, "void_authorization")] == [Decimal("398.00")]
    await _until(handle, OrderStatus.PICKING)  # nothing owed any more

    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("199.00")]


async def test_a_parcel_left_empty_is_cancelled_and_its_stock_released(harness: Harness) -> None:
    harness.world.stock = {"TSHIRT": 1}
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _until(handle, OrderStatus.BACKORDERED)
    harness.world.arrived = {"TSHIRT": 2}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    s2 = await harness.shipment(f"{order_id}-S2")
    await _until(handle, OrderStatus.PICKING)

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(2))
    assert view.line_cancellations[0].from_shipments == {f"{order_id}-S2": 2}
    assert [r.shipment_id for r in _calls(harness, "release")] == [f"{order_id}-S2"]
    assert _calls(harness, "trim") == []
    assert (await s2.result()).status == "cancelled"

    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_a_cancel_racing_a_parcel_that_ships_is_refused_with_nothing_changed(
    harness: Harness,
) -> None:
    harness.world.label_gate = gate = asyncio.Event()
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    while "buy_label" not in harness.world.names():
        await tick()
    before = await handle.query(OrderWorkflow.state)

    # The order still reads "picking" (the parcel tells it once shipped), so the update is
    # accepted; the parcel, buying its label, refuses to give up its units.
    assert await _refused(handle, _cancel(1)) == "TooLateToCancelLine"
    after = await handle.query(OrderWorkflow.state)
    assert (after.lines, after.total, after.line_cancellations) == (before.lines, before.total, [])
    assert after.history == before.history
    assert _calls(harness, "trim") == [] and _calls(harness, "void_authorization") == []

    gate.set()
    await _until(handle, OrderStatus.SHIPPED)
    # Once the order knows it shipped, the validator refuses before anything is written.
    assert await _refused(handle, _cancel(1)) == "TooLateToCancelLine"
    for status in ("in_transit", "delivered"):
        await ship.signal(
            ShipmentWorkflow.tracking_event,
            TrackingEvent(tracking_number=f"TN{order_id}-S1", status=status),  # type: ignore[arg-type]
        )
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]
    assert _calls(harness, "trim") == [] and _calls(harness, "void_authorization") == []


async def test_refusals_name_why_and_change_nothing(harness: Harness) -> None:
    harness.world.risk_findings = ["first order above the threshold"]
    held_id = _id()
    held = await harness.start(harness.order_input(held_id))
    await _until(held, OrderStatus.ON_HOLD)
    assert await _refused(held, _cancel(1)) == "NotAllocated"

    order_id = _id()
    harness.world.risk_findings = []
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    before = await handle.query(OrderWorkflow.state)
    assert await _refused(handle, _cancel(3)) == "TooManyUnits"
    assert await _refused(handle, _cancel(2)) == "WholeOrder"
    unknown = CancelLine(sku="CAP", quantity=1, reason="x", by="support-1")
    assert await _refused(handle, unknown) == "UnknownLine"
    after = await handle.query(OrderWorkflow.state)
    assert after.history == before.history and after.line_cancellations == []
    assert _calls(harness, "trim") == [] and _calls(harness, "void_authorization") == []


async def test_a_continued_backorder_is_cut_with_keys_that_stay_unique(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    harness.world.stock = {"TSHIRT": 1}
    order_id = _id()
    inp = harness.order_input(order_id, qty=3, recheck_s=24 * 3600, pick_sla_s=400 * 24 * 3600)
    inp.options = inp.options.model_copy(update={"continue_as_new_after_events": 200})
    first = await harness.start(inp)
    await harness.deliver(f"{order_id}-S1")
    latest = harness.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    for _ in range(200):
        if [s.status for s in (await latest.query(OrderWorkflow.state)).shipments] == ["delivered"]:
            break
        await tick()
    await latest.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    await env.sleep(timedelta(days=60))
    history = await latest.fetch_history()
    assert first.result_run_id is not None and history.run_id != first.result_run_id

    # The new run may be cut at once, and its release takes the next key, not the first.
    view = await latest.execute_update(OrderWorkflow.cancel_line, _cancel(1, reason="enough"))
    assert view.backordered == [] and len(view.line_cancellations) == 2
    assert [v.idempotency_key for v in _calls(harness, "void_authorization")] == [
        f"{order_id}:release-line:1",
        f"{order_id}:release-line:2",
    ]
    assert (await latest.result()).status == OrderStatus.COMPLETED
