"""A change to a placed order sent again under the same ``Idempotency-Key`` is made once
and answered as the first time (docs/order-changes.md#retrying-a-change).

Before: ``POST /orders/{id}/lines/{sku}/cancel`` sent twice cancelled twice (two releases,
two emails), and the header was not read on it, on edits or on claims.

The real app on a migrated store (SQLite and PostgreSQL: the keys are rows there);
Temporal is a fake client whose order workflow takes each update and answers the order's
view, counting the updates it was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.models.order_changes import CancelLine, EditOrder, OpenClaim
from oms.models.orders import OrderStatus
from oms.models.shipments import ShipmentStatus
from oms.store import orders

from app_fixtures import FakeOrderWorkflow, FakeTemporal, app_clients
from inventory_fixtures import order_view, shipment_view


@pytest.fixture
async def app(
    database_url: str,
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow]]:
    placed = order_view("E1", status=OrderStatus.PARTIALLY_SHIPPED, customer_id="C-42")
    shipped = shipment_view("E1-S1", order_id="E1", status=ShipmentStatus.IN_TRANSIT).model_copy(
        update={"tracking_number": "TRK-1"}
    )
    workflow = FakeOrderWorkflow(placed)

    def fill(session: Session) -> None:
        orders.record_order(session, placed)
        orders.record_shipment(session, shipped)

    fake = FakeTemporal(workflow)
    async with app_clients(database_url, "support", "buyer", fill=fill, temporal=fake) as clients:
        yield clients, workflow


CHANGES = {
    "cancel-line": ("/orders/E1/lines/TSHIRT/cancel", {"quantity": 1, "reason": "retry test"}),
    "edit": ("/orders/E1/edits", {"lines": [{"sku": "TSHIRT", "quantity": 1}], "reason": "r"}),
    "claim": ("/shipments/E1-S1/claims", {"kind": "lost", "resolution": "reship"}),
}
REQUESTS = {"cancel-line": CancelLine, "edit": EditOrder, "claim": OpenClaim}


@pytest.mark.parametrize("change", CHANGES)
async def test_a_change_sent_twice_under_one_key_is_made_once_and_answered_alike(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow], change: str
) -> None:
    clients, workflow = app
    path, body = CHANGES[change]
    key = {"Idempotency-Key": f"{change}-1"}
    first = await clients["support"].post(path, json=body, headers=key)
    assert first.status_code == 200, first.text
    again = await clients["support"].post(path, json=body, headers=key)
    assert again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert [type(u) for u in workflow.updates] == [REQUESTS[change]]


async def test_a_line_cancel_under_a_used_key_with_another_body_is_a_422_and_changes_nothing(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow],
) -> None:
    clients, workflow = app
    key = {"Idempotency-Key": "k-1"}
    path = "/orders/E1/lines/TSHIRT/cancel"
    first = await clients["support"].post(path, json={"quantity": 1, "reason": "r"}, headers=key)
    assert first.status_code == 200, first.text
    other = await clients["support"].post(path, json={"quantity": 2, "reason": "r"}, headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert len(workflow.updates) == 1


async def test_a_line_cancel_without_a_key_is_made_each_time_it_is_sent(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow],
) -> None:
    # The header is optional (as on POST /orders): without it nothing is remembered.
    clients, workflow = app
    body = {"quantity": 1, "reason": "r"}
    for _ in range(2):
        answer = await clients["support"].post("/orders/E1/lines/TSHIRT/cancel", json=body)
        assert answer.status_code == 200, answer.text
    assert len(workflow.updates) == 2


async def test_one_key_is_the_callers_own(
    app: tuple[dict[str, httpx.AsyncClient], FakeOrderWorkflow],
) -> None:
    # Another caller's key of the same name is another key: their change is made.
    clients, workflow = app
    path, body = CHANGES["cancel-line"]
    for role in ("support", "buyer"):
        answer = await clients[role].post(path, json=body, headers={"Idempotency-Key": "same"})
        assert answer.status_code == 200, answer.text
        assert "Idempotent-Replayed" not in answer.headers
    assert len(workflow.updates) == 2
