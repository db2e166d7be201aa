"""A workflow gone from Temporal (past the namespace's retention) whose view the read model
keeps answers what it is, for every kind: 409 ``Finished`` for one that ended, 503
``WorkflowNotReady`` for a shipment listed a moment before its workflow starts, 404 only
for what neither Temporal nor the read model knows.

Only shipments were told apart before: an update to a completed order, a withdrawn quote,
a closed return or a cancelled subscription answered 404 while ``GET`` showed it.

Real HTTP and a real Temporal server, no worker: the views are written to the store as
their workflows would have written them, and no workflow of those ids exists.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from temporalio.client import Client

from oms.models.common import Address, Customer
from oms.models.orders import OrderStatus, OrderView
from oms.models.quotes import QuoteStatus, QuoteView
from oms.models.returns import ReturnLine, ReturnStatus, ReturnView
from oms.models.shipments import ShipmentStatus, ShipmentView
from oms.models.subscriptions import SubscriptionLine, SubscriptionStatus, SubscriptionView
from oms.store import orders, quotes, returns, subscriptions
from oms.store.db import Database
from starters.api.orders import ORDERS
from starters.api.quotes import QUOTES
from starters.api.replenishment import REPLENISHMENTS
from starters.api.returns import RETURNS
from starters.api.shipments import SHIPMENTS
from starters.api.subscriptions import SUBSCRIPTIONS

from inventory_fixtures import order_view, shipment_view
from quote_fixtures import quote_view
from stack import api_alone

pytestmark = [pytest.mark.timeout(120)]

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BUYER = "C-42"  # dev-buyer's customer


# How each kind's workflow writes its view to the read model.
_RECORD: dict[type, Callable[[Session, Any], bool]] = {
    OrderView: orders.record_order,
    ShipmentView: orders.record_shipment,
    QuoteView: quotes.record_quote,
    ReturnView: returns.record_return,
    SubscriptionView: subscriptions.record_subscription,
}


@asynccontextmanager
async def _api(
    client: Client, database_url: str, tmp: Path, *views: Any
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The API alone, with ``views`` in its read model; a client per dev role."""
    with api_alone(client, database_url, tmp) as (url, settings):
        db = Database(settings.database_url)
        try:
            with db.session() as session:
                for view in views:
                    assert _RECORD[type(view)](session, view)
        finally:
            db.dispose()
        roles = ("buyer", "support", "ops", "sales", "sales_manager", "warehouse")
        clients = {
            role: httpx.AsyncClient(
                base_url=url, timeout=30, headers={"Authorization": f"Bearer dev-{role}"}
            )
            for role in roles
        }
        try:
            yield clients
        finally:
            for api in clients.values():
                await api.aclose()


