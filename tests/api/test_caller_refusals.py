"""A 401 or 403 seen by one of the OMS's own callers shows in /ops/stuck, not only in its
log (real HTTP, a real SQLite store, dev tokens off as on PostgreSQL).

The hole: the simulated warehouse, refused, logged an error and every order stopped at
``picking``; an operator looking at /ops/stuck saw late picks and no reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from oms.domain.auth import OPERATOR_SUBJECT, SIMULATOR_SUBJECT
from oms.store import tokens
from oms.store.db import Database

from stack import api_alone

pytestmark = [pytest.mark.timeout(120)]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refusals(api: httpx.AsyncClient, ops: str) -> list[dict[str, Any]]:
    answer = await api.get("/ops/stuck", params={"kind": "caller"}, headers=_bearer(ops))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    assert all(i["kind"] == "caller" and i["reason"] == "caller_refused" for i in items)
    return items


async def test_an_own_callers_401_and_403_show_in_ops_stuck_until_it_is_accepted(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path, auth_dev_tokens=False) as (
        url,
        settings,
    ):
        db = Database(settings.database_url)
        try:
            with db.session() as session:
                ops, _ = tokens.create_token(session, "ops", "olle")
                stale = tokens.provision(session, "warehouse", SIMULATOR_SUBJECT)
                fresh = tokens.provision(session, "warehouse", SIMULATOR_SUBJECT)  # revokes
        finally:
            db.dispose()
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            assert await _refusals(api, ops) == []
            # make run on PostgreSQL, before: the simulator sent a dev token.
            dev = await api.get("/shipments", headers=_bearer("dev-warehouse"))
            assert dev.status_code == 401
            # A simulator still running with the token of its previous start.
            old = await api.get("/shipments", headers=_bearer(stale))
            assert old.status_code == 401
            # Someone else's refusals are theirs to see: not listed.
            assert (await api.get("/shipments", headers=_bearer("oms_x_y"))).status_code == 401
            assert (await api.put("/products/X", json={}, headers=_bearer(ops))).status_code == 403

            items = {i["business_id"]: i for i in await _refusals(api, ops)}
            assert set(items) == {"dev-warehouse", SIMULATOR_SUBJECT}
            assert items["dev-warehouse"]["last_error"].startswith("401 on GET /shipments")
            assert items[SIMULATOR_SUBJECT]["last_error"].startswith("401 on GET /shipments")
            assert "OMS_SIMULATOR_TOKEN" in items[SIMULATOR_SUBJECT]["suggested_action"]
            # Not in the workflow kinds' lists (which may hold other tests' stuck orders:
            # the Temporal server is shared).
            orders = await api.get("/ops/stuck", params={"kind": "order"}, headers=_bearer(ops))
            listed = orders.json()["items"]
            assert orders.status_code == 200 and all(i["kind"] == "order" for i in listed)
            assert not {"dev-warehouse", SIMULATOR_SUBJECT} & {i["business_id"] for i in listed}

            # Its new token may not call this route: a 403, counted with the 401 before.
            denied = await api.put("/products/CAP-NVY", json={}, headers=_bearer(fresh))
            assert denied.status_code == 403
            again = await api.put("/products/CAP-NVY", json={}, headers=_bearer(fresh))
            assert again.status_code == 403
            items = {i["business_id"]: i for i in await _refusals(api, ops)}
            simulator = items[SIMULATOR_SUBJECT]
            assert simulator["last_error"].startswith("403 on PUT /products/CAP-NVY")
            assert simulator["attempts"] == 3 and simulator["status"] == "403"  # 1 + 2

            # Accepted again: its item clears.
            assert (await api.get("/shipments", headers=_bearer(fresh))).status_code == 200
            left = [i["business_id"] for i in await _refusals(api, ops)]
            assert left == ["dev-warehouse"]


async def test_a_refused_operator_token_is_told_what_fixes_it_not_the_warehouses_fix(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    # The advice was the simulated warehouse's for every caller: "orders wait at picking ...
    # oms token create --role warehouse and set OMS_SIMULATOR_TOKEN".
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path, auth_dev_tokens=False) as (
        url,
        settings,
    ):
        db = Database(settings.database_url)
        try:
            with db.session() as session:
                ops, _ = tokens.create_token(session, "ops", "olle")
                stale = tokens.provision(session, "admin", OPERATOR_SUBJECT)
                tokens.provision(session, "admin", OPERATOR_SUBJECT)  # revokes the stale one
        finally:
            db.dispose()
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            assert (await api.get("/orders", headers=_bearer(stale))).status_code == 401
            [item] = await _refusals(api, ops)
            assert item["business_id"] == OPERATOR_SUBJECT
            advice = item["suggested_action"]
            assert "--role admin" in advice and "OMS_TOKEN" in advice
            assert "picking" not in advice and "OMS_SIMULATOR_TOKEN" not in advice
