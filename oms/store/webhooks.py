"""Webhook endpoints, their deliveries and every attempt; the events feed.

Deliveries are fanned out when an event is written (``oms.store.events``); the relay's
activity takes an endpoint's undelivered events oldest first (:meth:`WebhookStore.due`)
and records each attempt (:meth:`WebhookStore.record_attempt`), which also decides,
with the endpoint's retry schedule, when the next attempt is due or that the delivery
is dead. Replay puts every event since a moment back to pending.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from oms.domain.events import matches
from oms.domain.webhooks import RetrySchedule, new_secret
from oms.models.common import Page
from oms.models.webhooks import (
    DeadDelivery,
    Deliveries,
    DeliveryAttempt,
    Endpoint,
    EndpointCreated,
    EndpointIn,
    Event,
    EventPage,
    SendResult,
)
from oms.store import paging
from oms.store.db import Bound
from oms.store.tables import EventRow, WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def _endpoint(row: WebhookEndpointRow) -> Endpoint:
    return Endpoint.model_validate(row, from_attributes=True)


def create_endpoint(
    session: Session, body: EndpointIn, *, endpoint_id: str | None = None, secret: str | None = None
) -> EndpointCreated:
    """A new endpoint with a fresh ``whsec_`` secret (shown only in this answer)."""
    row = WebhookEndpointRow(
        endpoint_id=endpoint_id or f"ep_{secrets.token_hex(8)}",
        url=body.url,
        events=list(body.events),
        description=body.description,
        secret=secret or new_secret(),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return EndpointCreated(**_endpoint(row).model_dump(), secret=row.secret)


def list_endpoints(
    session: Session, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Endpoint]:
    """Endpoints oldest first. Raises ``InvalidCursor`` for a foreign cursor."""
    keys = [(WebhookEndpointRow.created_at, False), (WebhookEndpointRow.endpoint_id, False)]
    query = select(WebhookEndpointRow)
    return paging.page(session, query, keys, _endpoint, cursor=cursor, limit=limit)


def endpoint_secret(session: Session, endpoint_id: str) -> str | None:
    row = session.get(WebhookEndpointRow, endpoint_id)
    return None if row is None else row.secret


def get_endpoint(session: Session, endpoint_id: str) -> Endpoint | None:
    row = session.get(WebhookEndpointRow, endpoint_id)
    return None if row is None else _endpoint(row)


def delete_endpoint(session: Session, endpoint_id: str) -> bool:
    """Remove the endpoint, its deliveries and attempts; whether it existed."""
    session.execute(delete(WebhookAttemptRow).where(WebhookAttemptRow.endpoint_id == endpoint_id))
    session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id))
    done = session.execute(
        delete(WebhookEndpointRow).where(WebhookEndpointRow.endpoint_id == endpoint_id)
    )
    return bool(getattr(done, "rowcount", 0))


def replay(session: Session, endpoint_id: str, since: datetime) -> int:
    """Every subscribed event written since ``since`` back to pending, a fresh retry
    schedule each (events from before the endpoint existed too); how many."""
    endpoint = session.get(WebhookEndpointRow, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise KeyError(endpoint_id)
    patterns = list(endpoint.events)
    events = session.execute(
        select(EventRow.seq, EventRow.type).where(EventRow.created_at >= since)
    ).tuples()
    wanted = [seq for seq, type_ in events if matches(patterns, type_)]
    if not wanted:
        return 0
    owed = set(
        session.scalars(
            select(WebhookDeliveryRow.event_seq).where(
                WebhookDeliveryRow.endpoint_id == endpoint_id,
                WebhookDeliveryRow.event_seq.in_(wanted),
            )
        )
    )
    session.execute(
        update(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.endpoint_id == endpoint_id,
            WebhookDeliveryRow.event_seq.in_(owed),
        )
        .values(
            status=PENDING,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=None,
            delivered_at=None,
        )
    )
    session.add_all(
        WebhookDeliveryRow(endpoint_id=endpoint_id, event_seq=seq, status=PENDING, attempts=0)
        for seq in wanted
        if seq not in owed
    )
    return len(wanted)


def deliveries(
    session: Session,
    endpoint_id: str,
    limit: int = paging.DEFAULT_LIMIT,
    event_id: str | None = None,
    cursor: str | None = None,
) -> Deliveries:
    """A page of the endpoint's attempts (newest first) and how many events are owed or
    dead. Raises ``InvalidCursor`` for a foreign cursor."""
    query = (
        select(WebhookAttemptRow, EventRow.event_id, EventRow.type)
        .join(EventRow, EventRow.seq == WebhookAttemptRow.event_seq)
        .where(WebhookAttemptRow.endpoint_id == endpoint_id)
        .order_by(WebhookAttemptRow.id.desc())
        .limit(limit + 1)
    )
    if event_id is not None:
        query = query.where(EventRow.event_id == event_id)
    if cursor:
        [before] = paging.decode(cursor, [WebhookAttemptRow.id])
        query = query.where(WebhookAttemptRow.id < before)
    rows = session.execute(query).tuples().all()
    next_cursor = None
    if len(rows) > limit:
        next_cursor = paging.encode([rows[limit - 1][0].id], [WebhookAttemptRow.id])
    attempts = [
        DeliveryAttempt(
            event_id=eid,
            type=type_,
            attempt=row.attempt,
            at=row.at,
            outcome=row.outcome,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            next_retry_at=row.next_retry_at,
        )
        for row, eid, type_ in rows[:limit]
    ]
    counts = dict(
        session.execute(
            select(WebhookDeliveryRow.status, func.count())
            .where(WebhookDeliveryRow.endpoint_id == endpoint_id)
            .group_by(WebhookDeliveryRow.status)
        )
        .tuples()
        .all()
    )
    return Deliveries(
        endpoint_id=endpoint_id,
        pending=counts.get(PENDING, 0),
        dead=counts.get(DEAD, 0),
        attempts=attempts,
        next_cursor=next_cursor,
    )


def dead_deliveries(session: Session, limit: int = 200) -> list[DeadDelivery]:
    """Deliveries given up on, oldest event first, with their last error (``/ops/stuck``)."""
    query = (
        select(WebhookDeliveryRow, WebhookEndpointRow.url, EventRow.event_id, EventRow.type)
        .join(WebhookEndpointRow, WebhookEndpointRow.endpoint_id == WebhookDeliveryRow.endpoint_id)
        .join(EventRow, EventRow.seq == WebhookDeliveryRow.event_seq)
        .where(WebhookDeliveryRow.status == DEAD)
        .order_by(WebhookDeliveryRow.event_seq)
        .limit(limit)
    )
    found = []
    for row, url, eid, type_ in session.execute(query).tuples():
        last = session.scalar(
            select(func.max(WebhookAttemptRow.at)).where(
                WebhookAttemptRow.endpoint_id == row.endpoint_id,
                WebhookAttemptRow.event_seq == row.event_seq,
            )
        )
        found.append(
            DeadDelivery(
                endpoint_id=row.endpoint_id,
                url=url,
                event_id=eid,
                type=type_,
                attempts=row.attempts,
                first_attempt_at=row.first_attempt_at,
                last_attempt_at=last,
                last_status_code=row.last_status_code,
                last_error=row.last_error,
            )
        )
    return found


def feed(session: Session, after: int, limit: int, settle_s: float = 0.0) -> EventPage:
    """Events after sequence ``after``, oldest first, and the cursor to ask with next.

    ``settle_s`` holds back events younger than that: on PostgreSQL a sequence number is
    taken before its transaction commits, so a reader that ran ahead of a slow commit
    would skip it for good.
    """
    query = select(EventRow).where(EventRow.seq > after).order_by(EventRow.seq).limit(limit)
    if settle_s > 0:
        query = query.where(EventRow.created_at < datetime.now(UTC) - timedelta(seconds=settle_s))
    rows = list(session.scalars(query))
    return EventPage(
        events=[Event.model_validate(row.payload) for row in rows],
        next_cursor=str(rows[-1].seq if rows else after),
    )


# --- what the relay's activity uses -----------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One undelivered event of an endpoint, in the order it must go out."""

    seq: int
    event_id: str
    body: dict[str, Any]
    attempts: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Target:
    url: str
    secret: str
    due: list[Due]


