"""OrderWorkflow and ShipmentWorkflow on the time-skipping test server, with fake activities.

Days of SLA and backorder timers run in milliseconds here; the integration
and end-to-end tests run the same workflows against real systems.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.devserver import register_search_attributes, time_skipping_server
from oms.models.common import Address, Customer
from oms.models.orders import (
    CancelOrder,
    OrderInput,
    OrderLine,
    OrderOptions,
    OrderStatus,
    PaymentDetails,
    RetryPayment,
)
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from oms.settings import ALL_QUEUES, WORKFLOW_QUEUE
from tests.workflows.fakes import World
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow, shipment_workflow_id

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    # One server per test: a rejected update can hold the test server's time-skipping
    # lock for the rest of its life, which would stall every later test's timers.
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server(), data_converter=pydantic_data_converter
    )
    await register_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


class Harness:
    def __init__(self, client: Client, world: World, prefix: str) -> None:
        self.client, self.world, self.prefix = client, world, prefix
        self.started: list[WorkflowHandle[OrderWorkflow, object]] = []

    def order_input(
        self,
        order_id: str,
        *,
        qty: int = 2,
        token: str = "tok_visa",
        pick_sla_s: int = 3600,
        recheck_s: int = 600,
    ) -> OrderInput:
        return OrderInput(
            order_id=order_id,
            channel="web",
            customer=Customer(
                id="C-1", name="Anna Lindqvist", email="anna@example.com", locale="sv"
            ),
            currency="SEK",
            lines=[OrderLine(sku="TSHIRT", quantity=qty, unit_price=Decimal("199.00"))],
            ship_to=Address(
                name="Anna Lindqvist",
                line1="Drottninggatan 53",
                postal_code="111 21",
                city="Stockholm",
                country="SE",
            ),
            payment=PaymentDetails(token=token),
            placed_at=datetime.now(UTC),
            options=OrderOptions(
                pick_sla_s=pick_sla_s,
                backorder_recheck_s=recheck_s,
                hold_timeout_s=3 * 24 * 3600,
                task_queue_prefix=self.prefix,
            ),
        )

    async def start(self, inp: OrderInput) -> WorkflowHandle[OrderWorkflow, object]:
        handle = await self.client.start_workflow(
            OrderWorkflow.run,
            inp,
            id=order_workflow_id(inp.order_id),
            task_queue=self.prefix + WORKFLOW_QUEUE,
        )
        self.started.append(handle)
        return handle

    async def terminate_leftovers(self) -> None:
        """Workflows left waiting with no worker would stall time skipping for later tests."""
        for handle in self.started:
            with contextlib.suppress(Exception):  # already completed: nothing to clean up
                await handle.terminate("test finished")

    async def shipment(self, shipment_id: str) -> WorkflowHandle[ShipmentWorkflow, object]:
        handle = self.client.get_workflow_handle_for(
            ShipmentWorkflow.run, shipment_workflow_id(shipment_id)
        )
        for _ in range(200):
            try:
                await handle.describe()
                return handle
            except Exception:
                await _tick()
        raise AssertionError(f"shipment {shipment_id} never started")

    async def deliver(self, shipment_id: str) -> None:
        ship = await self.shipment(shipment_id)
        await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
        await ship.execute_update(
            ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
        )
        for status in ("in_transit", "out_for_delivery", "delivered"):
            await ship.signal(
                ShipmentWorkflow.tracking_event,
                TrackingEvent(tracking_number=f"TN{shipment_id}", status=status),
            )  # type: ignore[arg-type]


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.05)


@pytest.fixture
async def harness(env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    world = World(stock={"TSHIRT": 10})
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    workers = [
        Worker(
            env.client,
            task_queue=prefix + WORKFLOW_QUEUE,
            workflows=[OrderWorkflow, ShipmentWorkflow],
            workflow_runner=workflow_runner(),
        )
    ]
    workers += [
        Worker(env.client, task_queue=prefix + q, activities=world.activities())
        for q in ALL_QUEUES
        if q != WORKFLOW_QUEUE
    ]
    for w in workers:
        await w.__aenter__()
    harness = Harness(env.client, world, prefix)
    try:
        yield harness
    finally:
        await harness.terminate_leftovers()
        for w in workers:
            await w.__aexit__(None, None, None)


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
        await _tick()
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
        await _tick()
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
        await _tick()
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
        await _tick()
    assert (await ship.query(ShipmentWorkflow.state)).status == "held"
    view = await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="bad address"))
    assert view.status == OrderStatus.CANCELLED
