"""``/carrier/events``: the carrier's tracking webhook."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from temporalio.service import RPCError

from oms.models.shipments import TrackingEvent
from oms.store import orders
from starters.api.deps import State, raise_from_update
from workflows.shipment import ShipmentWorkflow, shipment_workflow_id

router = APIRouter(prefix="/carrier", tags=["carrier"])


@router.post("/events", status_code=202)
async def carrier_event(event: TrackingEvent, state: State) -> dict[str, str]:
    """Forward a tracking event to the shipment that owns the tracking number."""
    with state.db.session() as session:
        shipment = orders.shipment_by_tracking(session, event.tracking_number)
    if shipment is None:
        raise HTTPException(
            404,
            detail={
                "error": "UnknownTrackingNumber",
                "message": f"no shipment has tracking number {event.tracking_number}",
            },
        )
    handle = state.client.get_workflow_handle(shipment_workflow_id(shipment.shipment_id))
    try:
        await handle.signal(ShipmentWorkflow.tracking_event, event)
    except RPCError as err:
        raise_from_update(err, f"shipment {shipment.shipment_id}")
    return {"shipment_id": shipment.shipment_id, "status": "accepted"}
