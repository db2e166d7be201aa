"""``/replenishment``, ``/suppliers`` and reorder policies: low stock and purchase orders.

A replenishment is addressed by its workflow id (``replenish-<wh>-<sku>-<n>``)
or its purchase order id (``PO-<wh>-<sku>-<n>``). Confirmations and receipts
are updates of its workflow, so a rejected one (not waiting for that, more
than is still expected) is an HTTP error and nothing is recorded.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.replenishment import ReplenishmentStarter
from oms.domain.auth import ROLES, Principal
from oms.domain.replenishment import workflow_id_for
from oms.models.common import Page
from oms.models.replenishment import (
    ConfirmPurchaseOrder,
    ReceiveGoods,
    ReorderPolicy,
    ReorderPolicyIn,
    ReplenishmentOptions,
    ReplenishmentSummary,
    ReplenishmentView,
    RetryPurchaseOrder,
    Supplier,
    SupplierIn,
)
from oms.settings import WORKFLOW_QUEUE
from oms.store import replenishment
from oms.store.errors import UnknownSku, UnknownSupplier, UnknownWarehouse
from starters.api.auth import require
from starters.api.deps import (
    Paging,
    State,
    api_error,
    field_error,
    found,
    in_store,
    raise_from_update,
)
from starters.api.kinds import WorkflowKind
from workflows.replenishment import ReplenishmentWorkflow

router = APIRouter(tags=["replenishment"])
Staff = Annotated[Principal, Depends(require(*(r for r in ROLES if r != "buyer")))]
Admin = Annotated[Principal, Depends(require("admin"))]
# Purchasing is operations' job here: reorder policies, supplier confirmations, retries.
Purchasing = Annotated[Principal, Depends(require("ops"))]
Receiving = Annotated[Principal, Depends(require("warehouse"))]
# By workflow id or purchase order id (``workflow_id_for``); only the workflow has the view.
REPLENISHMENTS: WorkflowKind[ReplenishmentView] = WorkflowKind(
    "replenishment", ReplenishmentWorkflow.run, workflow_id_for, ReplenishmentWorkflow.state
)
log = logging.getLogger("oms.api")


# --- suppliers and reorder policies -----------------------------------------------------------


@router.get("/suppliers", response_model=Page[Supplier])
def list_suppliers(state: State, caller: Staff, page: Paging) -> Page[Supplier]:
    """Suppliers by name, a page at a time."""
    with state.db.read() as session:
        return replenishment.list_suppliers(session, page.limit, page.cursor)


@router.put("/suppliers/{supplier_id}", response_model=Supplier)
def put_supplier(supplier_id: str, body: SupplierIn, state: State, caller: Admin) -> Supplier:
    """Create or update a supplier (purchase orders go to its email)."""
    with state.db.session() as session:
        return replenishment.upsert_supplier(session, supplier_id, body)


@router.get("/warehouses/{warehouse_id}/reorder-policies/{sku}", response_model=ReorderPolicy)
def get_policy(warehouse_id: str, sku: str, state: State, caller: Staff) -> ReorderPolicy:
    with state.db.read() as session:
        policy = replenishment.get_policy(session, warehouse_id, sku)
    return found(policy, api_error(404, "NotFound", f"no reorder policy for {sku}"))


@router.put("/warehouses/{warehouse_id}/reorder-policies/{sku}", response_model=ReorderPolicy)
async def put_policy(
    warehouse_id: str, sku: str, body: ReorderPolicyIn, state: State, caller: Purchasing
) -> ReorderPolicy:
    """Set the reorder point and quantity (and optionally the SKU's supplier).

    If the SKU is already at or below the new point, its replenishment starts now.
    """
    try:
        policy = await in_store(
            state, lambda session: replenishment.set_policy(session, warehouse_id, sku, body)
        )
        episode = await in_store(
            state, lambda session: replenishment.open_episode(session, warehouse_id, sku)
        )
    except (UnknownWarehouse, UnknownSku) as err:
        raise api_error(404, type(err).__name__, str(err)) from err
    except UnknownSupplier as err:
        raise field_error(["supplier_id"], str(err), body.supplier_id) from err
    if episode is not None and episode.opened:
        starter = ReplenishmentStarter(
            state.client,
            asyncio.get_running_loop(),
            state.settings.queue(WORKFLOW_QUEUE),
            ReplenishmentOptions.from_settings(state.settings),
        )
        try:
            await starter.start_async(episode)
        except RPCError:  # the daily scan starts it
            log.warning("could not start the replenishment of %s", sku, exc_info=True)
    return policy


# --- replenishments ---------------------------------------------------------------------------


@router.get("/replenishment", response_model=Page[ReplenishmentSummary])
def list_replenishments(
    state: State,
    caller: Staff,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    warehouse_id: str | None = None,
    sku: str | None = None,
) -> Page[ReplenishmentSummary]:
    """Low-stock episodes, newest first, with their purchase order's progress."""
    with state.db.read() as session:
        return replenishment.list_replenishments(
            session, status, warehouse_id, sku, page.limit, page.cursor
        )


@router.get("/replenishment/{reference}", response_model=ReplenishmentView)
async def get_replenishment(reference: str, state: State, caller: Staff) -> ReplenishmentView:
    """One replenishment (by workflow or purchase order id): status, supplier, history."""
    return await REPLENISHMENTS.query(state, reference)


@router.post("/replenishment/{reference}/confirm", response_model=ReplenishmentView)
async def confirm(
    reference: str, body: ConfirmPurchaseOrder, state: State, caller: Purchasing
) -> ReplenishmentView:
    """The supplier confirmed the purchase order (409 when it is not waiting for that).

    Who entered it is the caller's token, never the body.
    """
    body = body.model_copy(update={"by": caller.subject})
    return await _update(state, reference, ReplenishmentWorkflow.confirm, body)


@router.post("/replenishment/{reference}/receipts", response_model=ReplenishmentView)
async def receive(
    reference: str, body: ReceiveGoods, state: State, caller: Receiving
) -> ReplenishmentView:
    """Goods arrived: on-hand stock rises and backorders fill, oldest first.

    422 naming ``quantity`` when it is more than still expected.
    """
    body = body.model_copy(update={"received_by": caller.subject})
    return await _update(state, reference, ReplenishmentWorkflow.receive, body)


@router.post("/replenishment/{reference}/retry", status_code=202)
async def retry(
    reference: str, body: RetryPurchaseOrder, state: State, caller: Purchasing
) -> dict[str, str]:
    """Raise the purchase order again, after linking the SKU to a supplier.

    409 ``Finished`` for an episode that has ended, as every other command answers.
    """
    body = body.model_copy(update={"by": caller.subject})
    await REPLENISHMENTS.query(state, reference)
    handle = REPLENISHMENTS.handle(state, reference)
    try:
        await handle.signal(ReplenishmentWorkflow.retry, body)
    except RPCError as err:
        await REPLENISHMENTS.refused(state, reference, err)
    return {"workflow_id": handle.id, "status": "retrying"}


async def _update(state: State, reference: str, update: Any, body: Any) -> ReplenishmentView:
    handle = REPLENISHMENTS.handle(state, reference)
    try:
        view: ReplenishmentView = await handle.execute_update(update, body)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "OverDelivery":
            raise field_error(["quantity"], cause.message, getattr(body, "quantity", None)) from err
        raise_from_update(err, f"replenishment {reference}")
    except RPCError as err:
        raise_from_update(err, f"replenishment {reference}")
    return view
