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

from oms.models.orders import OrderStatus
from oms.settings import Settings
from oms.store import orders
from oms.store.db import Database
from starters.api.app import create_app
from starters.api.deps import ApiState

from inventory_fixtures import order_view

ENDED = {"O-ENDED-1": OrderStatus.COMPLETED, "O-ENDED-2": OrderStatus.CANCELLED}


@pytest.fixture
async def support(migrated_sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Support's client on the app, with a completed and a cancelled order in its store."""
    db = Database(migrated_sqlite_url)
    with db.session() as session:
        for order_id, status in ENDED.items():
            orders.record_order(session, order_view(order_id, status=status))
    settings = Settings(database_url=migrated_sqlite_url, auth_dev_tokens=True)
    app = create_app(settings)
    app.state.oms = ApiState(settings=settings, db=db, client=None)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://localhost",
        headers={"Authorization": "Bearer dev-support"},
    ) as client:
        yield client
    db.dispose()


async def test_cancelling_an_order_that_ended_is_409_finished_naming_it_and_its_status(
    support: httpx.AsyncClient,
) -> None:
    for order_id, status in ENDED.items():
        answer = await support.post(f"/orders/{order_id}/cancel", json={"reason": "x"})
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["title"] == "Finished", body
        assert body["detail"] == f"order {order_id} is {status.value}"
