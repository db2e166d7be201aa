"""The events outbox: business events written in the transaction of the change they report.

The read-model writes (orders, shipments, quotes, returns) call :func:`record_transitions`
with the view they store and the one they replace; the replenishment store calls
:func:`emit` when it opens an episode or raises or fills a purchase order. Each event is
inserted once under its deterministic ``event_id`` and fanned out, in the same
transaction, to a pending delivery for every endpoint that subscribed to its type, so
an event exists if and only if its change committed, and no endpoint can miss it.
``seq`` orders the feed (``GET /events``) and each endpoint's deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from oms.domain.events import event_id, matches, transitions
from oms.store.db import dialect_insert
from oms.store.tables import EventRow, WebhookDeliveryRow, WebhookEndpointRow

_MOMENT = TypeAdapter(datetime)


class _View(Protocol):
    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def iso(moment: datetime) -> str:
    """``moment`` as the JSON of every view renders it."""
    return str(_MOMENT.dump_python(moment, mode="json"))


def emit(
    session: Session, type_: str, object_id: str, key: object, at: datetime, data: dict[str, Any]
) -> bool:
    """Insert event ``type_`` of ``object_id`` (unique by ``key`` there) unless it exists,
    with a pending delivery for each subscribed endpoint; whether it was new."""
    eid = event_id(type_, object_id, key)
    payload = {"id": eid, "type": type_, "timestamp": iso(at), "data": data}
    statement = (
        dialect_insert(session)(EventRow)
        .values(event_id=eid, type=type_, object_id=object_id, payload=payload)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(EventRow.seq)
    )
    seq = session.scalar(statement)
    if seq is None:
        return False
    endpoints = session.execute(select(WebhookEndpointRow.endpoint_id, WebhookEndpointRow.events))
    session.add_all(
        WebhookDeliveryRow(endpoint_id=endpoint_id, event_seq=seq, status="pending", attempts=0)
        for endpoint_id, patterns in endpoints
        if matches(list(patterns), type_)
    )
    return True


def record_transitions(
    session: Session, kind: str, object_id: str, previous: dict[str, Any] | None, view: _View
) -> int:
    """Emit an event for each transition ``view`` adds to ``previous`` (the stored view as
    JSON, None when new); ``data`` is the view as written, with the ``status`` of the
    transition's history entry. Returns how many were new."""
    history = getattr(view, "history", [])
    found = transitions(kind, None if previous is None else previous.get("history", []), history)
    if not found:
        return 0
    data = view.model_dump(mode="json")
    return sum(
        emit(session, t.type, object_id, t.index, t.at, _as_entered(data, t.status)) for t in found
    )


def _as_entered(data: dict[str, Any], status: str) -> dict[str, Any]:
    """``data`` with the status its event entered. One write may record several steps (an
    order delivered and completed in one workflow task): each event's ``data.status`` is its
    own step's, so ``order.delivered`` never says ``completed``."""
    if "status" not in data or data["status"] == status:
        return data
    return {**data, "status": status}