@dataclass(frozen=True)
class Recorded:
    outcome: str
    next_attempt_at: datetime | None


def due(session: Session, endpoint_id: str, limit: int) -> Target | None:
    """The endpoint and its first ``limit`` pending deliveries, oldest event first;
    None when the endpoint is gone."""
    endpoint = session.get(WebhookEndpointRow, endpoint_id)
    if endpoint is None:
        return None
    rows = session.execute(
        select(WebhookDeliveryRow, EventRow.event_id, EventRow.payload)
        .join(EventRow, EventRow.seq == WebhookDeliveryRow.event_seq)
        .where(WebhookDeliveryRow.endpoint_id == endpoint_id, WebhookDeliveryRow.status == PENDING)
        .order_by(WebhookDeliveryRow.event_seq)
        .limit(limit)
    ).tuples()
    return Target(
        url=endpoint.url,
        secret=endpoint.secret,
        due=[
            Due(
                seq=row.event_seq,
                event_id=eid,
                body=payload,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
            )
            for row, eid, payload in rows
        ],
    )


def record_attempt(
    session: Session,
    endpoint_id: str,
    seq: int,
    result: SendResult,
    schedule: RetrySchedule,
    now: datetime,
) -> Recorded:
    """Record one attempt; a failure is retried on ``schedule`` or, past it, dead."""
    row = session.get(WebhookDeliveryRow, (endpoint_id, seq), with_for_update=True)
    if row is None:  # the endpoint was removed meanwhile
        return Recorded(outcome=DEAD, next_attempt_at=None)
    row.attempts += 1
    first = row.first_attempt_at or now
    row.first_attempt_at = first
    row.last_status_code, row.last_error = result.status_code, result.error
    retry_at: datetime | None = None
    if result.ok:
        outcome = row.status = DELIVERED
        row.delivered_at, row.next_attempt_at = now, None
    else:
        retry_at = schedule.next_attempt(row.attempts, first, now)
        outcome = "failed" if retry_at is not None else DEAD
        row.status = PENDING if retry_at is not None else DEAD
        row.next_attempt_at = retry_at
    session.add(
        WebhookAttemptRow(
            endpoint_id=endpoint_id,
            event_seq=seq,
            attempt=row.attempts,
            at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            outcome=outcome,
            next_retry_at=retry_at,
        )
    )
    session.flush()
    return Recorded(outcome=outcome, next_attempt_at=retry_at)


class WebhookStore(Bound):
    """The deliveries as the relay's activity reads and records them."""

    def due(self, endpoint_id: str, limit: int = 50) -> Target | None:
        return self._tx(lambda s: due(s, endpoint_id, limit))

    def has_due(self, endpoint_id: str) -> bool:
        """Whether the endpoint is gone or owes anything (the long poll's cheap check)."""

        def work(session: Session) -> bool:
            if session.get(WebhookEndpointRow, endpoint_id) is None:
                return True
            return (
                session.scalar(
                    select(WebhookDeliveryRow.event_seq)
                    .where(
                        WebhookDeliveryRow.endpoint_id == endpoint_id,
                        WebhookDeliveryRow.status == PENDING,
                    )
                    .limit(1)
                )
                is not None
            )

        return self._tx(work)

    def record_attempt(
        self, endpoint_id: str, seq: int, result: SendResult, schedule: RetrySchedule
    ) -> Recorded:
        return self._tx(
            lambda s: record_attempt(s, endpoint_id, seq, result, schedule, datetime.now(UTC))
        )

    def endpoint_ids(self) -> list[str]:
        return self._tx(lambda s: list(s.scalars(select(WebhookEndpointRow.endpoint_id))))
