"""``POST /replenishment/{ref}/retry`` on an episode that has ended answers 409 ``Finished``,
as every other command on a finished workflow does.

The hole: the signal's "workflow execution already completed" came out as
``502 TemporalError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from starters.api import replenishment

from app_fixtures import app_clients

PO = "PO-WH-STO-TSHIRT-BLK-M-1"


class _Closed:
    """A closed episode's workflow: still answers its query, refuses any signal."""

    id = f"replenishment-{PO}"

    def __init__(self) -> None:
        self.signals: list[Any] = []

    async def query(self, _query: Any) -> dict[str, str]:
        return {"status": "closed"}

    async def signal(self, signal: Any, body: Any) -> None:
        self.signals.append(body)
        raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")


@pytest.fixture
async def api(
    migrated_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, _Closed]]:
    closed = _Closed()
    monkeypatch.setattr(
        type(replenishment.REPLENISHMENTS), "handle", lambda _kind, _state, _id: closed
    )
    async with app_clients(migrated_sqlite_url, "ops") as clients:
        yield clients["ops"], closed


async def test_retry_on_a_closed_episode_is_409_finished(
    api: tuple[httpx.AsyncClient, _Closed],
) -> None:
    client, closed = api
    answer = await client.post(f"/replenishment/{PO}/retry", json={})
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["title"] == "Finished" and body["type"] == "/problems/Finished", body
    assert PO in body["detail"]
    assert len(closed.signals) == 1  # it was asked, and said no
