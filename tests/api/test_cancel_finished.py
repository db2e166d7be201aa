"""Cancelling an order that ended answers as every other change to it does: 409
``Finished``, naming the order and its status (docs/api.md).

Before: ``POST /orders/{id}/cancel`` answered 409 ``NotCancellable`` ("order is already
completed") while ``/hold``, ``/edits``, ``/lines/.../cancel`` and ``/ops/orders/.../cancel``
answered ``Finished``.

The real app on a migrated SQLite store, no Temporal: the read model's view (as the
order's workflow wrote it) answers before any workflow is asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.orm import Session

from oms.models.orders import OrderStatus
from oms.store import orders

from app_fixtures import app_clients
from inventory_fixtures import order_view

ENDED = {"O-ENDED-1": OrderStatus.COMPLETED, "O-ENDED-2": OrderStatus.CANCELLED}


@pytest.fixture
async def support(migrated_sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Support's client on the app, with a completed and a cancelled order in its store."""

    def ended(session: Session) -> None:
        for order_id, status in ENDED.items():
            orders.record_order(session, order_view(order_id, status=status))

    async with app_clients(migrated_sqlite_url, "support", fill=ended) as clients:
        yield clients["support"]


async def test_cancelling_an_order_that_ended_is_409_finished_naming_it_and_its_status(
    support: httpx.AsyncClient,
) -> None:
    for order_id, status in ENDED.items():
        answer = await support.post(f"/orders/{order_id}/cancel", json={"reason": "x"})
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["title"] == "Finished", body
        assert body["detail"] == f"order {order_id} is {status.value}"
