"""``/shipments``: the warehouse's pick list, pick and pack confirmations, packing slips and
commercial invoices, and an operator's correction of an address the carrier refused."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oms.domain.auth import Principal
from oms.ids import shipment_workflow_id
from oms.models.common import Page
from oms.models.shipments import (
    ConfirmPack,
    ConfirmPick,
    CorrectAddress,
    ShipmentStatus,
    ShipmentView,
)
from oms.store import labels, late_scans, orders
from starters.api.auth import ORDER_READERS, require
from starters.api.deps import (
    ApiState,
    Paging,
    State,
    api_error,
    field_error,
    found,
    not_found,
)
from starters.api.destinations import check_destination
from starters.api.kinds import WorkflowKind
from workflows.shipment import ShipmentWorkflow

router = APIRouter(prefix="/shipments", tags=["warehouse"])
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
Warehouse = Annotated[Principal, Depends(require("warehouse"))]
Reader = Annotated[Principal, Depends(require("ops", "support", *ORDER_READERS))]
Operator = Annotated[Principal, Depends(require("support", "ops"))]


def _read(session: Session, shipment_id: str) -> ShipmentView | None:
    """The shipment's stored view with the carrier scans that came after its workflow
    ended (``oms.store.late_scans``: not the workflow's to store)."""
    view = orders.get_shipment(session, shipment_id)
    if view is not None:
        late_scans.show_on(view, late_scans.for_shipment(session, shipment_id))
    return view


# Listed before its workflow exists: its order writes it in the task that starts that
# workflow (longer when a worker dies with the task). A pick in that window is a 503 to
# retry, not a 404 that would make a warehouse system drop it (WorkflowKind.gone).
SHIPMENTS: WorkflowKind[ShipmentView] = WorkflowKind(
    "shipment",
    ShipmentWorkflow.run,
    shipment_workflow_id,
    ShipmentWorkflow.state,
    _read,
    listed_before_start=True,
)


def stored_shipment(state: ApiState, shipment_id: str) -> ShipmentView:
    """The shipment as the read model has it; 404 when unknown. Blocking: an async handler
    runs it in a thread."""
    with state.db.read() as session:
        view = _read(session, shipment_id)
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
    return await SHIPMENTS.update_known(state, shipment_id, ShipmentWorkflow.confirm_pick, pick)


@router.post("/{shipment_id}/pack", response_model=ShipmentView)
async def confirm_pack(
    shipment_id: str, body: ConfirmPack, state: State, caller: Warehouse
) -> ShipmentView:
    """The warehouse packed the shipment; 409 before it was picked. Shipping follows."""
    body = body.model_copy(update={"packed_by": caller.subject})
    return await SHIPMENTS.update_known(state, shipment_id, ShipmentWorkflow.confirm_pack, body)


@router.post(
    "/{shipment_id}/address",
    response_model=ShipmentView,
    responses={404: {}, 409: {}, 422: {}},
)
async def correct_address(
    shipment_id: str, body: CorrectAddress, state: State, caller: Operator
) -> ShipmentView:
    """Correct the address of a shipment ``held`` because the carrier refused it, without
    cancelling the order: the parcel stays packed, its label is bought again to ``ship_to``
    (``packed``, then ``shipped``; refused again, it is held again). A shipment still
    ``picking`` ships there when packed (an order with a parcel out can no longer be
    edited). The order ships there from now on; who (the token) and why are kept in both
    histories.

    422 naming every field of ``ship_to`` ``POST /orders`` refuses, or ``ship_to.country``
    for another country than the shipment's (the order was priced for it: cancel and place
    it again); 409 ``AlreadyShipped`` (its label is bought or being bought), ``NotHeld``
    (held for missing customs data), ``NotSupported`` (held because the carrier does not
    serve the country: cancel), ``NotEditableYet`` (the order is being edited: retry),
    ``ShipmentCancelled``.
    """
    shipment = await run_in_threadpool(stored_shipment, state, shipment_id)
    check_destination(body.ship_to, ["ship_to"])
    country = shipment.ship_to.country
    # Another country is the mistake only where an address may change at all: past the
    # label, the workflow's 409 says why no address may (AlreadyShipped, ShipmentCancelled).
    correctable = shipment.status in (ShipmentStatus.PICKING, ShipmentStatus.HELD)
    if body.ship_to.country != country and correctable:
        raise field_error(
            ["ship_to", "country"],
            f"shipment {shipment_id} ({shipment.status}) ships to {country}, where the order "
            f"was priced: its address is corrected within {country} only; cancel the order "
            f"and place it again to ship to {body.ship_to.country}",
            body.ship_to.country,
        )
    view: ShipmentView = await SHIPMENTS.update(
        state, shipment_id, ShipmentWorkflow.correct_address, body, caller
    )
    return view


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
