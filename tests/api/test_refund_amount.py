"""A refund's (and a company payment's) amount that is not above zero is one 422 with one
message, whatever its sign: "amount must be greater than 0", naming the field.

Before: -10 said "greater than or equal to 0" (the money type's own ``ge=0`` ran first) and 0
said "greater than 0". The body is refused before any order or workflow is looked at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app_fixtures import app_clients


@pytest.fixture
async def finance(migrated_sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_clients(migrated_sqlite_url, "finance") as clients:
        yield clients["finance"]


@pytest.mark.parametrize("amount", ["-10", "0", "0.00", "-0.01"])
@pytest.mark.parametrize(
    ("path", "rest"),
    [
        ("/orders/O-1/refunds", {"reason": "late delivery"}),
        ("/companies/ACME/payments", {"reference": "BANK-1"}),
    ],
    ids=["refund", "payment"],
)
async def test_an_amount_not_above_zero_is_one_422_naming_the_field(
    finance: httpx.AsyncClient, path: str, rest: dict[str, str], amount: str
) -> None:
    body = {"amount": amount, **rest}
    answer = await finance.post(path, json=body, headers={"Idempotency-Key": "k-1"})
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [(e["loc"], e["msg"]) for e in errors] == [
        (["body", "amount"], "amount must be greater than 0")
    ], errors
