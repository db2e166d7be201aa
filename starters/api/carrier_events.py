"""``/carrier/events``: the carrier's tracking webhook, authenticated by an HMAC signature.

The carrier signs the raw body with the shared secret ``OMS_CARRIER_WEBHOOK_SECRET``
(``X-Carrier-Signature: sha256=<hex>``); no bearer token is involved, because the
carrier is a machine that holds the secret, not a user with a role.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from oms.domain.auth import SIGNATURE_HEADER, signature_valid
from oms.models.shipments import TrackingEvent
from oms.store import orders
from starters.api.deps import State, in_store, raise_from_update
from workflows.shipment import ShipmentWorkflow, shipment_workflow_id

router = APIRouter(prefix="/carrier", tags=["carrier"])


async def verify_signature(request: Request, state: State) -> None:
    """401 unless the body carries the carrier's valid HMAC SHA-256 signature."""
    body = await request.body()
    header = request.headers.get(SIGNATURE_HEADER)
    if not signature_valid(state.settings.carrier_webhook_secret, body, header):
        raise HTTPException(
            401,
            detail={
                "error": "BadSignature",
                "message": (
                    f"missing or invalid {SIGNATURE_HEADER}: sign the body with HMAC SHA-256 "
                    "and send 'sha256=<hex>'"
                ),
            },
        )


@router.post("/events", status_code=202, dependencies=[Depends(verify_signature)])
async def carrier_event(event: TrackingEvent, state: State) -> dict[str, str]:
    """Forward a signed tracking event to the shipment that owns the tracking number."""

    def owner(session: Session) -> str | None:
        shipment = orders.shipment_by_tracking(session, event.tracking_number)
        if shipment is not None:
            return shipment.shipment_id
        return orders.shipment_id_by_label(session, event.tracking_number)

    shipment_id = await in_store(state, owner)
    if shipment_id is None:
        raise HTTPException(
            404,
            detail={
                "error": "UnknownTrackingNumber",
                "message": f"no shipment has tracking number {event.tracking_number}",
            },
        )
    handle = state.client.get_workflow_handle(shipment_workflow_id(shipment_id))
    try:
        await handle.signal(ShipmentWorkflow.tracking_event, event)
    except RPCError as err:
        raise_from_update(err, f"shipment {shipment_id}")
    return {"shipment_id": shipment_id, "status": "accepted"}
