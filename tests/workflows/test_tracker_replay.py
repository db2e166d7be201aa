"""A shipment whose worker died replays, even when a rejected update rode in its next task.

Found by ``make chaos`` (worker-kill): the warehouse retried a pack whose answer it never
got; the retry reached a fresh worker in the same workflow task as the carrier's rates.
The validator rejected it (nothing of it in history), but the live activation still
checked the workflow's conditions once before applying the rates, and the 0.2 tracker
woke on "a new task" alone and wrote there: the write took the command number a replay
gives the label purchase. Here the same sequence is driven on a real server and the
history is replayed.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from oms.client import data_converter
from oms.models.carrier import RateQuote, RateRequest
from oms.models.common import Address, Customer
from oms.models.shipments import (
    ConfirmPack,
    ConfirmPick,
    Package,
    ShipmentInput,
    ShipmentLine,
    TrackingEvent,
)
from oms.queues import ALL_QUEUES, WORKFLOW_QUEUE
from oms.settings import Settings
from tests.workflows.fakes import WAREHOUSE_ADDRESS, World
from tests.workflows.harness import patches
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow, shipment_workflow_id
from workflows.tracker import WAKE_ON_CHANGE_PATCH

pytestmark = pytest.mark.timeout(120)


def _input(shipment_id: str, prefix: str) -> ShipmentInput:
    customer = Customer(id="C-1", name="Anna Lindqvist", email="anna@example.com")
    return ShipmentInput(
        shipment_id=shipment_id,
        order_id=shipment_id.rsplit("-", 1)[0],
        warehouse_id="WH-STO",
        ship_from=WAREHOUSE_ADDRESS,
        ship_to=Address(
            name="Anna Lindqvist",
            line1="Drottninggatan 53",
            postal_code="111 21",
            city="Stockholm",
            country="SE",
        ),
        lines=[ShipmentLine(sku="TSHIRT", quantity=1, unit_price=Decimal("199.00"))],
        currency="SEK",
        customer=customer,
        authorization_id="auth-1",
        task_queue_prefix=prefix,
        reports="milestones",
    )


def _workflow_worker(client: Client, prefix: str, world: World) -> Worker:
    local = [a for a in world.activities() if a.__name__ == "record_shipment"]
    return Worker(
        client,
        task_queue=prefix + WORKFLOW_QUEUE,
        workflows=[ShipmentWorkflow],
        activities=local,
        workflow_runner=workflow_runner(),
    )


async def test_a_rejected_update_in_the_task_of_an_activity_result_replays(
    dev_server: WorkflowEnvironment,
) -> None:
    client, world = dev_server.client, World()
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    rates_asked, rates_may_answer = asyncio.Event(), asyncio.Event()
    [real_rates] = [a for a in world.activities() if a.__name__ == "quote_rates"]

    @activity.defn(name="carrier.quote_rates")
    async def gated_rates(req: RateRequest) -> RateQuote:
        rates_asked.set()
        await rates_may_answer.wait()
        quote: RateQuote = await real_rates(req)
        return quote

    fakes: list[Any] = [a for a in world.activities() if a.__name__ != "quote_rates"]
    activity_workers = [
        Worker(client, task_queue=prefix + queue, activities=[*fakes, gated_rates])
        for queue in ALL_QUEUES
        if queue != WORKFLOW_QUEUE
    ]
    for w in activity_workers:
        await w.__aenter__()
    shipment_id = f"R-{uuid.uuid4().hex[:6]}-S1"
    try:
        first = _workflow_worker(client, prefix, world)
        async with first:
            handle = await client.start_workflow(
                ShipmentWorkflow.run,
                _input(shipment_id, prefix),
                id=shipment_workflow_id(shipment_id),
                task_queue=prefix + WORKFLOW_QUEUE,
            )
            await handle.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick())
            pack = ConfirmPack(packages=[Package(weight_grams=800)])
            await handle.execute_update(ShipmentWorkflow.confirm_pack, pack)
            await asyncio.wait_for(rates_asked.wait(), 30)
        # No workflow worker now: the retried pack waits on the server, and the rates
        # arrive beside it, so a fresh worker gets both in one workflow task.
        retried = asyncio.create_task(handle.execute_update(ShipmentWorkflow.confirm_pack, pack))
        await asyncio.sleep(0.5)
        rates_may_answer.set()
        await asyncio.sleep(0.5)
        async with _workflow_worker(client, prefix, world):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await asyncio.wait_for(retried, 30)
            assert isinstance(refused.value.cause, ApplicationError)
            assert refused.value.cause.type == "AlreadyPacked"
            for status in ("in_transit", "delivered"):
                await handle.signal(
                    ShipmentWorkflow.tracking_event,
                    TrackingEvent(tracking_number=f"TN{shipment_id}", status=status),
                )  # type: ignore[arg-type]
            view = await asyncio.wait_for(handle.result(), 30)
        assert view.status == "delivered"
    finally:
        for w in activity_workers:
            await w.__aexit__(None, None, None)

    history: WorkflowHistory = await handle.fetch_history()
    assert WAKE_ON_CHANGE_PATCH in patches(history)
    replayer = Replayer(
        workflows=[ShipmentWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    # The label was still bought once, after the rates.
    assert [name for name in world.names() if name in ("quote_rates", "buy_label")] == [
        "quote_rates",
        "buy_label",
    ]
