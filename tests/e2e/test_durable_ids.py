"""Idempotency that outlives Temporal's retention, over real HTTP on a real stack.

The attacks: an order id reused after its workflow is gone from Temporal started a second
order; a quote's derived order id (``Q-x-O``) or a return's exchange id (``RMA-...-X``)
could be taken first to block the victim's accept or exchange; a start whose reply was
lost became a second order on retry.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from oms.ids import order_workflow_id
from oms.store import subscriptions
from workflows.subscription import subscription_workflow_id

from stack import (
    api_socket,
    order_body,
    running_api,
    running_stack,
    start_dev_server,
    wait_until,
)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


@asynccontextmanager
async def _forgetful_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal server that never heard of any order: what retention makes of a closed
    workflow's id (deleting one on the dev server takes longer than a test)."""
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


async def test_ids_stay_taken_after_temporal_forgets_and_derived_ids_cannot_be_squatted(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        run = uuid.uuid4().hex[:6].upper()
        order_id = f"D-{run}"
        body = order_body(order_id, [("CAP-NVY", 1, "199.00")])
        assert (await stack.place(body)).status_code == 202
        await stack.wait_for_status(order_id, {"picking"})

        # The same store, and a Temporal that has forgotten the order (retention passed).
        async with _forgetful_temporal() as forgetful:
            settings = stack.settings.model_copy(
                update={"temporal_address": forgetful.client.service_client.config.target_host}
            )
            sock = api_socket()
            settings.api_port = sock.getsockname()[1]
            with running_api(settings, sock) as url:
                headers = {"Authorization": "Bearer dev-admin"}
                async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as api:
                    other = order_body(order_id, [("SOCKS-3PK", 2, "99.00")])
                    reused = await api.post("/orders", json=other)
                    assert reused.status_code == 409, reused.text
                    assert reused.json()["title"] == "OrderIdConflict"
                    # The same order again is a resubmission: its stored view, nothing new.
                    again = await api.post("/orders", json=body)
                    assert again.status_code == 200, again.text
                    assert again.json()["order_id"] == order_id
            handle = forgetful.client.get_workflow_handle(order_workflow_id(order_id))
            with pytest.raises(RPCError) as unknown:
                await handle.describe()
            assert unknown.value.status == RPCStatusCode.NOT_FOUND

        # A quote's order id is reserved with the quote: nobody can place it first.
        quote_id = f"D-{run}-Q"
        quote = {
            "quote_id": quote_id,
            "customer": {
                "id": "C-ACME-1",
                "name": "Karin",
                "email": "karin@acme.example",
                "company_id": "ACME-AB",
            },
            "currency": "SEK",
            "lines": [{"sku": "HOODIE-GRY-L", "quantity": 5}],
            "ship_to": body["ship_to"],
        }
        assert (await stack.api.post("/quotes", json=quote)).status_code == 202
        squat = await stack.place(order_body(f"{quote_id}-O", [("CAP-NVY", 1, "199.00")]))
        assert squat.status_code == 409, squat.text
        # A return's exchange id (predictable: RMA-<order>-<n>-X) is never a client's.
        exchange = await stack.place(order_body(f"RMA-{order_id}-1-X", [("CAP-NVY", 1, "1")]))
        assert exchange.status_code == 422, exchange.text
        assert exchange.json()["errors"][0]["loc"] == ["body", "order_id"]


async def test_an_idempotency_key_makes_a_retried_start_one_order(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        body = order_body("unused", [("CAP-NVY", 1, "199.00")])
        del body["order_id"]  # the server picks the id: a lost reply used to mean a 2nd order
        key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
        first = await stack.api.post("/orders", json=body, headers=key)
        assert first.status_code == 202, first.text
        retry = await stack.api.post("/orders", json=body, headers=key)
        assert retry.status_code == 202, retry.text
        assert retry.json() == first.json()
        assert retry.headers["idempotent-replayed"] == "true"
        changed = body | {"channel": "pos"}
        mismatch = await stack.api.post("/orders", json=changed, headers=key)
        assert mismatch.status_code == 422, mismatch.text
        assert mismatch.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
        # Another caller's key is theirs: the same key starts their own order.
        theirs = await stack.as_role("sales").post("/orders", json=body, headers=key)
        assert theirs.status_code == 202, theirs.text
        assert theirs.json()["order_id"] != first.json()["order_id"]
        order_id = first.json()["order_id"]

        async def both() -> list[str] | None:
            params = {"customer_id": body["customer"]["id"]}
            page = (await stack.api.get("/orders", params=params)).json()
            ids = [o["order_id"] for o in page["items"]]
            return ids if len(ids) == 2 else None

        ids = await wait_until(both, 30, "the two orders never reached the read model")
        assert order_id in ids and theirs.json()["order_id"] in ids
        # Left where no deadline is near (the dev server is shared with other tests).
        for started in ids:
            await stack.wait_for_status(started, {"picking"})


async def test_a_subscription_id_stays_taken_after_temporal_forgets(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """Subscription ids are reserved in the store like order ids: after retention, the id
    with another body is a 409 and with the same body the stored subscription, not a new one."""
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        sid = f"D-{uuid.uuid4().hex[:6].upper()}"
        later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        body = {
            "subscription_id": sid,
            "customer": {"id": "C-42", "name": "Anna", "email": "anna@example.com"},
            "currency": "SEK",
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "ship_to": order_body(sid, [])["ship_to"],
            "interval": "P1W",
            "start_at": later,  # no renewal during the test
            "payment": {"method": "card", "token": "tok_visa"},
        }
        assert (await stack.api.post("/subscriptions", json=body)).status_code == 202

        async def stored() -> bool | None:
            with stack.db.session() as session:
                return subscriptions.get_subscription(session, sid) is not None or None

        await wait_until(stored, 30, "the subscription never reached the read model")
        async with _forgetful_temporal() as forgetful:
            settings = stack.settings.model_copy(
                update={"temporal_address": forgetful.client.service_client.config.target_host}
            )
            sock = api_socket()
            settings.api_port = sock.getsockname()[1]
            with running_api(settings, sock) as url:
                headers = {"Authorization": "Bearer dev-admin"}
                async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as api:
                    other = body | {"interval": "P1M"}
                    reused = await api.post("/subscriptions", json=other)
                    assert reused.status_code == 409, reused.text
                    assert reused.json()["title"] == "SubscriptionIdConflict"
                    again = await api.post("/subscriptions", json=body)
                    assert again.status_code == 200, again.text
                    assert again.json()["subscription_id"] == sid
            handle = forgetful.client.get_workflow_handle(subscription_workflow_id(sid))
            with pytest.raises(RPCError) as unknown:
                await handle.describe()
            assert unknown.value.status == RPCStatusCode.NOT_FOUND
        # Not left running on the shared server.
        ended = await stack.api.post(f"/subscriptions/{sid}/cancel", json={"reason": "test"})
        assert ended.status_code == 200, ended.text
