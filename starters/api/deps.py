"""Shared state of the API process (settings, store, Temporal client) and error helpers."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from oms.models.orders import OrderView
from oms.models.quotes import QuoteView
from oms.models.returns import ReturnView
from oms.models.shipments import ShipmentView
from oms.models.subscriptions import SubscriptionView
from oms.settings import Settings
from oms.store import orders, paging, quotes, returns, subscriptions
from oms.store.db import Database
from starters.api.ratelimit import RateLimits

log = logging.getLogger("oms.api")


@dataclass
class ApiState:
    settings: Settings
    db: Database
    client: Client
    limits: RateLimits = field(init=False)
    # The OMS's own callers this process saw refused (their rows clear when accepted again).
    refused_callers: set[str] = field(default_factory=set)
    # Until when (time.monotonic) /health/ready trusts that the store is at its migration
    # head without reading the revision again.
    migrated_until: float = 0.0

    def __post_init__(self) -> None:
        self.limits = RateLimits(self.settings)


async def get_state(request: Request) -> ApiState:
    """The process's state. A coroutine, because FastAPI runs a plain function dependency
    in a worker thread: a hop per request for an attribute read."""
    state: ApiState = request.app.state.oms
    return state


State = Annotated[ApiState, Depends(get_state)]


T = TypeVar("T")


async def in_store(state: ApiState, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one store session (one transaction) on a worker thread: a blocking
    query inside an async handler would stall every other request on the event loop."""
    return await run_in_threadpool(_in_session, state.db.session, work)


async def read_store(state: ApiState, work: Callable[[Session], T]) -> T:
    """``in_store`` for ``work`` that only reads (``Database.read``: on SQLite it does not
    queue behind the writers). Raises what ``work`` raises."""
    return await run_in_threadpool(_in_session, state.db.read, work)


def _in_session(
    open_session: Callable[[], ContextManager[Session]], work: Callable[[Session], T]
) -> T:
    with open_session() as session:
        return work(session)


@dataclass(frozen=True)
class PageParams:
    """``limit`` and ``cursor`` of a list request (every list pages the same way)."""

    limit: int
    cursor: str | None


async def page_params(  # a coroutine: no worker-thread hop (see get_state)
    limit: Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)] = paging.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor or None)


Paging = Annotated[PageParams, Depends(page_params)]

# Business rejections from workflows and what HTTP status they map to.
CONFLICT_TYPES = frozenset(
    {
        "AlreadyShipped",
        "NotCancellable",
        "PackBeforePick",
        "AlreadyPicked",
        "AlreadyPacked",
        "ShipmentCancelled",
        "AlreadyDecided",
        "NothingToApprove",
        "QuoteExpired",
        "QuoteClosed",
        "NoProposal",
        "AwaitingApproval",
        "NotAcceptable",
        "NotExpired",
        "NotAwaitingCredit",
        "NotSent",
        "NotAwaitingApproval",
        "NotReroutable",
        "NotAwaitingAuthorization",
        "NotAwaitingReceipt",
        "NoFailedRefund",
        "NotAwaitingConfirmation",
        "NotAwaitingGoods",
        "TooLateToHold",
        "TooLateToCancelLine",
        "UnknownLine",
        "WholeOrder",
        "NotAllocated",
        "TooLateToEdit",
        "NotEditable",
        "NotEditableYet",
        "NotShipped",
        "NotLost",
        "AlreadyClaimed",
        "NotClaimable",
        "RefundDeclined",
        "AlreadyHeld",
        "NotHeld",
        "NotHoldable",
        "NotSupported",
        "NotActive",
        "NotPaused",
        "RenewalInProgress",
        "AlreadyEnding",
        "SubscriptionCancelled",
    }
)
# Rejections because of who is asking, not the state of the thing.
FORBIDDEN_TYPES = frozenset({"WrongRole", "SelfApproval"})


def api_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> HTTPException:
    """The API's own error, ``{"error": ..., "message": ...}`` (answered as problem details
    titled ``error``, ``starters.api.problems``), for the caller to raise."""
    return HTTPException(status, detail={"error": error, "message": message}, headers=headers)


def invalid(
    loc: list[str | int], msg: str, value: Any = None, kind: str = "value_error"
) -> HTTPException:
    """A 422 in FastAPI's own shape, naming where the bad value is: ``loc`` starts with
    ``body``, ``query``, ``path`` or ``header``, as a request validation error's does."""
    return HTTPException(422, detail=[{"type": kind, "loc": loc, "msg": msg, "input": value}])


def field_error(
    loc: list[str | int], msg: str, value: Any = None, kind: str = "value_error"
) -> HTTPException:
    """A 422 in FastAPI's own shape, naming the body's field, for checks that need the store."""
    return invalid(["body", *loc], msg, value, kind)


