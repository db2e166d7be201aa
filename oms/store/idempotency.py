"""Idempotency that outlives Temporal's retention: ids reserved for good, and the answers
given to a POST's ``Idempotency-Key``.

Temporal rejects a second workflow with a running or recently closed workflow's id, but
forgets it after the namespace's retention; these rows keep the promise for as long as
the store lives. Functions run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.store.db import dialect_insert
from oms.store.tables import IdempotencyKeyRow, ReceivedEventRow, ReservedIdRow, utcnow

# How long an Idempotency-Key's answer is kept (Stripe's 24 hours).
KEY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Reservation:
    """Who holds an id, and the fingerprint of what they asked for (None: derived)."""

    owner: str
    body_hash: str | None
    new: bool


def reserve_id(
    session: Session, kind: str, id_: str, owner: str, body_hash: str | None
) -> Reservation:
    """Take ``id_`` of ``kind`` for good, or answer who took it first (``new`` False).

    One statement for a new id (every POST takes one): ``INSERT ... ON CONFLICT DO
    NOTHING``, then a read only when the id was taken before.
    """
    table = ReservedIdRow.__table__  # a Core insert: the ORM's bulk path costs more than the SQL
    taken = session.scalar(
        dialect_insert(session)(table)
        .values(kind=kind, id=id_, owner=owner, body_hash=body_hash, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "id"])
        .returning(table.c.kind)
    )
    if taken is not None:
        return Reservation(owner=owner, body_hash=body_hash, new=True)
    row = session.get(ReservedIdRow, (kind, id_), populate_existing=True)
    if row is None:  # cannot be: the conflict was on this key, and rows are never deleted
        raise LookupError(f"{kind} {id_}: conflicting id not found")
    return Reservation(owner=row.owner, body_hash=row.body_hash, new=False)


class IdTaken(Exception):
    """An id another object derives from the one being reserved (a quote's order id) is
    held by someone else: raised inside the transaction, so that nothing it took is kept."""

    def __init__(self, kind: str, id_: str, holder: Reservation) -> None:
        super().__init__(f"{kind} {id_} is taken by {holder.owner}")
        self.kind = kind
        self.id = id_
        self.holder = holder


def reserve_with_derived(
    session: Session,
    kind: str,
    id_: str,
    owner: str,
    body_hash: str | None,
    derived: Sequence[tuple[str, str]],
) -> Reservation:
    """:func:`reserve_id`, and with it the ``derived`` ids (kind, id) the object will use,
    each taken for good for it: owner ``<kind> <id_>`` (``quote Q-1``), no body hash (a
    client's reservation always has one, so the pair tells whose it is).

    The derived ids are taken only when ``id_`` is new or held for the same ``body_hash``
    (a resubmission takes them again: they are its own). Raises :class:`IdTaken` when one
    is held by anyone else; run in one transaction, nothing taken here is kept then.
    """
    taken = reserve_id(session, kind, id_, owner, body_hash)
    if taken.new or taken.body_hash == body_hash:
        reserve_derived(session, kind, id_, derived)
    return taken


def reserve_derived(
    session: Session, kind: str, id_: str, derived: Sequence[tuple[str, str]]
) -> None:
    """Take the ``derived`` ids (kind, id) for ``kind`` ``id_`` (owner ``quote Q-1``, no
    body hash), or find them taken for it already. Raises :class:`IdTaken` when one is
    held by anyone else."""
    owner = f"{kind} {id_}"
    for other_kind, other_id in derived:
        held = reserve_id(session, other_kind, other_id, owner, None)
        if held.owner != owner or held.body_hash is not None:
            raise IdTaken(other_kind, other_id, held)


@dataclass(frozen=True)
class KeyState:
    """What a key holds: ``status_code`` None while its first request is being answered."""

    request_hash: str
    status_code: int | None
    response: dict[str, Any] | list[Any] | None


def claim_key(
    session: Session, subject: str, key: str, request_hash: str, now: datetime | None = None
) -> KeyState | None:
    """Claim ``key`` for this caller's request: None when claimed now (answer it, then
    ``record_answer``), else what the key holds. A key older than ``KEY_TTL`` is free again."""
    now = now or utcnow()
    row = session.get(IdempotencyKeyRow, (subject, key))
    if row is not None and row.created_at < now - KEY_TTL:
        session.delete(row)
        session.flush()
        row = None
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyKeyRow(
                        subject=subject, key=key, request_hash=request_hash, created_at=now
                    )
                )
            return None
        except IntegrityError:
            row = session.get(IdempotencyKeyRow, (subject, key), populate_existing=True)
            if row is None:
                raise
    response = row.response.get("body") if row.response is not None else None
    return KeyState(request_hash=row.request_hash, status_code=row.status_code, response=response)


def record_answer(
    session: Session, subject: str, key: str, status_code: int, body: dict[str, Any] | list[Any]
) -> None:
    """Keep the answer given to the key's request, to give it again."""
    row = session.get(IdempotencyKeyRow, (subject, key))
    if row is not None:
        row.status_code = status_code
        row.response = {"body": body}


def release_key(session: Session, subject: str, key: str) -> None:
    """Free a key whose request failed, so that a retry runs it again."""
    session.execute(
        delete(IdempotencyKeyRow).where(
            IdempotencyKeyRow.subject == subject, IdempotencyKeyRow.key == key
        )
    )


def first_receipt(session: Session, message_id: str, keep: timedelta) -> bool:
    """Remember an inbound webhook message id; False when it was received already.

    Ids older than ``keep`` are forgotten: at least the signature's timestamp tolerance
    (an older message is refused anyway), and as long as the sender retries a message
    under its id, each retry signed anew.
    """
    now = utcnow()
    session.execute(delete(ReceivedEventRow).where(ReceivedEventRow.received_at < now - keep))
    if session.get(ReceivedEventRow, message_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ReceivedEventRow(message_id=message_id, received_at=now))
    except IntegrityError:
        return False
    return True


def forget_receipt(session: Session, message_id: str) -> None:
    """Forget a message id whose event could not be applied, so its retry is."""
    session.execute(delete(ReceivedEventRow).where(ReceivedEventRow.message_id == message_id))
