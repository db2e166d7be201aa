"""An order's status while claims settle its parcels, on the time-skipping server: a claimed
parcel must never make the order read as delivered before its reship (or what the reship
owes) is on record, so no ``order.delivered`` event goes out for parcels still owed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.domain.events import transitions
from oms.models.common import SkuQuantity
from oms.models.ops import RerouteShipment
from oms.models.order_changes import OpenClaim
from oms.models.orders import BackorderWake, OrderStatus
from oms.models.shipments import ConfirmPack, ConfirmPick, Package
from oms.settings import Settings
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow
from workflows.order_claims import CLAIM_STATUS_HELD_PATCH
from workflows.order_fulfil import REROUTE_STATUS_HELD_PATCH
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


async def _status(handle: WorkflowHandle[Any, Any], status: str, **shipments: str) -> None:
    """Wait until the order shows ``status`` and its shipments (``S1="delivered"``) theirs."""
    for _ in range(200):
        view = await handle.query(OrderWorkflow.state)
        known = {s.shipment_id.rsplit("-", 1)[1]: s.status for s in view.shipments}
        if view.status == status and all(known.get(k) == v for k, v in shipments.items()):
            return
        await tick()
    raise AssertionError(f"never {status} with {shipments}: {view.status}, {known}")


async def _one_delivered_one_in_transit(harness: Harness) -> tuple[str, WorkflowHandle[Any, Any]]:
    """An order of two parcels: S1 delivered, S2 shipped (in transit). The order shows
    ``shipped``, one step before ``delivered``."""
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=4))
    await harness.deliver(f"{order_id}-S1")
    await _status(handle, OrderStatus.PARTIALLY_SHIPPED, S1="delivered")
    harness.world.arrived = {"TSHIRT": 2}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    s2 = await harness.shipment(f"{order_id}-S2")
    await s2.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await s2.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    await _status(handle, OrderStatus.SHIPPED, S1="delivered", S2="shipped")
    return order_id, handle


def _claim(shipment_id: str, kind: str) -> OpenClaim:
    return OpenClaim(
        shipment_id=shipment_id,
        kind=kind,  # type: ignore[arg-type]
        resolution="reship",
        reason="customer called",
        by="support-1",
    )


async def _replays_with(handle: WorkflowHandle[Any, Any], patch: str) -> None:
    """The run recorded ``patch`` and its history replays with the current code."""
    history = await handle.fetch_history()
    assert patch in patches(history)
    replayer = Replayer(
        workflows=[OrderWorkflow, ShipmentWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


def _statuses(view: Any) -> list[str]:
    return [h.status for h in view.history]


async def test_two_quick_claims_never_make_the_order_delivered_before_the_reships(
    harness: Harness,
) -> None:
    """The walkthrough's O4: S2 claimed lost while S1 was delivered, then S1 claimed
    damaged, back to back. Before, the lost parcel's claim left only S1 (delivered) active
    for a moment before its reship was started: the order went ``delivered`` (webhook
    ``order.delivered``) and back to ``partially_shipped``."""
    harness.world.stock = {}
    order_id, handle = await _one_delivered_one_in_transit(harness)
    harness.world.stock = {"TSHIRT": 10}  # the reships find stock
    lost, damaged = _claim(f"{order_id}-S2", "lost"), _claim(f"{order_id}-S1", "damaged")
    await asyncio.gather(
        handle.execute_update(OrderWorkflow.open_claim, lost),
        handle.execute_update(OrderWorkflow.open_claim, damaged),
    )
    view = await handle.query(OrderWorkflow.state)
    assert sorted(r for c in view.claims for r in c.reshipped_as) == [
        f"{order_id}-S3",
        f"{order_id}-S4",
    ]
    assert view.status == OrderStatus.PARTIALLY_SHIPPED
    assert OrderStatus.DELIVERED not in _statuses(view)
    # Neither did the read model (whose history makes the webhooks) see one.
    assert not [v for v in harness.world.order_writes if v.status == OrderStatus.DELIVERED]

    await harness.deliver(f"{order_id}-S3")
    await _status(handle, OrderStatus.PARTIALLY_SHIPPED, S3="delivered")
    await harness.deliver(f"{order_id}-S4")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    final = harness.world.orders[order_id]
    events = [t.type for t in transitions("order", None, final.history)]
    assert events.count("order.delivered") == 1
    # Delivered once, after both reships were: the status went forward only.
    statuses = _statuses(final)
    first = statuses.index(OrderStatus.DELIVERED)
    assert statuses[first:] == [OrderStatus.DELIVERED] * (len(statuses) - first - 1) + [
        OrderStatus.COMPLETED
    ]
    await _replays_with(handle, CLAIM_STATUS_HELD_PATCH)


async def test_a_reship_no_warehouse_fills_never_makes_the_order_delivered(
    harness: Harness,
) -> None:
    """The lost parcel's reship finds no stock: its units are owed. Before, the order read
    ``delivered`` from the claim until the owed units were recorded."""
    order_id, handle = await _one_delivered_one_in_transit(harness)
    view = await handle.execute_update(OrderWorkflow.open_claim, _claim(f"{order_id}-S2", "lost"))
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=2)]
    assert view.status == OrderStatus.PARTIALLY_SHIPPED
    assert OrderStatus.DELIVERED not in _statuses(view)
    assert not [v for v in harness.world.order_writes if v.status == OrderStatus.DELIVERED]


async def test_a_reroute_beside_a_delivered_parcel_never_makes_the_order_delivered(
    harness: Harness,
) -> None:
    """The same for a re-route: S1 delivered, S2 still picking is moved. Before, the order
    read ``delivered`` from S2's stop until its replacement (S3) was started."""
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=4))
    await harness.deliver(f"{order_id}-S1")
    await _status(handle, OrderStatus.PARTIALLY_SHIPPED, S1="delivered")
    harness.world.arrived = {"TSHIRT": 2}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await _status(handle, OrderStatus.PARTIALLY_SHIPPED, S1="delivered", S2="picking")
    harness.world.stock = {"TSHIRT": 10}
    request = RerouteShipment(shipment_id=f"{order_id}-S2", reason="WH-STO flooded", by="ops-1")
    view = await handle.execute_update(OrderWorkflow.reroute, request)
    assert {s.shipment_id: s.status for s in view.shipments}[f"{order_id}-S3"] == "picking"
    assert view.status == OrderStatus.PARTIALLY_SHIPPED
    assert OrderStatus.DELIVERED not in _statuses(view)
    assert not [v for v in harness.world.order_writes if v.status == OrderStatus.DELIVERED]
    await _replays_with(handle, REROUTE_STATUS_HELD_PATCH)
