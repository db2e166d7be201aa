"""``/orders/{order_id}/lines/...``: changes to a placed order's lines (issue 17)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from oms.domain.auth import Principal
from oms.ids import order_workflow_id
from oms.models.order_changes import CancelLine, CancelLineBody
from oms.models.orders import OrderStatus, OrderView
from starters.api.auth import require
from starters.api.deps import State, run_update
from starters.api.orders import load_owned
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/orders", tags=["orders"])
# Who may cancel a whole order may cancel part of it (a buyer: only their own).
LineCanceller = Annotated[Principal, Depends(require("buyer", "support", "ops"))]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.post(
    "/{order_id}/lines/{sku}/cancel",
    response_model=OrderView,
    responses={404: {}, 409: {}, 422: {}},
)
async def cancel_line(
    order_id: str, sku: SkuPath, body: CancelLineBody, state: State, caller: LineCanceller
) -> OrderView:
    """Cancel ``quantity`` units of the order's line of ``sku`` until they ship; the rest of
    the order goes on. Owed (backordered) units go first, then units in shipments that have
    not shipped; their stock is released and the card authorization is lowered by the
    difference. Who (the token) and why are kept in the order's history.

    409 naming why, with nothing changed: ``TooLateToCancelLine`` (fewer units left that
    have not shipped, or the shipment shipped first), ``UnknownLine``, ``WholeOrder``
    (nothing would be left: cancel the order), ``NotAllocated`` (its stock is not
    allocated yet), ``NotCancellable`` / ``Finished`` (the order ended or is cancelling).
    """
    current = await load_owned(state, caller, order_id)  # 404 unknown or another buyer's
    if current.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
        raise HTTPException(
            409,
            detail={"error": "Finished", "message": f"order {order_id} is {current.status}"},
        )
    request = CancelLine(sku=sku, quantity=body.quantity, reason=body.reason, by=caller.subject)
    handle = state.client.get_workflow_handle(order_workflow_id(order_id))
    view: OrderView = await run_update(
        state, handle, OrderWorkflow.cancel_line, request, f"order {order_id}"
    )
    return view
