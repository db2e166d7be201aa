"""``Idempotency-Key`` on the POSTs that create something or change a placed order (a line
cancel, an edit, a claim), and ids taken for good.

With the header, the same caller sending the same key and the same request within 24 hours
gets the first answer again (header ``Idempotent-Replayed: true``) and nothing is created
twice, even without a client-chosen id; the same key with a different request is a 422.
A key whose first request is still being answered is a 409 (retry). Only answers below
400 are kept: after an error the key is free, and a retry runs the request again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from oms.domain.auth import Principal
from oms.store import idempotency
from oms.store.db import Database
from starters.api.deps import ApiState, api_error, invalid

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Send the same key to retry safely: the first answer is given again.",
    ),
]


async def once(
    request: Request,
    state: ApiState,
    caller: Principal,
    key: str | None,
    answer: Callable[[], Awaitable[Response]],
) -> Response:
    """``answer()`` once per caller and key; raises HTTPException 422 (key reused with
    another request) or 409 (its first request is still being answered)."""
    if key is None:
        return await answer()
    body = await request.body()
    request_hash = hashlib.sha256(
        f"{request.method} {request.url.path}\n".encode() + body
    ).hexdigest()
    held = await run_in_threadpool(_claim, state.db, caller.subject, key, request_hash)
    if held is not None:
        if held.request_hash != request_hash:
            raise invalid(
                ["header", "Idempotency-Key"],
                "this key was used for a different request; use a new key",
                key,
                "idempotency_key_reused",
            )
        if held.status_code is None:
            raise api_error(
                409,
                "IdempotencyKeyInUse",
                "a request with this Idempotency-Key is being answered; retry",
                headers={"Retry-After": "1"},
            )
        return JSONResponse(
            held.response, status_code=held.status_code, headers={"Idempotent-Replayed": "true"}
        )
    try:
        response = await answer()
    except BaseException:
        await run_in_threadpool(_release, state.db, caller.subject, key)
        raise
    if response.status_code < 400:
        kept = json.loads(bytes(response.body))
        await run_in_threadpool(_record, state.db, caller.subject, key, response.status_code, kept)
    else:
        await run_in_threadpool(_release, state.db, caller.subject, key)
    return response


def _claim(db: Database, subject: str, key: str, request_hash: str) -> idempotency.KeyState | None:
    with db.session() as session:
        return idempotency.claim_key(session, subject, key, request_hash)


def _record(db: Database, subject: str, key: str, status: int, body: object) -> None:
    with db.session() as session:
        idempotency.record_answer(session, subject, key, status, body)  # type: ignore[arg-type]


def _release(db: Database, subject: str, key: str) -> None:
    with db.session() as session:
        idempotency.release_key(session, subject, key)


def reserve(
    db: Database,
    kind: str,
    id_: str,
    owner: str,
    body_hash: str | None,
    derived: Sequence[tuple[str, str]] = (),
) -> idempotency.Reservation:
    """``idempotency.reserve_with_derived`` in its own transaction (call it in a worker
    thread): ``id_`` and the ids it derives, all or none (raises ``idempotency.IdTaken``)."""
    with db.session() as session:
        return idempotency.reserve_with_derived(session, kind, id_, owner, body_hash, derived)


def reserve_for(db: Database, kind: str, id_: str, derived: Sequence[tuple[str, str]]) -> None:
    """``idempotency.reserve_derived`` in its own transaction (call it in a worker thread)."""
    with db.session() as session:
        idempotency.reserve_derived(session, kind, id_, derived)
