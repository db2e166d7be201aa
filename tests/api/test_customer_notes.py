"""Who reads what of a change's reason: the API hands the order's workflow the caller's
reason (internal: history, audit) and, apart, the note the customer's email gives
(``customer_note``): the one the caller sent, a buyer's own reason when a buyer asks
(their own words, shown back to them as before), else none.

Before: every route handed on only the reason, and the emails quoted it, so an
operator's "fraud suspected" reached the customer. The real app on a migrated SQLite store;
Temporal is a fake that keeps each update's request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.models.orders import CancelOrder, OrderStatus
from oms.store import orders

from app_fixtures import FakeOrderWorkflow, FakeTemporal, app_clients
from inventory_fixtures import order_view

NOTE = "we could not verify the payment"
ROUTES = {
    "cancel": ("/orders/E1/cancel", {}),
    "cancel-line": ("/orders/E1/lines/TSHIRT/cancel", {"quantity": 1}),
    "edit": ("/orders/E1/edits", {"lines": [{"sku": "TSHIRT", "quantity": 1}]}),
}


@pytest.fixture
async def app(
    migrated_sqlite_url: str,
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow]]:
    # The dev buyer's own order (customer C-42), allocated and picking.
    placed = order_view("E1", status=OrderStatus.PICKING, customer_id="C-42")
    workflow = FakeOrderWorkflow(placed)

    def fill(session: Session) -> None:
        orders.record_order(session, placed)

    async with app_clients(
        migrated_sqlite_url, "buyer", "support", "ops", fill=fill, temporal=FakeTemporal(workflow)
    ) as clients:
        yield clients, workflow


async def _sent(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow], role: str, path: str, body: Any
) -> Any:
    clients, workflow = app
    answer = await clients[role].post(path, json=body)
    assert answer.status_code == 200, answer.text
    return workflow.updates[-1]


@pytest.mark.parametrize("route", ROUTES)
async def test_staffs_reason_is_not_the_customers_note(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow], route: str
) -> None:
    path, body = ROUTES[route]
    sent = await _sent(app, "support", path, {**body, "reason": "fraud suspected"})
    assert (sent.reason, sent.customer_note) == ("fraud suspected", None)
    sent = await _sent(app, "support", path, {**body, "reason": "r", "customer_note": NOTE})
    assert (sent.reason, sent.customer_note) == ("r", NOTE)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_buyers_own_reason_is_their_note(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow], route: str
) -> None:
    path, body = ROUTES[route]
    sent = await _sent(app, "buyer", path, {**body, "reason": "ordered too many"})
    assert (sent.reason, sent.customer_note) == ("ordered too many", "ordered too many")


async def test_an_operators_cancel_tells_the_customer_only_the_note_given(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow],
) -> None:
    path = "/ops/orders/E1/cancel"
    sent = await _sent(app, "ops", path, {"reason": "fraud suspected"})
    assert sent == CancelOrder(reason="fraud suspected", requested_by="ops:dev-ops")
    sent = await _sent(app, "ops", path, {"reason": "fraud suspected", "customer_note": NOTE})
    assert sent.customer_note == NOTE


async def test_an_empty_note_is_a_422_naming_it(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow],
) -> None:
    clients, workflow = app
    for path, body in [*ROUTES.values(), ("/ops/orders/E1/cancel", {})]:
        role = "ops" if path.startswith("/ops") else "support"
        answer = await clients[role].post(path, json={**body, "reason": "r", "customer_note": ""})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == ["body", "customer_note"]
    assert workflow.updates == []
