"""ReplenishmentWorkflow on the time-skipping server: reminder, escalation, partial delivery."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.models.notifications import EmailRequest, EmailResult
from oms.models.ops import OpsNote
from oms.models.replenishment import (
    CloseEpisode,
    CloseResult,
    ConfirmPurchaseOrder,
    GoodsReceiptRequest,
    GoodsReceiptResult,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderRequest,
    ReceiveGoods,
    RecordConfirmation,
    ReplenishmentInput,
    ReplenishmentOptions,
    ReplenishmentStatus,
    ReplenishmentView,
    RetryPurchaseOrder,
    Supplier,
    SupplierMessage,
    SupplierMessageResult,
)
from oms.settings import EMAIL_QUEUE, INVENTORY_QUEUE, WORKFLOW_QUEUE
from tests.workflows.harness import noted, tick
from workflows.replenishment import ReplenishmentWorkflow
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.timeout(120)

SKU = "JACKET-WOOL-M"
WORKFLOW_ID = f"replenish-WH-STO-{SKU}-1"
PO_ID = f"PO-WH-STO-{SKU}-1"


@dataclass
class Purchasing:
    """Same-name fakes of the store, supplier and email activities; they record each call."""

    has_supplier: bool = True
    lead_time_days: int = 3
    ordered: int = 12
    received: int = 0
    supplier_messages: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    confirmations: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)

    def activities(self) -> list[object]:
        def raise_po(req: PurchaseOrderRequest) -> PurchaseOrder:
            if not self.has_supplier:
                raise ApplicationError("SKU has no supplier", type="NoSupplier", non_retryable=True)
            return PurchaseOrder(
                po_id=req.po_id,
                warehouse_id=req.warehouse_id,
                supplier=Supplier(
                    supplier_id="WOOLWORKS",
                    name="Woolworks",
                    email="po@woolworks.example",
                    lead_time_days=self.lead_time_days,
                ),
                lines=[PurchaseOrderLine(sku=req.sku, name="Wool jacket", quantity=self.ordered)],
                created_at=datetime.now(UTC),
                available=0,
                reorder_point=0,
                backordered=2,
            )

        @activity.defn(name="replenishment.purchase_order")
        async def purchase_order(req: PurchaseOrderRequest) -> PurchaseOrder:
            return raise_po(req)

        @activity.defn(name="replenishment.confirm")
        async def confirm(req: RecordConfirmation) -> PurchaseOrder:
            self.confirmations.append(req.by)
            return raise_po(
                PurchaseOrderRequest(po_id=req.po_id, warehouse_id="WH-STO", sku=SKU, n=1)
            )

        @activity.defn(name="replenishment.receive")
        async def receive(req: GoodsReceiptRequest) -> GoodsReceiptResult:
            self.receipts.append(req.key)
            self.received += req.quantity
            return GoodsReceiptResult(
                key=req.key,
                ordered=self.ordered,
                received=self.received,
                on_hand=self.received,
                available=max(self.received - 2, 0),
                filled_orders=["A-1", "A-2"] if len(self.receipts) == 1 else [],
            )

        @activity.defn(name="replenishment.close")
        async def close(req: CloseEpisode) -> CloseResult:
            self.closed.append(req.n)
            return CloseResult(closed=True)

        @activity.defn(name="supplier.send")
        async def send_supplier(msg: SupplierMessage) -> SupplierMessageResult:
            self.supplier_messages.append(msg.key)
            return SupplierMessageResult(key=msg.key, channel="email", already_sent=False)

        @activity.defn(name="email.send")
        async def send_email(req: EmailRequest) -> EmailResult:
            self.emails.append(f"{req.to} {req.template} {req.key}")
            return EmailResult(key=req.key, message_id="<x@oms>", already_sent=False)

        return [purchase_order, confirm, receive, close, send_supplier, send_email]


@dataclass
class Running:
    env: WorkflowEnvironment
    fakes: Purchasing
    prefix: str

    async def start(self) -> WorkflowHandle[ReplenishmentWorkflow, ReplenishmentView]:
        return await self.env.client.start_workflow(
            ReplenishmentWorkflow.run,
            ReplenishmentInput(
                warehouse_id="WH-STO",
                sku=SKU,
                n=1,
                opened_at=datetime.now(UTC),
                available=0,
                reorder_point=0,
                options=ReplenishmentOptions(
                    purchasing_email="purchasing@oms.example",
                    supplier_reminder_s=24 * 3600,
                    task_queue_prefix=self.prefix,
                ),
            ),
            id=WORKFLOW_ID,
            task_queue=self.prefix + WORKFLOW_QUEUE,
        )


@pytest.fixture
async def purchasing(env: WorkflowEnvironment) -> AsyncIterator[Running]:
    fakes = Purchasing()
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    workers = [
        Worker(
            env.client,
            task_queue=prefix + WORKFLOW_QUEUE,
            workflows=[ReplenishmentWorkflow],
            workflow_runner=workflow_runner(),
        ),
        Worker(env.client, task_queue=prefix + INVENTORY_QUEUE, activities=fakes.activities()),
        Worker(env.client, task_queue=prefix + EMAIL_QUEUE, activities=fakes.activities()),
    ]
    for w in workers:
        await w.__aenter__()
    try:
        yield Running(env, fakes, prefix)
    finally:
        for w in workers:
            await w.__aexit__(None, None, None)


async def state_is(
    handle: WorkflowHandle[ReplenishmentWorkflow, ReplenishmentView], status: ReplenishmentStatus
) -> ReplenishmentView:
    for _ in range(200):
        view = await handle.query(ReplenishmentWorkflow.state)
        if view.status == status:
            return view
        await tick()
    raise AssertionError(f"never reached {status}: {view.status}")


async def test_unanswered_order_is_reminded_then_escalated_then_delivered_in_two_parts(
    env: WorkflowEnvironment, purchasing: Running
) -> None:
    handle = await purchasing.start()
    fakes = purchasing.fakes
    await state_is(handle, ReplenishmentStatus.AWAITING_CONFIRMATION)
    assert fakes.supplier_messages == [f"{PO_ID}:purchase-order"]
    assert fakes.emails == [f"purchasing@oms.example low_stock {WORKFLOW_ID}:low-stock"]

    await env.sleep(timedelta(hours=25))  # past the reminder, before the 3-day lead time
    view = await handle.query(ReplenishmentWorkflow.state)
    assert fakes.supplier_messages == [f"{PO_ID}:purchase-order", f"{PO_ID}:reminder"]
    assert view.reminded_at is not None and view.escalated_at is None
    assert len(fakes.emails) == 1

    await env.sleep(timedelta(days=2))  # the lead time has passed
    view = await handle.query(ReplenishmentWorkflow.state)
    assert view.escalated_at is not None
    assert fakes.emails[1:] == [
        f"purchasing@oms.example replenishment_escalation {PO_ID}:escalation"
    ]
    await env.sleep(timedelta(days=5))  # each happens once, however long it stays unanswered
    assert len(fakes.supplier_messages) == 2 and len(fakes.emails) == 2

    view = await handle.execute_update(
        ReplenishmentWorkflow.confirm,
        ConfirmPurchaseOrder(by="Woolworks", supplier_reference="W-9"),
    )
    assert (view.status, view.confirmed_by) == (ReplenishmentStatus.AWAITING_GOODS, "Woolworks")
    assert fakes.confirmations == ["Woolworks"]

    view = await handle.execute_update(ReplenishmentWorkflow.receive, ReceiveGoods(quantity=5))
    assert (view.status, view.received, view.ordered) == (
        ReplenishmentStatus.PARTIALLY_RECEIVED,
        5,
        12,
    )
    assert view.filled_orders == ["A-1", "A-2"]
    assert fakes.closed == []

    await handle.execute_update(ReplenishmentWorkflow.receive, ReceiveGoods(quantity=7))
    result = await handle.result()
    assert (result.status, result.received) == (ReplenishmentStatus.CLOSED, 12)
    assert fakes.receipts == [f"{PO_ID}:receipt:1", f"{PO_ID}:receipt:2"]
    assert fakes.closed == [1]


async def test_a_prompt_confirmation_means_no_reminder_and_no_escalation(
    env: WorkflowEnvironment, purchasing: Running
) -> None:
    handle = await purchasing.start()
    await state_is(handle, ReplenishmentStatus.AWAITING_CONFIRMATION)
    await handle.execute_update(ReplenishmentWorkflow.confirm, ConfirmPurchaseOrder())
    await env.sleep(timedelta(days=10))
    view = await handle.query(ReplenishmentWorkflow.state)
    assert view.status == ReplenishmentStatus.AWAITING_GOODS
    assert purchasing.fakes.supplier_messages == [f"{PO_ID}:purchase-order"]
    assert len(purchasing.fakes.emails) == 1
    await handle.execute_update(ReplenishmentWorkflow.receive, ReceiveGoods(quantity=12))
    assert (await handle.result()).status == ReplenishmentStatus.CLOSED


async def test_goods_arriving_unconfirmed_count_as_the_confirmation(
    purchasing: Running,
) -> None:
    handle = await purchasing.start()
    await state_is(handle, ReplenishmentStatus.AWAITING_CONFIRMATION)
    await handle.execute_update(
        ReplenishmentWorkflow.receive, ReceiveGoods(quantity=12, received_by="Lisa")
    )
    result = await handle.result()
    assert result.status == ReplenishmentStatus.CLOSED
    assert purchasing.fakes.confirmations == ["Lisa"]


async def test_without_a_supplier_the_team_is_told_once_and_a_retry_raises_the_order(
    env: WorkflowEnvironment, purchasing: Running
) -> None:
    purchasing.fakes.has_supplier = False
    handle = await purchasing.start()
    view = await state_is(handle, ReplenishmentStatus.NO_SUPPLIER)
    assert view.po_id == PO_ID
    await env.sleep(timedelta(days=2))
    assert purchasing.fakes.emails == [f"purchasing@oms.example low_stock {WORKFLOW_ID}:low-stock"]
    assert purchasing.fakes.supplier_messages == []

    purchasing.fakes.has_supplier = True
    await handle.signal(ReplenishmentWorkflow.retry, RetryPurchaseOrder(by="Petra"))
    await state_is(handle, ReplenishmentStatus.AWAITING_CONFIRMATION)
    assert purchasing.fakes.supplier_messages == [f"{PO_ID}:purchase-order"]
    assert len(purchasing.fakes.emails) == 1  # the team heard about this episode already


async def test_an_operators_intervention_is_kept_in_the_episodes_history(
    purchasing: Running,
) -> None:
    handle = await purchasing.start()
    await state_is(handle, ReplenishmentStatus.AWAITING_CONFIRMATION)
    await handle.signal(
        ReplenishmentWorkflow.ops_note,
        OpsNote(by="dev-ops", action="retry_now", reason="supplier mail server back"),
    )
    last = await noted(handle, ReplenishmentWorkflow.state, "retry_now")
    assert (last.note, last.by) == (
        "Operations (dev-ops): retry_now: supplier mail server back",
        "ops:dev-ops",
    )
    await handle.execute_update(ReplenishmentWorkflow.receive, ReceiveGoods(quantity=12))
    assert (await handle.result()).status == ReplenishmentStatus.CLOSED


async def test_the_episode_says_when_it_last_changed(
    env: WorkflowEnvironment, purchasing: Running
) -> None:
    # An episode has no read model: its query is where an operator reads updated_at.
    handle = await purchasing.start()
    raised = await state_is(handle, ReplenishmentStatus.AWAITING_CONFIRMATION)
    assert raised.updated_at is not None
    await env.sleep(timedelta(hours=1))
    await handle.execute_update(ReplenishmentWorkflow.confirm, ConfirmPurchaseOrder())
    confirmed = await state_is(handle, ReplenishmentStatus.AWAITING_GOODS)
    assert confirmed.updated_at is not None
    assert confirmed.updated_at >= raised.updated_at + timedelta(hours=1)
