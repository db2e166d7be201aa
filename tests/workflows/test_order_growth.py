"""Orders that wait for years or hear hundreds of carrier events: histories stay small.

The attacks: a backorder that never fills re-checked hourly until the history limit
terminated the order, with its authorization and reservations held; each tracking event
carried the whole shipment view to the order. Here a year of waiting (time skipped)
continues as new runs with small histories, and the order still completes (authorizing
again what its lapsed authorization held), or cancels with full compensation; 300
carrier events leave the order's history as it was.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.models.ops import ResendNotification
from oms.models.orders import CancelOrder, OrderInput, OrderStatus, PaymentDetails, RetryPayment
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from oms.settings import Settings
from tests.workflows.harness import Harness, patches, tick
from workflows.order import CONTINUE_AS_NEW_PATCH, OrderWorkflow, order_workflow_id
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"

DAY = 24 * 3600
THRESHOLD = 200


def _waiting_order(harness: Harness, order_id: str, qty: int) -> OrderInput:
    inp = harness.order_input(order_id, qty=qty, recheck_s=DAY, pick_sla_s=400 * DAY)
    options = inp.options.model_copy(update={"continue_as_new_after_events": THRESHOLD})
    return inp.model_copy(update={"options": options})


def _latest(harness: Harness, order_id: str) -> WorkflowHandle[OrderWorkflow, Any]:
    return harness.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))


async def _histories(harness: Harness, order_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """The history of every run of the order, following continue-as-new from the first."""
    found, run_id = [], first_run_id
    while True:
        handle = harness.client.get_workflow_handle(order_workflow_id(order_id), run_id=run_id)
        history = await handle.fetch_history()
        found.append(history)
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return found
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id


async def _runs(harness: Harness, order_id: str, first_run_id: str) -> int:
    return len(await _histories(harness, order_id, first_run_id))


async def test_a_year_long_backorder_continues_as_new_and_completes_when_stock_arrives(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    harness.world.stock["TSHIRT"] = 1
    order_id = f"Y-{uuid.uuid4().hex[:6]}"
    first = await harness.start(_waiting_order(harness, order_id, qty=3))
    await harness.deliver(f"{order_id}-S1")  # what was in stock ships at once
    latest = _latest(harness, order_id)
    for _ in range(200):
        view = await latest.query(OrderWorkflow.state)
        if [s.status for s in view.shipments] == ["delivered"]:
            break
        await tick()
    assert [(b.sku, b.quantity) for b in view.backordered] == [("TSHIRT", 2)]
    waiting = view.status  # S1 delivered, the rest owed

    await env.sleep(timedelta(days=365))

    assert first.result_run_id is not None
    runs = await _runs(harness, order_id, first.result_run_id)
    assert runs >= 5, "a year of daily re-checks never continued as new"
    current = await latest.fetch_history()
    assert len(current.events) < 2 * THRESHOLD, "the current run's history kept growing"
    claims = [req for name, req in harness.world.calls if name == "claim_backorders"]
    assert len(claims) >= 360  # it kept checking, every day, across the runs
    assert len({c.key for c in claims}) == len(claims)  # and no key twice across runs
    view = await latest.query(OrderWorkflow.state)
    assert view.status == waiting  # as it was a year ago
    assert [(b.sku, b.quantity) for b in view.backordered] == [("TSHIRT", 2)]
    assert [s.shipment_id for s in view.shipments] == [f"{order_id}-S1"]
    assert any("continued as a new run" in h.note for h in view.history)
    # Nothing was let go meanwhile: the authorization and the reservations are held.
    names = harness.world.names()
    assert "release" not in names and "void_authorization" not in names
    assert names.count("authorize") == 1

    harness.world.arrived["TSHIRT"] = 2
    await env.sleep(timedelta(days=1, minutes=1))
    await harness.deliver(f"{order_id}-S2")
    assert (await latest.result()).status == OrderStatus.COMPLETED
    captures = [req for name, req in harness.world.calls if name == "capture"]
    assert [c.idempotency_key for c in captures] == [
        f"{order_id}-S1:capture",
        f"{order_id}-S2:capture",
    ]
    # A year-old authorization has lapsed (a week, by default): before the second parcel
    # started, the order voided what it still held and authorized that again, and the parcel
    # is charged on the new one.
    voids = [req for name, req in harness.world.calls if name == "void_authorization"]
    assert [(v.idempotency_key, v.authorization_id) for v in voids] == [
        (f"{order_id}:reauth-void:1", f"AUTH-{order_id}:authorize:1")
    ]
    reauths = [req for name, req in harness.world.calls if name == "authorize"][1:]
    assert [(a.idempotency_key, a.amount) for a in reauths] == [
        (f"{order_id}:reauth:1", Decimal("398.00"))
    ]
    assert [c.authorization_id for c in captures] == [
        f"AUTH-{order_id}:authorize:1",
        f"AUTH-{order_id}:reauth:1",
    ]
    final = harness.world.orders[order_id]
    assert final.status == OrderStatus.COMPLETED
    assert [s.shipment_id for s in final.shipments] == [f"{order_id}-S1", f"{order_id}-S2"]


async def test_a_continued_backorder_cancels_with_everything_released(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    harness.world.stock["TSHIRT"] = 0
    order_id = f"Y-{uuid.uuid4().hex[:6]}"
    first = await harness.start(_waiting_order(harness, order_id, qty=2))
    await env.sleep(timedelta(days=60))
    assert first.result_run_id is not None
    assert await _runs(harness, order_id, first.result_run_id) >= 2

    latest = _latest(harness, order_id)
    view = await latest.execute_update(OrderWorkflow.cancel, CancelOrder(reason="waited enough"))

    assert view.status == OrderStatus.CANCELLED
    assert (await latest.result()).status == OrderStatus.CANCELLED
    voids = [req for name, req in harness.world.calls if name == "void_authorization"]
    assert [v.authorization_id for v in voids] == [f"AUTH-{order_id}:authorize:1"]
    assert "release" in harness.world.names()


async def test_a_continued_order_still_knows_its_payment_was_held(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    # Held for a declined card, retried, then waiting for stock across runs: the on-hold
    # email was sent in the first run, so the last run may still send it again.
    harness.world.stock["TSHIRT"] = 0
    order_id = f"Y-{uuid.uuid4().hex[:6]}"
    inp = _waiting_order(harness, order_id, qty=2)
    first = await harness.start(
        inp.model_copy(update={"payment": PaymentDetails(token="tok_declined")})
    )
    for _ in range(100):
        if (await first.query(OrderWorkflow.state)).status == OrderStatus.ON_HOLD:
            break
        await tick()
    await first.signal(
        OrderWorkflow.retry_payment, RetryPayment(payment=PaymentDetails(token="tok_visa"))
    )
    await env.sleep(timedelta(days=60))
    assert first.result_run_id is not None
    assert await _runs(harness, order_id, first.result_run_id) >= 2

    latest = _latest(harness, order_id)
    resend = ResendNotification(by="dev-ops", reason="lost it", notification="order_on_hold")
    view = await latest.execute_update(OrderWorkflow.resend_notification, resend)
    assert [h.note for h in view.history if h.action == "resend"] == [
        "Operations (dev-ops): resend: lost it (order_on_hold)"
    ]
    await latest.execute_update(OrderWorkflow.cancel, CancelOrder(reason="waited enough"))


async def test_every_run_of_a_continued_order_replays(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    """The first run (it continues as new) and a continued one (it starts from the carried
    state) replay with today's code. ``OMS_RECORD_HISTORIES=1`` saves them to
    tests/histories, where the replay tests keep them replaying after later changes."""
    harness.world.stock["TSHIRT"] = 0
    order_id = f"Y-{uuid.uuid4().hex[:6]}"
    first = await harness.start(_waiting_order(harness, order_id, qty=2))
    await env.sleep(timedelta(days=30))
    latest = _latest(harness, order_id)
    await latest.execute_update(OrderWorkflow.cancel, CancelOrder(reason="waited enough"))
    await latest.result()
    assert first.result_run_id is not None
    runs = await _histories(harness, order_id, first.result_run_id)
    assert len(runs) >= 2
    assert CONTINUE_AS_NEW_PATCH in patches(runs[0])
    replayer = Replayer(
        workflows=[OrderWorkflow, ShipmentWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    for history in (runs[0], runs[-1]):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure
    if os.environ.get("OMS_RECORD_HISTORIES"):
        for name, history in (
            ("order_backorder_continued_holds", runs[0]),
            ("order_backorder_continued_run_wake", runs[-1]),
        ):
            text = json.dumps(json.loads(history.to_json()), indent=1)
            (HISTORIES / f"{name}.json").write_text(text)


async def test_hundreds_of_carrier_events_do_not_grow_the_orders_history(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    """The attack: each tracking event carried the whole shipment view (its history
    included) to the order, so a few hundred replays pushed the order past the limit.
    Shipments tell the order milestones (deltas) only: the order's history stays put."""
    order_id = f"Y-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    latest = _latest(harness, order_id)
    for _ in range(200):
        if (await latest.query(OrderWorkflow.state)).status == OrderStatus.SHIPPED:
            break
        await tick()
    before = len((await handle.fetch_history()).events)
    event = TrackingEvent(tracking_number=f"TN{order_id}-S1", status="in_transit")
    for _ in range(300):
        await ship.signal(ShipmentWorkflow.tracking_event, event)
    for _ in range(400):  # until the shipment has taken every event in
        view = await ship.query(ShipmentWorkflow.state)
        if sum(h.status == "in_transit" for h in view.history) >= 300:
            break
        await tick()
    after = len((await handle.fetch_history()).events)
    # At most the order's own last read-model write settling: nothing per event.
    assert after - before < 10, f"the order's history grew by {after - before} events"
    signals = [
        e
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert [s.workflow_execution_signaled_event_attributes.signal_name for s in signals] == [
        "shipment_milestone"  # shipped: the one milestone of the journey so far
    ]
    for status in ("out_for_delivery", "delivered"):
        await ship.signal(
            ShipmentWorkflow.tracking_event,
            TrackingEvent(tracking_number=f"TN{order_id}-S1", status=status),
        )
    assert (await handle.result()).status == OrderStatus.COMPLETED
