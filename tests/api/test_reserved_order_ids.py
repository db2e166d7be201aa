"""Order ids that belong to another object's order are refused at ``POST /orders``, before
anything is taken or started: a return's exchange order (``RMA-...-X``) and a
subscription's renewal orders (``SUB-<subscription>-<n>``).

Before, ``SUB-S-1-2`` was taken: the subscription's second renewal then found its order id
running and took that order, placed by someone else, for its own.

The real app on a migrated, seeded SQLite store, no Temporal: the refusal comes first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from oms.domain.subscriptions import order_id as renewal_order_id
from oms.ids import exchange_order_id

from app_fixtures import app_clients


@pytest.fixture
async def api(migrated_sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_clients(migrated_sqlite_url, "support") as clients:
        yield clients["support"]


def _order(order_id: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "channel": "web",
        "customer": {"id": "C-IDS", "name": "Anna", "email": "anna@example.com"},
        "currency": "SEK",
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
        "ship_to": {
            "name": "Anna",
            "line1": "Drottninggatan 53",
            "postal_code": "111 21",
            "city": "Stockholm",
            "country": "SE",
        },
        "payment": {"method": "card", "token": "tok_visa"},
    }


@pytest.mark.parametrize(
    ("order_id", "kept_for"),
    [
        (exchange_order_id("RMA-O-1-1"), "exchange orders"),
        (renewal_order_id("S-1", 1), "renewals"),
        (renewal_order_id("S-ABC-7", 11), "renewals"),
    ],
)
async def test_another_objects_order_id_is_refused_naming_it(
    api: httpx.AsyncClient, order_id: str, kept_for: str
) -> None:
    answer = await api.post("/orders", json=_order(order_id))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["body", "order_id"]
    assert kept_for in answer.json()["detail"]


async def test_ids_that_only_look_alike_are_the_callers(api: httpx.AsyncClient) -> None:
    # The body is valid, so only the id checks could answer 422: these pass them (and go
    # on to Temporal, which this app has none of).
    for order_id in ("SUB-SCRIBER-A", "RMA-O-1-1", "O-SUB-1-2"):
        answer = await api.post("/orders", json=_order(order_id))
        assert answer.status_code != 422, (order_id, answer.text)
