"""A cancel that comes while an order's first allocation is under way, on the time-skipping
server: the order ends cancelled with its reservation released once, and never reads as
backordered (no ``order.backordered`` event, no backorder email) for units that were in
stock and reserved, nor for units it would have owed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.domain.events import transitions
from oms.models.orders import CancelOrder, HoldRequest, OrderInput, OrderStatus, OrderView
from oms.settings import Settings
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow
from workflows.order_fulfil import CANCEL_DURING_ALLOCATION_PATCH
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)

DAY = 24 * 3600


async def _called(harness: Harness, name: str, times: int = 1) -> None:
    """Wait until the fakes were asked ``name`` ``times`` times."""
    for _ in range(200):
        if harness.world.names().count(name) >= times:
            return
        await tick()
    raise AssertionError(f"{name} never called {times} times: {harness.world.names()}")


async def _cancel_while(handle: WorkflowHandle[Any, Any], gate: asyncio.Event) -> OrderView:
    """Cancel the order while the fake behind ``gate`` holds its answer: the update is
    accepted (the cancel is pending in the workflow), then the answer comes."""
    update = await handle.start_update(
        OrderWorkflow.cancel,
        CancelOrder(reason="changed my mind", requested_by="customer"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    gate.set()
    view: OrderView = await update.result()
    return view


def _assert_cancelled_never_owed(harness: Harness, order_id: str, view: OrderView) -> None:
    assert view.status == OrderStatus.CANCELLED
    final = harness.world.orders[order_id]
    statuses = [h.status for h in final.history]
    assert OrderStatus.BACKORDERED not in statuses, statuses
    assert statuses[-1] == OrderStatus.CANCELLED
    assert final.backordered == []
    # The events the store derives from every history the order wrote.
    events = [t.type for t in transitions("order", None, final.history)]
    assert "order.backordered" not in events and events[-1] == "order.cancelled"
    assert all(w.status != OrderStatus.BACKORDERED for w in harness.world.order_writes)
    keys = harness.world.email_keys()
    assert not [k for k in keys if "backordered" in k], keys
    assert f"{order_id}:cancelled" in keys
    # The reservation released exactly once, the authorization voided, nothing started.
    assert harness.world.names().count("release") == 1
    assert "void_authorization" in harness.world.names()
    assert not harness.world.shipments


async def _replays_with_patch(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    assert patches(history).count(CANCEL_DURING_ALLOCATION_PATCH) == 1
    replayer = Replayer(
        workflows=[OrderWorkflow, ShipmentWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


@pytest.mark.parametrize("in_stock", [10, 1], ids=["all-in-stock", "part-owed"])
async def test_a_cancel_while_the_stock_is_allocated_ends_cancelled_never_backordered(
    harness: Harness, in_stock: int
) -> None:
    harness.world.stock = {"TSHIRT": in_stock}
    harness.world.allocate_gate = gate = asyncio.Event()
    order_id = f"X-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=3))
    await _called(harness, "allocate")

    view = await _cancel_while(handle, gate)

    assert (await handle.result()).status == OrderStatus.CANCELLED
    _assert_cancelled_never_owed(harness, order_id, view)
    # What the allocation decided stays on record, under the status the order had.
    final = harness.world.orders[order_id]
    assert [h.status for h in final.history] == ["received", "confirmed", "confirmed", "cancelled"]
    assert final.history[2].note.startswith("Allocated")
    assert final.history[2].note.endswith("not started: cancelling")
    assert len(final.allocations) == 1
    await _replays_with_patch(handle)


async def test_a_cancel_while_the_first_allocation_authorizes_again_ends_cancelled(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    """Held for review past its authorization's validity, the order re-authorizes before
    its first parcel starts; a cancel that comes meanwhile owes nothing either."""
    harness.world.authorize_gate = gate = asyncio.Event()
    order_id = f"X-{uuid.uuid4().hex[:6]}"
    inp: OrderInput = harness.order_input(order_id, qty=3)
    options = inp.options.model_copy(update={"payment_authorization_valid_s": 2 * DAY})
    handle = await harness.start(inp.model_copy(update={"options": options}))
    await _called(harness, "authorize")
    await handle.execute_update(OrderWorkflow.hold, HoldRequest(reason="check", by="support-1"))
    gate.set()
    await env.sleep(timedelta(days=3))  # on hold for review while the authorization ages
    gate.clear()
    await handle.execute_update(OrderWorkflow.release, HoldRequest(reason="ok", by="ops-2"))
    await _called(harness, "authorize", times=2)  # the re-authorization, held by the gate

    view = await _cancel_while(handle, gate)

    assert (await handle.result()).status == OrderStatus.CANCELLED
    _assert_cancelled_never_owed(harness, order_id, view)
    voided = [r.authorization_id for n, r in harness.world.calls if n == "void_authorization"]
    assert voided == [f"AUTH-{order_id}:authorize:1", f"AUTH-{order_id}:reauth:1"]
    await _replays_with_patch(handle)