def field_errors(problems: list[tuple[list[str | int], str, Any]]) -> HTTPException:
    """One 422 naming every ``(loc, msg, value)`` of the body at once (``field_error`` for
    one), so a caller mends them all before the next try."""
    return HTTPException(
        422,
        detail=[
            {"type": "value_error", "loc": ["body", *loc], "msg": msg, "input": value}
            for loc, msg, value in problems
        ],
    )


def not_found(what: str) -> HTTPException:
    """404 ``NotFound``: ``what`` (e.g. ``order O-1``) is unknown, or not the caller's to see."""
    return api_error(404, "NotFound", f"{what} not found")


def found(value: T | None, missing: HTTPException) -> T:
    """``value``, what a lookup found; raises ``missing`` (the 404 naming what is unknown)
    when the lookup found nothing (None)."""
    if value is None:
        raise missing
    return value


def json_answer(body: BaseModel, status_code: int = 200) -> Response:
    """``body`` rendered now as the JSON response FastAPI would render from it: for a
    handler that returns a ``Response`` (an accepted 202 or a resubmission's 200; JSON or
    CSV) and for an answer ``once`` keeps for a retry under the same key (a rendered body)."""
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


def content_hash(body: BaseModel, id_field: str) -> str:
    """Fingerprint of a request's content without its id, to tell a resubmission of the
    same thing from a different one that reuses the id."""
    data = body.model_dump(mode="json", exclude={id_field})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


async def require_same_body(
    client: Client, workflow_id: str, digest: str, error: str, what: str
) -> None:
    """After a start found ``workflow_id`` running: 409 ``error`` unless it was started
    with the same content (its memo's ``body_hash``), so a resubmission is answered."""
    memo = await (await client.get_workflow_handle(workflow_id).describe()).memo()
    if memo.get("body_hash") != digest:
        raise api_error(409, error, f"{what} exists with different content")


async def query_state(handle: WorkflowHandle[Any, Any], query: Any, what: str) -> Any:
    """The workflow's own state (before its read model row is written); 404 when unknown."""
    try:
        return await handle.query(query)
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise not_found(what) from err
        raise


async def run_update(
    state: ApiState, handle: WorkflowHandle[Any, Any], update: Any, body: Any, what: str
) -> Any:
    """Run a workflow update for an endpoint, turning rejections into the right HTTP error.

    A view the update returns is recorded in the read model: the update's task committed
    before its result came back, and the workflow itself writes nothing in that task.
    """
    try:
        result = await handle.execute_update(update, body)
    except (WorkflowUpdateFailedError, RPCError) as err:
        raise_from_update(err, what)
    await record_view(state, result)
    return result


_RECORDERS: dict[type, Callable[[Session, Any], bool]] = {
    OrderView: orders.record_order,
    ShipmentView: orders.record_shipment,
    QuoteView: quotes.record_quote,
    ReturnView: returns.record_return,
    SubscriptionView: subscriptions.record_subscription,
}


async def record_view(state: ApiState, view: Any) -> None:
    """Write a view a workflow handed back (a versioned upsert: never older over newer)."""
    recorder = _RECORDERS.get(type(view))
    if recorder is None:
        return

    def write() -> None:
        with state.db.session() as session:
            recorder(session, view)

    await run_in_threadpool(write)


def raise_from_update(err: Exception, what: str) -> NoReturn:
    """Turn a rejected or failed workflow update into the HTTP error a caller can act on."""
    if isinstance(err, WorkflowUpdateFailedError):
        cause = err.cause
        if isinstance(cause, ApplicationError):
            code = (
                409
                if cause.type in CONFLICT_TYPES
                else 403
                if cause.type in FORBIDDEN_TYPES
                else 422
            )
            raise api_error(code, str(cause.type), cause.message)
        raise api_error(500, "UpdateFailed", str(cause))
    if isinstance(err, RPCError):
        if "already completed" in err.message:
            raise api_error(409, "Finished", f"{what} has already finished")
        if err.status == RPCStatusCode.NOT_FOUND:
            # Usually "workflow not found"; the server's own words say if it was something
            # else not found (an update id, a namespace), which a bare 404 would hide.
            log.info("update on %s answered NOT_FOUND: %s", what, err.message)
            raise not_found(what)
        if err.status == RPCStatusCode.FAILED_PRECONDITION:
            # The server aborted the update: the workflow task carrying it failed or timed
            # out (a worker died with it). Nothing was applied; the same call can be retried.
            raise api_error(
                503,
                "WorkflowNotReady",
                f"{what} could not take this now ({err.message}); try again",
                headers={"Retry-After": "1"},
            )
    raise err
