"""``/carrier/events``: the carrier's tracking webhook, authenticated by its signature.

The carrier signs each event the Standard Webhooks way with the shared secret
``OMS_CARRIER_WEBHOOK_SECRET``: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (HMAC SHA-256 over id, timestamp and body). No bearer token is
involved, because the carrier is a machine that holds the secret, not a user with a role.
An event more than 5 minutes old or ahead is refused, so a captured event cannot be
replayed; an id received before is acknowledged without being applied again for
``OMS_CARRIER_EVENT_IDS_KEPT_S`` (3 days), as the carrier retries an event it thinks
failed under the same id, signed again at the time of the retry.

A scan for a shipment whose workflow has ended (claimed lost, delivered, cancelled) is
kept in the store instead (``oms.store.late_scans``, once per event id) and answered
202 ``recorded_after_end``: before, it was a 409 the carrier dropped, and nobody heard
that a parcel claimed lost had turned up. Nothing is signalled and no workflow changes:
the ended shipment stays as it ended, and ``GET /orders/{id}`` and ``GET /shipments/{id}``
show the scan from the store. A delivery of a parcel claimed lost also emails operations,
through ``OrderEmailWorkflow`` (the workflow that sends one email for an ended workflow)
on the key ``<shipment>:delivered_after_claim``, so a resent or retried scan mails once.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from oms.domain.auth import verified_event_id
from oms.domain.shipping import late_scan_alerts
from oms.models.notifications import EmailRequest, OrderEmailInput
from oms.models.shipments import LateScan, ShipmentView, TrackingEvent
from oms.queues import WORKFLOW_QUEUE
from oms.store import idempotency, late_scans, orders
from oms.views.shipments import late_scan_alert
from starters.api.deps import State, api_error, in_store, read_store
from starters.api.ratelimit import client_address
from starters.api.shipments import SHIPMENTS
from workflows.order_email import OrderEmailWorkflow, order_email_workflow_id
from workflows.shipment import ShipmentWorkflow

RECORDED_AFTER_END = "recorded_after_end"

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
    event id already received is acknowledged and not applied again. An event for a
    shipment whose workflow has ended is kept and answered ``recorded_after_end`` (see
    the module); 404 ``UnknownTrackingNumber`` when no shipment has the number."""

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
    kept = timedelta(seconds=state.settings.carrier_event_ids_kept_s)
    first = await in_store(
        state, lambda session: idempotency.first_receipt(session, message_id, kept)
    )
    if not first:
        return {"shipment_id": shipment_id, "status": "duplicate"}
    try:
        await SHIPMENTS.handle(state, shipment_id).signal(ShipmentWorkflow.tracking_event, event)
    except RPCError as err:
        ended = None
        if err.status == RPCStatusCode.NOT_FOUND:  # closed, or past retention
            try:
                ended = await _after_end(state, shipment_id, message_id, event)
            except Exception:
                await _forget(state, message_id)
                raise
        if ended is not None:
            return ended
        await _forget(state, message_id)
        await SHIPMENTS.refused(state, shipment_id, err)
    return {"shipment_id": shipment_id, "status": "accepted"}


async def _forget(state: State, message_id: str) -> None:
    """Not applied: the carrier's retry of this id must be."""
    await in_store(state, lambda session: idempotency.forget_receipt(session, message_id))


async def _after_end(
    state: State, shipment_id: str, message_id: str, event: TrackingEvent
) -> dict[str, str] | None:
    """Keep ``event`` for the shipment whose workflow Temporal no longer runs, when its
    stored view ended in a terminal status; the answer, or None when it did not (a
    shipment about to start, or a workflow that ended otherwise: answered as before).

    A delivery of a parcel claimed lost starts the operations email (at least once: a
    retry of a kept scan starts it again, and the email's key sends it once)."""

    def stored(session: Session) -> tuple[ShipmentView, bool] | None:
        view = orders.get_shipment(session, shipment_id)
        if view is None or not SHIPMENTS.lifecycle.step(str(view.status)).terminal:
            return None
        order = orders.get_order(session, view.order_id)
        lost = order is not None and any(
            c.shipment_id == shipment_id and c.kind == "lost" for c in order.claims
        )
        return view, lost

    found = await read_store(state, stored)
    if found is None:
        return None
    view, claimed_lost = found
    order_id = view.order_id
    scan = LateScan(
        event_id=message_id,
        shipment_id=shipment_id,
        tracking_number=event.tracking_number,
        status=event.status,
        at=event.at,
        received_at=datetime.now(UTC),
        description=event.description,
        shipment_status=view.status,
        alerted=late_scan_alerts(view.status.value, event.status, claimed_lost),
    )
    kept, _ = await in_store(state, lambda session: late_scans.record(session, scan, order_id))
    if kept.alerted:
        await _alert(state, kept, order_id, view.warehouse_id)
    return {
        "shipment_id": shipment_id,
        "status": RECORDED_AFTER_END,
        "shipment_status": kept.shipment_status.value,
    }


async def _alert(state: State, scan: LateScan, order_id: str, warehouse_id: str) -> None:
    """Start the operations email of a parcel claimed lost that was delivered; not awaited:
    the workflow retries the mailer as every email is retried."""
    key = f"{scan.shipment_id}:delivered_after_claim"
    email = EmailRequest(
        key=key,
        to=state.settings.ops_email,
        template="ops_alert",
        context=late_scan_alert(scan, order_id, warehouse_id),
    )
    # A retried or resent scan finds the email on its way.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await state.client.start_workflow(
            OrderEmailWorkflow.run,
            OrderEmailInput(email=email, task_queue_prefix=state.settings.task_queue_prefix),
            id=order_email_workflow_id(key),
            task_queue=state.settings.queue(WORKFLOW_QUEUE),
            static_summary=f"Alert: shipment {scan.shipment_id} delivered after its claim",
        )
