"""A refused moment or tag is a 422 naming its field, as every other refused value is.

Before: ``POST /subscriptions/{id}/pause`` with ``until`` without a time zone answered 422
titled ``TypeError`` ("can't compare offset-naive and offset-aware datetimes", the update
validator's exception), and a ``start_at`` without one or a tag that is no label was
located at ``["body"]`` alone.

The real app on a migrated SQLite store, no Temporal: these answers come before any
workflow is asked.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app_fixtures import app_clients

SUBSCRIBE = {
    "customer": {"id": "C-LOC", "name": "Anna Lindqvist", "email": "anna@example.com"},
    "currency": "SEK",
    "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
    "ship_to": {
        "name": "Anna Lindqvist",
        "line1": "Drottninggatan 53",
        "postal_code": "111 21",
        "city": "Stockholm",
        "country": "SE",
    },
    "interval": "P1M",
    "payment": {"method": "card", "token": "tok_visa"},
}
# (method, path, body) -> the field the 422 must name, and words of its message.
CASES: list[tuple[str, str, dict[str, Any], list[str], str]] = [
    (
        "POST",
        "/subscriptions/S-LOC-1/pause",
        {"until": "2027-01-10T00:00:00"},
        ["body", "until"],
        "needs a time zone",
    ),
    (
        "POST",
        "/subscriptions",
        {**SUBSCRIBE, "start_at": "2027-01-10T08:00:00"},
        ["body", "start_at"],
        "needs a time zone",
    ),
    (
        "POST",
        "/orders/O-LOC-1/notes",
        {"text": "called", "tags": ["Bad_Tag"]},
        ["body", "tags"],
        "is not a label",
    ),
    (
        "POST",
        "/orders/O-LOC-1/notes",
        {"text": "called", "tags": ["vip", "vip"]},
        ["body", "tags"],
        "tags repeat",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "loc", "words"), CASES)
async def test_a_refused_moment_or_tag_names_its_field(
    migrated_sqlite_url: str,
    method: str,
    path: str,
    body: dict[str, Any],
    loc: list[str],
    words: str,
) -> None:
    async with app_clients(migrated_sqlite_url, "support") as clients:
        answer: httpx.Response = await clients["support"].request(method, path, json=body)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["title"] == "ValidationError", problem
    [error] = problem["errors"]
    assert error["loc"] == loc and words in error["msg"], error
