"""Changes to a placed order on the time-skipping server: notes, holds, releases, re-routes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from oms import search_attributes as sa
from oms.models.ops import OpsNote, RerouteShipment, ResendNotification
from oms.models.orders import CancelOrder, HoldRequest, OrderNote, OrderStatus
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from oms.views.common import to_the_second
from tests.workflows.harness import Harness, noted, patches, tick
from workflows.order import OrderWorkflow
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


def _id() -> str:
    return f"A-{uuid.uuid4().hex[:6]}"


async def test_a_note_shows_in_the_view_the_history_and_the_ui_details(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    view = await handle.execute_update(
        OrderWorkflow.add_note,
        OrderNote(text="Customer asked for gift wrap", tags=["gift", "vip"], by="support-1"),
    )
    [note] = view.notes
    assert (note.by, note.text, note.tags) == (
        "support-1",
        "Customer asked for gift wrap",
        ["gift", "vip"],
    )
    assert view.history[-1].note == "Note by support-1: Customer asked for gift wrap [gift, vip]"
    assert (view.history[-1].by, view.history[-1].action) == ("support-1", "note")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "Customer asked for gift wrap [gift, vip]" in metadata.current_details

    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    # The order's last read-model write keeps the note.
    assert harness.world.orders[order_id].notes == [note]


async def _until(handle: WorkflowHandle[Any, Any], *statuses: OrderStatus) -> None:
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status in statuses:
            return
        await tick()
    raise AssertionError(f"never {statuses}")


async def _refused(handle: WorkflowHandle[Any, Any], update: Any, body: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, body)
    return str(getattr(info.value.cause, "type", None))


async def test_a_hold_during_authorization_waits_before_allocation_until_released(
    harness: Harness,
) -> None:
    harness.world.authorize_gate = gate = asyncio.Event()
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    while "authorize" not in harness.world.names():
        await tick()

    held = await handle.execute_update(
        OrderWorkflow.hold, HoldRequest(reason="address looks wrong", by="support-1")
    )
    assert held.status == OrderStatus.RECEIVED  # the authorization is still running
    assert held.hold is not None and (held.hold.by, held.hold.reason) == (
        "support-1",
        "address looks wrong",
    )
    assert await _refused(handle, OrderWorkflow.hold, HoldRequest(reason="again")) == "AlreadyHeld"
    gate.set()
    await _until(handle, OrderStatus.ON_HOLD)
    assert "allocate" not in harness.world.names()
    on_hold = (await handle.query(OrderWorkflow.state)).history[-1]
    # A person's reason once (it read "(address looks wrong, by support-1): address ...").
    assert on_hold.note == "On hold before allocation (by support-1): address looks wrong"
    described = await handle.describe()
    attrs = described.typed_search_attributes
    assert attrs.get(sa.STAGE) == "held_for_review"
    assert attrs.get(sa.WAITING_FOR) == "support"
    assert attrs.get(sa.DEADLINE) is not None  # /ops/stuck finds it once the hold is overdue

    released = await handle.execute_update(
        OrderWorkflow.release, HoldRequest(reason="customer confirmed", by="ops-2")
    )
    assert released.hold is None
    await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)
    refused = await _refused(handle, OrderWorkflow.hold, HoldRequest(reason="late", by="s"))
    assert refused == "TooLateToHold"
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED

    view = harness.world.orders[order_id]
    lines = [(h.status, h.action, h.by) for h in view.history]
    assert ("received", "hold", "support-1") in lines
    assert ("on_hold", "hold", "support-1") in lines
    assert ("on_hold", "release", "ops-2") in lines
    statuses = [h.status for h in view.history]
    assert statuses.index("on_hold") < statuses.index("confirmed") < statuses.index("allocated")
    assert view.history[[a for _, a, _ in lines].index("release")].note == (
        "Released by ops-2: customer confirmed (held by support-1: address looks wrong)"
    )


async def test_the_risk_rules_hold_an_order_that_a_cancel_then_ends(harness: Harness) -> None:
    harness.world.risk_findings = ["first order of C-1 totals 398.00 SEK, above 100"]
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    await _until(handle, OrderStatus.ON_HOLD)
    view = await handle.query(OrderWorkflow.state)
    assert view.hold is not None
    assert (view.hold.reason, view.hold.by) == ("risk_review", "risk-rules")
    assert view.hold.findings == harness.world.risk_findings
    assert view.history[-1].note == (
        "On hold before allocation (risk_review, by risk-rules): "
        "first order of C-1 totals 398.00 SEK, above 100"
    )
    [(_, check)] = [c for c in harness.world.calls if c[0] == "review_risk"]
    assert (check.customer_id, check.total, check.ship_country) == ("C-1", view.total, "SE")

    cancelled = await handle.execute_update(
        OrderWorkflow.cancel, CancelOrder(reason="fraud", requested_by="support-1")
    )
    assert cancelled.status == OrderStatus.CANCELLED
    assert (await handle.result()).status == OrderStatus.CANCELLED
    names = harness.world.names()
    assert "allocate" not in names and "void_authorization" in names


async def test_a_subscription_renewal_is_not_held_by_the_risk_rules(harness: Harness) -> None:
    # The OMS places a renewal on what the customer agreed to: it was held as "8 orders
    # from C-42 within an hour" while its subscription read "renewed" with no error.
    harness.world.risk_findings = ["8 orders from C-1 within an hour, above 5"]
    order_id = f"SUB-{_id()}-1"
    renewal = harness.order_input(order_id).model_copy(
        update={"channel": "subscription", "origin": "renewal"}
    )
    handle = await harness.start(renewal)
    await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)
    view = await handle.query(OrderWorkflow.state)
    assert view.hold is None and view.origin == "renewal"
    assert "review_risk" not in harness.world.names()
    assert "order-renewal-unreviewed" in patches(await handle.fetch_history())
    # The customer's own order is still reviewed, and records no renewal marker.
    mine = await harness.start(harness.order_input(_id()))
    await _until(mine, OrderStatus.ON_HOLD)
    assert "review_risk" in harness.world.names()
    assert "order-renewal-unreviewed" not in patches(await mine.fetch_history())
    for h in (handle, mine):
        await h.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_releasing_an_order_nothing_holds_is_refused(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, token="tok_declined"))
    await _until(handle, OrderStatus.ON_HOLD)  # waiting for its payment, not held
    refused = await _refused(handle, OrderWorkflow.release, HoldRequest(reason="go", by="s"))
    assert refused == "NotHeld"
    view = await handle.query(OrderWorkflow.state)
    assert view.hold is None and view.history[-1].action != "release"


async def test_a_reroute_that_finds_no_stock_adds_to_what_the_order_owes_per_sku(
    harness: Harness,
) -> None:
    # One of three units in stock: S1 ships one, two are owed. Re-routing S1 finds none of
    # its unit elsewhere, so the order owes three of the one SKU, not two lines of it.
    harness.world.stock = {"TSHIRT": 1}
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=3))
    for _ in range(200):
        view = await handle.query(OrderWorkflow.state)
        if [s.status for s in view.shipments] == ["picking"]:
            break
        await tick()
    assert [(b.sku, b.quantity) for b in view.backordered] == [("TSHIRT", 2)]
    unknown = RerouteShipment(shipment_id="NOPE-S9", reason="WH-STO flooded", by="ops-1")
    assert await _refused(handle, OrderWorkflow.reroute, unknown) == "UnknownShipment"
    request = unknown.model_copy(update={"shipment_id": f"{order_id}-S1"})
    view = await handle.execute_update(OrderWorkflow.reroute, request)
    assert [(b.sku, b.quantity) for b in view.backordered] == [("TSHIRT", 3)]
    assert [s.status for s in view.shipments] == ["cancelled"]
    # Worded as every other intervention, with its action (runbook.md).
    [rerouted] = [h for h in view.history if h.action == "reroute"]
    assert (rerouted.by, rerouted.note) == (
        "ops:ops-1",
        f"Operations (ops-1): reroute: WH-STO flooded ({order_id}-S1 away from WH-STO)",
    )
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_a_reroute_that_backorders_units_sends_the_backorder_email(
    harness: Harness,
) -> None:
    # Allocated whole; the re-route finds no unit elsewhere, so the order owes both. Before,
    # the customer heard nothing, and a later resend of order_backordered sent it first.
    harness.world.stock = {"TSHIRT": 2}
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    assert (await handle.query(OrderWorkflow.state)).backorder_emailed is False
    resend = ResendNotification(by="ops-1", reason="lost it", notification="order_backordered")
    assert await _refused(handle, OrderWorkflow.resend_notification, resend) == "NotSent"
    request = RerouteShipment(shipment_id=f"{order_id}-S1", reason="WH-STO flooded", by="ops-1")
    view = await handle.execute_update(OrderWorkflow.reroute, request)
    assert view.status == OrderStatus.BACKORDERED
    assert view.backorder_emailed is True
    [email] = [e for e in harness.world.emails if e.template == "order_backordered"]
    assert email.key == f"{order_id}:backordered:reroute:1"
    assert email.context["backordered"] == [{"sku": "TSHIRT", "quantity": 2}]
    assert "order-reroute-backorder-email" in patches(await handle.fetch_history())
    # Sent, so it may be sent again.
    await handle.execute_update(OrderWorkflow.resend_notification, resend)
    assert f"{order_id}:order_backordered:resend:1" in harness.world.email_keys()
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_a_reroute_that_finds_stock_sends_no_backorder_email(harness: Harness) -> None:
    harness.world.stock = {"TSHIRT": 4}
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, qty=2))
    await _until(handle, OrderStatus.PICKING)
    request = RerouteShipment(shipment_id=f"{order_id}-S1", reason="WH-STO flooded", by="ops-1")
    view = await handle.execute_update(OrderWorkflow.reroute, request)
    assert not view.backordered and view.backorder_emailed is False
    assert not [e for e in harness.world.emails if e.template == "order_backordered"]
    # Asked only of a re-route that owes units: this run records no marker.
    assert "order-reroute-backorder-email" not in patches(await handle.fetch_history())
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_an_operators_intervention_reads_the_same_in_the_order_and_its_shipment(
    harness: Harness,
) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    note = OpsNote(by="dev-ops", action="retry_now", reason="carrier back up")
    for target in (handle, ship):
        await target.signal("ops_note", note)
    for target, query in ((handle, OrderWorkflow.state), (ship, ShipmentWorkflow.state)):
        last = await noted(target, query, "retry_now")
        assert (last.note, last.by) == (
            "Operations (dev-ops): retry_now: carrier back up",
            "ops:dev-ops",
        )
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_a_resent_email_is_recorded_as_every_other_intervention(harness: Harness) -> None:
    # The runbook's form, ``Operations (<who>): <action>: <reason>`` with ``action`` set, so
    # a filter on the action finds a resend as it finds a release or a force-cancel.
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)  # confirmed: it was sent
    request = ResendNotification(by="dev-ops", reason="lost it", notification="order_confirmed")
    view = await handle.execute_update(OrderWorkflow.resend_notification, request)
    assert [(h.note, h.by) for h in view.history if h.action == "resend"] == [
        ("Operations (dev-ops): resend: lost it (order_confirmed)", "ops:dev-ops")
    ]
    assert f"{order_id}:order_confirmed:resend:1" in harness.world.email_keys()
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_an_email_the_order_never_sent_is_not_resent(harness: Harness) -> None:
    # Held after a declined card, the order was never confirmed: "Thank you for your
    # order ... getting it ready to ship" must not go out; the on-hold email may.
    declined = _id()
    handle = await harness.start(harness.order_input(declined, token="tok_declined"))
    await _until(handle, OrderStatus.ON_HOLD)

    def resend(notification: Any) -> ResendNotification:
        return ResendNotification(by="dev-ops", reason="lost it", notification=notification)

    for notification in ("order_confirmed", "order_backordered", "order_completed"):
        update = OrderWorkflow.resend_notification
        assert await _refused(handle, update, resend(notification)) == "NotSent"
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(OrderWorkflow.resend_notification, resend("order_confirmed"))
    assert getattr(info.value.cause, "message", None) == (
        "the order never sent order_confirmed: it is sent once it is confirmed"
    )
    view = await handle.execute_update(OrderWorkflow.resend_notification, resend("order_on_hold"))
    assert [h.note for h in view.history if h.action == "resend"] == [
        "Operations (dev-ops): resend: lost it (order_on_hold)"
    ]
    keys = harness.world.email_keys()
    assert f"{declined}:order_on_hold:resend:1" in keys
    assert not [k for k in keys if k.startswith(f"{declined}:order_confirmed")]
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))

    # Held by the risk rules (paid, not yet confirmed): no on-hold email was sent either.
    harness.world.risk_findings = ["first order of C-1 totals 398.00 SEK, above 100"]
    reviewed = _id()
    handle = await harness.start(harness.order_input(reviewed))
    await _until(handle, OrderStatus.ON_HOLD)
    for notification in ("order_on_hold", "order_confirmed"):
        update = OrderWorkflow.resend_notification
        assert await _refused(handle, update, resend(notification)) == "NotSent"
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_the_ui_details_say_by_when_a_step_is_due_and_what_to_do_past_it(
    harness: Harness,
) -> None:
    """An operator who opens the order in the Temporal UI reads the deadline the stuck
    finder uses (OmsDeadline) and the step's declared next step, not only its stage."""
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id, token="tok_declined"))
    await _until(handle, OrderStatus.ON_HOLD)
    described = await handle.describe()
    due = described.typed_search_attributes.get(sa.DEADLINE)
    assert due is not None
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    lines = metadata.current_details.splitlines()
    assert lines[2].startswith("- stage: `awaiting_payment`, waiting for **customer**")
    assert lines[3] == (
        f"- due by {to_the_second(due)}; past it: Payment on hold: POST "
        f"/ops/orders/{order_id}/release-hold, or cancel: POST /ops/orders/{order_id}/cancel"
    )
    await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="t", requested_by="t"))


async def test_a_refused_hold_suggests_only_what_the_order_would_still_accept(
    harness: Harness,
) -> None:
    """Once every parcel has shipped a cancel is refused too: the hold's refusal said
    "cancel it instead" all the same."""
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    await _until(handle, OrderStatus.PICKING)
    with pytest.raises(WorkflowUpdateFailedError) as picking:
        await handle.execute_update(OrderWorkflow.hold, HoldRequest(reason="late", by="s"))
    assert str(picking.value.cause).endswith("cancel it instead")

    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    await _until(handle, OrderStatus.SHIPPED)
    with pytest.raises(WorkflowUpdateFailedError) as shipped:
        await handle.execute_update(OrderWorkflow.hold, HoldRequest(reason="late", by="s"))
    assert getattr(shipped.value.cause, "type", None) == "TooLateToHold"
    assert "cancel it instead" not in str(shipped.value.cause)
    assert str(shipped.value.cause).endswith("open a claim or a return instead")
    await ship.signal(
        ShipmentWorkflow.tracking_event,
        TrackingEvent(tracking_number=f"TN{order_id}-S1", status="delivered"),
    )  # type: ignore[arg-type]
    assert (await handle.result()).status == OrderStatus.COMPLETED
