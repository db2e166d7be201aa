"""``/carrier/events``: the carrier's tracking webhook, authenticated by its signature.

The carrier signs each event the Standard Webhooks way with the shared secret
``OMS_CARRIER_WEBHOOK_SECRET``: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (HMAC SHA-256 over id, timestamp and body). No bearer token is
involved, because the carrier is a machine that holds the secret, not a user with a role.
An event more than 5 minutes old or ahead is refused, and an id seen within that window
is acknowledged without being applied again, so a captured event cannot be replayed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from oms.domain.auth import EVENT_TOLERANCE, verified_event_id
from oms.models.shipments import TrackingEvent
from oms.store import idempotency, orders
from starters.api.deps import State, api_error, in_store
from starters.api.ratelimit import client_address
from starters.api.shipments import SHIPMENTS
from workflows.shipment import ShipmentWorkflow

router = APIRouter(prefix="/carrier", tags=["carrier"])


async def verify_signature(request: Request, state: State) -> str:
    """The event's id; 401 unless it carries the carrier's valid, recent signature, 429 for
    an address over its limit of events or of failed signatures."""
    address = client_address(request)
    state.limits.webhook(address)
    state.limits.before_auth(address, None)
    body = await request.body()
    message_id = verified_event_id(state.settings.carrier_webhook_secret, body, request.headers)
    if message_id is None:
        state.limits.auth_failed(address, None)
        raise api_error(
            401,
            "BadSignature",
            (
                "missing, invalid or stale signature: send webhook-id, webhook-timestamp"
                " (within 5 minutes) and webhook-signature (Standard Webhooks, v1)"
            ),
        )
    return message_id


@router.post("/events", status_code=202)
async def carrier_event(
    event: TrackingEvent, state: State, message_id: Annotated[str, Depends(verify_signature)]
) -> dict[str, str]:
    """Forward a signed tracking event to the shipment that owns the tracking number; an
    event id already received is acknowledged and not applied again."""

    def owner(session: Session) -> str | None:
        shipment = orders.shipment_by_tracking(session, event.tracking_number)
        if shipment is not None:
            return shipment.shipment_id
        return orders.shipment_id_by_label(session, event.tracking_number)

    shipment_id = await in_store(state, owner)
    if shipment_id is None:
        raise api_error(
            404, "UnknownTrackingNumber", f"no shipment has tracking number {event.tracking_number}"
        )
    first = await in_store(
        state, lambda session: idempotency.first_receipt(session, message_id, EVENT_TOLERANCE)
    )
    if not first:
        return {"shipment_id": shipment_id, "status": "duplicate"}
    try:
        await SHIPMENTS.handle(state, shipment_id).signal(ShipmentWorkflow.tracking_event, event)
    except RPCError as err:
        # Not applied: the carrier's retry of this id must be.
        await in_store(state, lambda session: idempotency.forget_receipt(session, message_id))
        await SHIPMENTS.refused(state, shipment_id, err)
    return {"shipment_id": shipment_id, "status": "accepted"}
