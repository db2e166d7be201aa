"""``/webhooks``: signed outbound events, and ``/events``, the same events as a feed.

Endpoints are registered by an admin or the merchant's systems (role ``integration``);
each gets a ``whsec_`` secret and a relay workflow that delivers its events
(``workflows/webhooks.py``). The event types and their bodies are documented as
OpenAPI 3.1 ``webhooks`` (:func:`install_webhooks`); docs/webhooks.md says the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from pydantic import create_model
from starlette.concurrency import run_in_threadpool

from oms.domain.auth import Principal
from oms.domain.events import EVENT_TYPES, valid_pattern
from oms.domain.webhooks import url_problem
from oms.models.common import Page
from oms.models.orders import OrderView
from oms.models.quotes import QuoteView
from oms.models.replenishment import ReplenishmentSummary
from oms.models.returns import ReturnView
from oms.models.shipments import ShipmentView
from oms.models.subscriptions import SubscriptionView
from oms.models.webhooks import (
    Deliveries,
    Endpoint,
    EndpointCreated,
    EndpointIn,
    EventPage,
    ReplayIn,
    ReplayResult,
)
from oms.store import webhooks as store
from starters.api.auth import require
from starters.api.deps import Paging, State, field_error, found, not_found
from workflows.webhooks import ensure_relay, wake_relay

router = APIRouter(tags=["webhooks"])
Integrator = Annotated[Principal, Depends(require("integration"))]
FeedReader = Annotated[Principal, Depends(require("integration", "ops"))]


@router.post("/webhooks/endpoints", response_model=EndpointCreated, status_code=201)
async def add_endpoint(body: EndpointIn, state: State, caller: Integrator) -> EndpointCreated:
    """Register a URL for the event types matching ``events`` (``order.*``, ``*``); the
    answer carries its signing secret, shown only here."""
    problem = url_problem(body.url, allow_http=state.settings.webhooks_allow_http)
    if problem is not None:
        raise field_error(["url"], problem, body.url)
    for n, pattern in enumerate(body.events):
        if not valid_pattern(pattern):
            raise field_error(["events", n], "matches no event type", pattern)

    def create() -> EndpointCreated:
        with state.db.session() as session:
            return store.create_endpoint(session, body)

    created = await run_in_threadpool(create)
    await ensure_relay(state.client, state.settings, created.endpoint_id)
    return created


@router.get("/webhooks/endpoints", response_model=Page[Endpoint])
def list_endpoints(state: State, caller: Integrator, page: Paging) -> Page[Endpoint]:
    """Endpoints oldest first, a page at a time."""
    with state.db.read() as session:
        return store.list_endpoints(session, page.limit, page.cursor)


@router.get("/webhooks/endpoints/{endpoint_id}", response_model=Endpoint)
def get_endpoint(endpoint_id: str, state: State, caller: Integrator) -> Endpoint:
    with state.db.read() as session:
        endpoint = store.get_endpoint(session, endpoint_id)
    return found(endpoint, not_found(f"webhook endpoint {endpoint_id}"))


@router.delete("/webhooks/endpoints/{endpoint_id}", status_code=204)
async def remove_endpoint(endpoint_id: str, state: State, caller: Integrator) -> Response:
    """Stop delivering to the endpoint and forget its deliveries; its relay ends."""

    def delete() -> bool:
        with state.db.session() as session:
            return store.delete_endpoint(session, endpoint_id)

    if not await run_in_threadpool(delete):
        raise not_found(f"webhook endpoint {endpoint_id}")
    await wake_relay(state.client, endpoint_id, "endpoint removed")
    return Response(status_code=204)


@router.get("/webhooks/endpoints/{endpoint_id}/deliveries", response_model=Deliveries)
def list_deliveries(
    endpoint_id: str,
    state: State,
    caller: Integrator,
    page: Paging,
    event_id: str | None = None,
) -> Deliveries:
    """Every attempt, newest first, a page at a time: event id and type, status code,
    error, next retry."""
    with state.db.read() as session:
        if store.get_endpoint(session, endpoint_id) is None:
            raise not_found(f"webhook endpoint {endpoint_id}")
        return store.deliveries(session, endpoint_id, page.limit, event_id, page.cursor)


@router.post("/webhooks/endpoints/{endpoint_id}/replay", response_model=ReplayResult)
async def replay(
    endpoint_id: str, body: ReplayIn, state: State, caller: Integrator
) -> ReplayResult:
    """Send again, in order and under their own ids, every subscribed event since
    ``since``: dead ones, delivered ones, and those from before the endpoint existed."""

    def requeue() -> int:
        with state.db.session() as session:
            return store.replay(session, endpoint_id, body.since)

    try:
        count = await run_in_threadpool(requeue)
    except KeyError:
        raise not_found(f"webhook endpoint {endpoint_id}") from None
    await ensure_relay(state.client, state.settings, endpoint_id)
    await wake_relay(state.client, endpoint_id, "replay")
    return ReplayResult(endpoint_id=endpoint_id, requeued=count)


@router.get("/events", response_model=EventPage)
def events_feed(
    state: State,
    caller: FeedReader,
    after: Annotated[str, Query(pattern=r"^\d{0,18}$")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    """The events the webhooks send, oldest first, for systems that prefer to pull: ask
    again with ``after=<next_cursor>``."""
    settle = 0.0 if state.db.is_sqlite else state.settings.webhooks_feed_settle_s
    with state.db.read() as session:
        return store.feed(session, int(after or 0), limit, settle)


# --- the OpenAPI 3.1 ``webhooks`` section -------------------------------------------------

_DATA: dict[str, type] = {
    "order": OrderView,
    "shipment": ShipmentView,
    "return": ReturnView,
    "quote": QuoteView,
    "subscription": SubscriptionView,
    "stock": ReplenishmentSummary,
    "purchase_order": ReplenishmentSummary,
}


def _body_model(type_: str) -> Any:
    name = "".join(part.title() for part in type_.replace(".", "_").split("_")) + "Event"
    fields: dict[str, Any] = {
        "id": (str, ...),
        "type": (Literal[type_], ...),
        "timestamp": (datetime, ...),
        "data": (_DATA[type_.split(".")[0]], ...),
    }
    return create_model(name, **fields)


def install_webhooks(app: FastAPI) -> None:
    """Declare every event type, with its body's schema, in ``app``'s OpenAPI ``webhooks``."""
    for type_ in EVENT_TYPES:
        model = _body_model(type_)

        def receiver(body: Any) -> None:  # never served: documentation only
            return None

        receiver.__annotations__ = {"body": model, "return": None}
        app.webhooks.add_api_route(
            type_,
            receiver,
            methods=["POST"],
            name=type_,
            summary=type_,
            description=(
                f"`{type_}`: POSTed to every endpoint subscribed to it, signed with the "
                "Standard Webhooks headers `webhook-id`, `webhook-timestamp` and "
                "`webhook-signature`. Answer 2xx within the timeout; anything else is retried."
            ),
            status_code=204,
        )
