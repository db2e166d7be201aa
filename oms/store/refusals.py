"""Refusals of the OMS's own callers (table ``caller_refusals``), for ``/ops/stuck``.

The simulated warehouse (or the demo's operator) refused by the API with a 401 or 403
stalls every order it serves, and says so only in its own log. The API records each such
refusal here, one row per caller (counted, first and last time); ``/ops/stuck`` lists the
recent ones, and the caller's next accepted request clears its row. Functions run in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from oms.domain.auth import INTERNAL_CALLERS, dev_principal, split_token
from oms.store.db import get_or_insert
from oms.store.tables import ApiTokenRow, CallerRefusalRow, utcnow


@dataclass(frozen=True)
class Refusal:
    caller: str
    status: int
    method: str
    path: str
    detail: str
    count: int
    first_at: datetime
    last_at: datetime


def internal_caller(session: Session, token: str, dev_tokens_on: bool) -> str | None:
    """Which of the OMS's own callers presented ``token`` (refused with a 401), if any: a
    stored token of one of them (revoked, or with a wrong secret), or a dev token while dev
    tokens are off (how the simulated warehouse used to call)."""
    if not dev_tokens_on and dev_principal(token) is not None:
        return token
    parts = split_token(token)
    if parts is None:
        return None
    row = session.get(ApiTokenRow, parts[0][:32])
    return row.subject if row is not None and row.subject in INTERNAL_CALLERS else None


def record(session: Session, caller: str, status: int, method: str, path: str, detail: str) -> None:
    """Count one refusal of ``caller`` (the latest one's answer is kept)."""
    now = utcnow()
    row, first = get_or_insert(
        session,
        CallerRefusalRow,
        caller,
        lambda: CallerRefusalRow(
            caller=caller,
            status=status,
            method=method[:8],
            path=path[:200],
            detail=detail[:300],
            count=1,
            first_at=now,
            last_at=now,
        ),
    )
    if first:
        return
    row.status, row.method, row.path, row.detail = status, method[:8], path[:200], detail[:300]
    row.count += 1
    row.last_at = now


def clear(session: Session, caller: str) -> None:
    """The caller was accepted again: its refusal is over."""
    session.execute(delete(CallerRefusalRow).where(CallerRefusalRow.caller == caller))


def recent(session: Session, since: datetime) -> list[Refusal]:
    """Refusals whose latest was at or after ``since``, oldest first."""
    rows = session.scalars(
        select(CallerRefusalRow)
        .where(CallerRefusalRow.last_at >= since)
        .order_by(CallerRefusalRow.first_at)
    )
    return [
        Refusal(
            caller=r.caller,
            status=r.status,
            method=r.method,
            path=r.path,
            detail=r.detail,
            count=r.count,
            first_at=r.first_at,
            last_at=r.last_at,
        )
        for r in rows
    ]