def _problem(answer: httpx.Response, status: int, title: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["title"] == title and body["type"] == f"/problems/{title}", body
    return str(body["detail"])


def _closed_return(rma_id: str, order_id: str) -> ReturnView:
    """A return of one T-shirt of ``order_id``, refunded and closed."""
    return ReturnView(
        rma_id=rma_id,
        order_id=order_id,
        status=ReturnStatus.CLOSED,
        resolution="refund",
        customer=Customer(id=BUYER, name="Anna", email="anna@example.com"),
        currency="SEK",
        lines=[ReturnLine(sku="TSHIRT", quantity=1, reason="wrong_size")],
        requested_at=T0,
        updated_at=T0,
        version=1,
    )


def _id(prefix: str) -> str:
    return f"{prefix}-GONE-{uuid.uuid4().hex[:8].upper()}"


async def test_an_order_whose_workflow_is_gone_is_finished_and_an_unknown_one_not_found(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    completed, picking, someone_elses = _id("O"), _id("O"), _id("O")
    unknown = _id("O")
    views = (
        order_view(completed, status=OrderStatus.COMPLETED, customer_id=BUYER),
        order_view(picking, status=OrderStatus.PICKING, customer_id=BUYER),
        order_view(someone_elses, status=OrderStatus.COMPLETED, customer_id="C-1"),
    )
    async with _api(temporal_client, migrated_sqlite_url, tmp_path, *views) as api:
        assert (await api["buyer"].get(f"/orders/{completed}")).status_code == 200

        # An ended order's email is sent again from its stored view, only one it sent: this
        # one never backordered (no worker runs here, so nothing could be sent anyway).
        resend = {"reason": "customer asked", "notification": "order_backordered"}
        detail = _problem(
            await api["ops"].post(f"/ops/orders/{completed}/resend", json=resend),
            409,
            "NotSent",
        )
        assert detail == (
            "the order never sent order_backordered: it is sent once units of it are "
            "backordered (an older re-route that backordered some did not)"
        )
        # An operator's cancel of an ended order is told apart the same way.
        forced = await api["ops"].post(f"/ops/orders/{completed}/cancel", json={"reason": "x"})
        assert completed in _problem(forced, 409, "Finished")

        # Stored as picking, yet its workflow is gone: only the workflow writes an order's
        # view, so it ran and ended (terminated, or Temporal lost it); it cannot change.
        held = await api["support"].post(f"/orders/{picking}/hold", json={"reason": "fraud?"})
        detail = _problem(held, 409, "Finished")
        assert detail == f"order {picking} has already finished (its workflow ended while picking)"
        cancelled = await api["buyer"].post(f"/orders/{picking}/cancel", json={"reason": "x"})
        _problem(cancelled, 409, "Finished")
        # A note on it is kept by the read model, as on a finished order.
        noted = await api["support"].post(f"/orders/{picking}/notes", json={"text": "called"})
        assert noted.status_code == 200, noted.text
        assert noted.json()["notes"][-1]["text"] == "called"

        # Neither Temporal nor the read model knows it: 404, as before.
        missing = await api["ops"].post(f"/ops/orders/{unknown}/resend", json=resend)
        assert _problem(missing, 404, "NotFound") == f"order {unknown} not found"
        unheld = await api["support"].post(f"/orders/{unknown}/hold", json={"reason": "x"})
        _problem(unheld, 404, "NotFound")
        # Another buyer's finished order stays as unknown to this buyer as a missing one.
        theirs = await api["buyer"].post(f"/orders/{someone_elses}/cancel", json={"reason": "x"})
        assert _problem(theirs, 404, "NotFound") == f"order {someone_elses} not found"


async def test_a_note_on_a_finished_order_answers_the_order_as_get_shows_it(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """The read model keeps the note; the answer adds the order's returns, as ``GET`` does
    (they live in their own rows: the answer used to show none)."""
    order_id, rma_id = _id("O"), _id("RMA")
    views = (
        order_view(order_id, status=OrderStatus.COMPLETED, customer_id=BUYER),
        _closed_return(rma_id, order_id),
    )
    async with _api(temporal_client, migrated_sqlite_url, tmp_path, *views) as api:
        noted = await api["support"].post(f"/orders/{order_id}/notes", json={"text": "called"})
        assert noted.status_code == 200, noted.text
        shown = (await api["support"].get(f"/orders/{order_id}")).json()
        assert [r["rma_id"] for r in noted.json()["returns"]] == [rma_id]
        assert noted.json()["returns"] == shown["returns"]
        assert noted.json()["notes"] == shown["notes"] and shown["notes"][-1]["text"] == "called"


async def test_a_quote_a_return_and_a_subscription_whose_workflow_is_gone_are_finished(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    quote_id, rma_id, order_id = _id("Q"), _id("RMA"), _id("O")
    subscription_id, unknown = _id("S"), _id("X")
    address = Address(
        name="Anna", line1="Drottninggatan 53", postal_code="111 21", city="Stockholm", country="SE"
    )
    buyer = Customer(id=BUYER, name="Anna", email="anna@example.com")
    views = (
        quote_view(quote_id, status=QuoteStatus.WITHDRAWN),
        order_view(order_id, status=OrderStatus.COMPLETED, customer_id=BUYER),
        _closed_return(rma_id, order_id),
        SubscriptionView(
            subscription_id=subscription_id,
            status=SubscriptionStatus.CANCELLED,
            customer=buyer,
            currency="SEK",
            interval="P1M",
            lines=[SubscriptionLine(sku="TSHIRT-BLK-M", quantity=1)],
            ship_to=address,
            anchor=T0,
            next_renewal_at=T0 + timedelta(days=28),
            created_at=T0,
            updated_at=T0,
            version=1,
        ),
    )
    async with _api(temporal_client, migrated_sqlite_url, tmp_path, *views) as api:
        withdrawn = await api["sales"].post(f"/quotes/{quote_id}/withdraw", json={"reason": "x"})
        detail = _problem(withdrawn, 409, "Finished")
        assert detail == f"quote {quote_id} has already finished (withdrawn)"
        # A route that asks the workflow for its own view first answers the same.
        decided = await api["sales_manager"].post(
            f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
        )
        _problem(decided, 409, "Finished")

        authorized = await api["support"].post(f"/returns/{rma_id}/authorize", json={})
        assert (
            _problem(authorized, 409, "Finished")
            == f"return {rma_id} has already finished (closed)"
        )

        paused = await api["buyer"].post(f"/subscriptions/{subscription_id}/pause", json={})
        detail = _problem(paused, 409, "Finished")
        assert detail == f"subscription {subscription_id} has already finished (cancelled)"

        for role, path in (
            ("sales", f"/quotes/{unknown}/withdraw"),
            ("support", f"/returns/{unknown}/authorize"),
            ("buyer", f"/subscriptions/{unknown}/pause"),
        ):
            _problem(await api[role].post(path, json={}), 404, "NotFound")


async def test_a_shipment_gone_is_finished_one_listed_before_its_workflow_is_a_503(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """Shipments take the same path as every kind; only their listing before the workflow
    starts makes a non-terminal one a 503 to retry."""
    delivered, starting, unknown = _id("SH"), _id("SH"), _id("SH")
    views = (
        shipment_view(delivered, status=ShipmentStatus.DELIVERED),
        shipment_view(starting, status=ShipmentStatus.PICKING),
    )
    async with _api(temporal_client, migrated_sqlite_url, tmp_path, *views) as api:
        warehouse = api["warehouse"]
        finished = await warehouse.post(f"/shipments/{delivered}/pick", json={})
        detail = _problem(finished, 409, "Finished")
        assert detail == f"shipment {delivered} has already finished (delivered)"
        early = await warehouse.post(f"/shipments/{starting}/pick", json={})
        assert (
            _problem(early, 503, "WorkflowNotReady")
            == f"shipment {starting} is being started; try again"
        )
        assert early.headers["retry-after"] == "1"
        _problem(await warehouse.post(f"/shipments/{unknown}/pick", json={}), 404, "NotFound")


def test_every_kind_reads_its_lifecycle_by_its_name() -> None:
    kinds = (ORDERS, SHIPMENTS, QUOTES, RETURNS, SUBSCRIPTIONS, REPLENISHMENTS)
    # A kind named unlike its lifecycle declaration would fail here, not in a 500 later.
    assert [kind.lifecycle.kind for kind in kinds] == [kind.name for kind in kinds]
    # Every kind but replenishment (read from its workflow alone) reads its stored view.
    assert [kind.name for kind in kinds if kind.read is None] == ["replenishment"]
