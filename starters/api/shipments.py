"""``/shipments``: the warehouse's pick list, pick and pack confirmations, packing slips and
commercial invoices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from oms.domain import lifecycle
from oms.domain.auth import Principal
from oms.ids import shipment_workflow_id
from oms.models.common import Page
from oms.models.shipments import ConfirmPack, ConfirmPick, ShipmentStatus, ShipmentView
from oms.store import labels, orders
from starters.api.auth import ORDER_READERS, require
from starters.api.deps import ApiState, Paging, State, api_error, found, not_found
from starters.api.kinds import WorkflowKind
from workflows.shipment import ShipmentWorkflow

router = APIRouter(prefix="/shipments", tags=["warehouse"])
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
Warehouse = Annotated[Principal, Depends(require("warehouse"))]
Reader = Annotated[Principal, Depends(require("ops", "support", *ORDER_READERS))]
SHIPMENTS: WorkflowKind[ShipmentView] = WorkflowKind(
    "shipment", ShipmentWorkflow.run, shipment_workflow_id, ShipmentWorkflow.state
)


def stored_shipment(state: ApiState, shipment_id: str) -> ShipmentView:
    """The shipment as the read model has it; 404 when unknown. Blocking: an async handler
    runs it in a thread."""
    with state.db.read() as session:
        view = orders.get_shipment(session, shipment_id)
    return found(view, not_found(f"shipment {shipment_id}"))


@router.get("", response_model=Page[ShipmentView])
def pick_list(
    state: State,
    caller: Reader,
    page: Paging,
    warehouse_id: str | None = None,
    status: ShipmentStatus | None = None,
) -> Page[ShipmentView]:
    """Shipments by warehouse and status, least recently changed first; ``status=picking``
    is the pick list."""
    with state.db.read() as session:
        return orders.list_shipments(
            session,
            warehouse_id=warehouse_id,
            status=status.value if status else None,
            limit=page.limit,
            cursor=page.cursor,
        )


@router.get("/{shipment_id}", response_model=ShipmentView)
def get_shipment(shipment_id: str, state: State, caller: Reader) -> ShipmentView:
    return stored_shipment(state, shipment_id)


@router.post("/{shipment_id}/pick", response_model=ShipmentView)
async def confirm_pick(
    shipment_id: str, state: State, caller: Warehouse, body: ConfirmPick | None = None
) -> ShipmentView:
    """The warehouse confirms every line is picked, or with ``{"lines": [{"sku",
    "quantity"}]}`` only those units (a short pick: the parcel ships them, the order
    backorders or cancels the rest by ``OMS_SHORT_PICK_POLICY``, and only what ships is
    captured). The picker is the token's subject. 422 ``BadPick`` naming the line for a
    SKU the parcel lacks, more units than asked, or nothing picked.
    """
    pick = ConfirmPick(picked_by=caller.subject, lines=body.lines if body else None)
    return await _update_stored(state, shipment_id, ShipmentWorkflow.confirm_pick, pick)


@router.post("/{shipment_id}/pack", response_model=ShipmentView)
async def confirm_pack(
    shipment_id: str, body: ConfirmPack, state: State, caller: Warehouse
) -> ShipmentView:
    """The warehouse packed the shipment; 409 before it was picked. Shipping follows."""
    body = body.model_copy(update={"packed_by": caller.subject})
    return await _update_stored(state, shipment_id, ShipmentWorkflow.confirm_pack, body)


async def _update_stored(
    state: ApiState, shipment_id: str, update: Any, body: BaseModel
) -> ShipmentView:
    """Send a warehouse's ``update`` to a shipment the read model knows (404 otherwise).

    The order writes its new shipment to the read model in the workflow task that starts the
    shipment's workflow, so the shipment can be listed a moment before its workflow exists
    (longer when a worker dies with that task). Temporal's "not found" then means "not
    started yet": 503 ``WorkflowNotReady`` with ``Retry-After``, so a warehouse system retries
    instead of dropping a pick for a shipment it was just shown. A shipment the read model
    has as finished (its lifecycle says terminal) whose workflow is gone (past the
    namespace's retention) is 409 ``Finished``: retrying would never help."""
    stored = await run_in_threadpool(stored_shipment, state, shipment_id)
    try:
        return await SHIPMENTS.update(state, shipment_id, update, body)
    except HTTPException as err:
        if err.status_code != 404:
            raise
        if lifecycle.SHIPMENT.step(stored.status).terminal:
            raise api_error(
                409, "Finished", f"shipment {shipment_id} has already finished ({stored.status})"
            ) from err
        raise api_error(
            503,
            "WorkflowNotReady",
            f"shipment {shipment_id} is being started; try again",
            headers={"Retry-After": "1"},
        ) from err


@router.get("/{shipment_id}/packing-slip", response_class=HTMLResponse)
def packing_slip(shipment_id: str, state: State, caller: Warehouse) -> HTMLResponse:
    """A printable packing slip: what goes in the box and where it goes."""
    view = stored_shipment(state, shipment_id)
    html = _templates.get_template("packing_slip.html.j2").render(shipment=view)
    return HTMLResponse(html)


@router.get(
    "/{shipment_id}/commercial-invoice",
    response_class=HTMLResponse,
    responses={404: {"description": "unknown shipment, or no customs declaration"}},
)
def commercial_invoice(shipment_id: str, state: State, caller: Reader) -> HTMLResponse:
    """The commercial invoice of a parcel leaving the EU customs area (NO, GB, CH, US): the
    customs declaration its label was bought with (HS codes, origin, values, Incoterms).

    404 ``NoCustomsDeclaration`` for a parcel that stays inside the customs area (domestic,
    EU) or has no label yet.
    """
    view = stored_shipment(state, shipment_id)
    with state.db.read() as session:
        customs = labels.customs_of(session, shipment_id)
    if customs is None:
        raise api_error(
            404,
            "NoCustomsDeclaration",
            f"shipment {shipment_id} has no customs declaration (it stays inside "
            "its customs area, or has no label yet)",
        )
    html = _templates.get_template("commercial_invoice.html.j2").render(
        shipment=view, customs=customs
    )
    return HTMLResponse(html)
