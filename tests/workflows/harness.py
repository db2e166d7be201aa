"""Shared harness for workflow tests on the time-skipping server, with same-name fakes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.adapters.email_smtp import SmtpMailer
from activities.notifications import EmailActivities
from oms.client import data_converter
from oms.devserver import register_search_attributes, time_skipping_server
from oms.models.common import Address, Customer, HistoryEntry
from oms.models.orders import OrderInput, OrderLine, OrderOptions, PaymentDetails
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from oms.settings import ALL_QUEUES, EMAIL_QUEUE, WORKFLOW_QUEUE, Settings
from oms.store.db import Database
from oms.store.migrate import upgrade
from oms.store.outbox import Outbox
from tests.workflows.fakes import World
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.quote import QuoteWorkflow
from workflows.returns import ReturnWorkflow
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow, shipment_workflow_id

from smtp_fixtures import SmtpRecorder


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    # One server per test: a rejected update can hold the test server's time-skipping
    # lock for the rest of its life, which would stall every later test's timers.
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server(),
        data_converter=data_converter(Settings()),
    )
    await register_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


class Harness:
    def __init__(self, client: Client, world: World, prefix: str) -> None:
        self.client, self.world, self.prefix = client, world, prefix
        self.started: list[WorkflowHandle[Any, Any]] = []
        self.smtp: SmtpRecorder | None = None

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

    def track(self, handle: WorkflowHandle[Any, Any]) -> WorkflowHandle[Any, Any]:
        self.started.append(handle)
        return handle

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
                await tick()
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


def patches(history: WorkflowHistory) -> list[str]:
    """The patch ids a run recorded, in order."""
    ids = []
    for e in history.events:
        marker = e.marker_recorded_event_attributes
        if marker.marker_name == "core_patch":
            for payloads in marker.details.values():
                ids.extend(json.loads(p.data)["id"] for p in payloads.payloads)
    return ids


async def tick() -> None:
    await asyncio.sleep(0.05)


async def noted(handle: WorkflowHandle[Any, Any], query: Any, action: str) -> HistoryEntry:
    """The workflow's last history entry once it is the one ``action`` wrote: a signal is
    applied in a workflow task after the call that sent it returns. Raises AssertionError
    when it never is."""
    for _ in range(200):
        last: HistoryEntry = (await handle.query(query)).history[-1]
        if last.action == action:
            return last
        await tick()
    raise AssertionError(f"no history entry by {action}")


@pytest.fixture
async def harness(env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    async with running_harness(env) as h:
        yield h


@pytest.fixture
async def mail_harness(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Harness]:
    """Fakes everywhere but email: the real email activity, outbox and an SMTP server."""
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    upgrade(url)
    db = Database(url)
    with SmtpRecorder() as smtp:
        mailer = SmtpMailer(smtp.host, smtp.port, "orders@oms.example", timeout=5)
        executor = ThreadPoolExecutor(max_workers=4)
        async with running_harness(env, real_email=(mailer, db, executor)) as h:
            h.smtp = smtp
            yield h
        executor.shutdown(wait=False)
    db.dispose()


@asynccontextmanager
async def running_harness(
    env: WorkflowEnvironment,
    real_email: tuple[SmtpMailer, Database, ThreadPoolExecutor] | None = None,
) -> AsyncIterator[Harness]:
    world = World(stock={"TSHIRT": 10})
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    # The workflow worker runs the read-model writes as local activities.
    local = [
        a
        for a in world.activities()
        if a.__name__
        in ("record_order", "record_shipment", "record_views", "record_quote", "record_return")
    ]
    workers = [
        Worker(
            env.client,
            task_queue=prefix + WORKFLOW_QUEUE,
            workflows=[OrderWorkflow, ShipmentWorkflow, QuoteWorkflow, ReturnWorkflow],
            activities=local,
            workflow_runner=workflow_runner(),
        )
    ]
    for queue in ALL_QUEUES:
        if queue == WORKFLOW_QUEUE:
            continue
        if queue == EMAIL_QUEUE and real_email is not None:
            mailer, db, executor = real_email
            workers.append(
                Worker(
                    env.client,
                    task_queue=prefix + queue,
                    activities=[EmailActivities(mailer, Outbox(db)).send],
                    activity_executor=executor,
                )
            )
        else:
            workers.append(
                Worker(env.client, task_queue=prefix + queue, activities=world.activities())
            )
    for w in workers:
        await w.__aenter__()
    harness = Harness(env.client, world, prefix)
    try:
        yield harness
    finally:
        await harness.terminate_leftovers()
        for w in workers:
            await w.__aexit__(None, None, None)
