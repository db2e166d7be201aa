"""Done-when: an endpoint registered through the API receives every event of an order's
life, signed (checked with ``standardwebhooks``), in order, while the receiver fails its
first attempts, is down for a while, or the worker is SIGKILLed mid-delivery; the
deliveries list shows every attempt; the feed pulls the same events."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from oms import search_attributes as sa

from stack import Stack, order_body, running_stack, wait_until
from webhook_fixtures import Receiver

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

LIFE = [
    "order.received",
    "order.confirmed",
    "order.allocated",
    "order.shipped",
    "order.delivered",
    "order.completed",
]
FAST = {
    "webhooks_allow_http": True,
    "webhooks_retry_base_s": 0.2,
    "webhooks_retry_max_s": 1.0,
    "webhooks_timeout_s": 1.0,
    "webhooks_poll_s": 0.1,
    "webhooks_idle_s": 3.0,
}
LINES = [("TSHIRT-BLK-M", 1, "249.00")]


async def register(stack: Stack, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    response = await stack.api.post(
        "/webhooks/endpoints", json={"url": receiver.url, "events": events, "description": "t"}
    )
    assert response.status_code == 201, response.text
    created = dict(response.json())
    assert created["secret"].startswith("whsec_")
    receiver.secret = created["secret"]
    return created


def order_events(receiver: Receiver, order_id: str) -> list[str]:
    return [
        r.body["type"]
        for r in receiver.accepted()
        if r.body["type"].startswith("order.") and r.body["data"]["order_id"] == order_id
    ]


async def life_delivered(receiver: Receiver, order_id: str, timeout_s: float = 60) -> None:
    async def done() -> bool:
        return "order.completed" in order_events(receiver, order_id)

    await wait_until(done, timeout_s, f"not every event of {order_id} arrived", interval=0.2)


def check_signed_in_order_same_ids(receiver: Receiver, order_id: str) -> None:
    assert all(r.verified for r in receiver.requests)
    events = order_events(receiver, order_id)
    # At least once: a repeat is possible, but never out of order.
    assert list(dict.fromkeys(events)) == LIFE, events
    ids: dict[str, str] = {}
    for r in receiver.requests:
        assert r.body["id"] == r.id
        assert ids.setdefault(r.id, r.body["type"]) == r.body["type"]


async def test_an_order_s_events_arrive_signed_in_order_through_failing_first_attempts(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with Receiver(fail_first=2) as receiver:
        async with running_stack(temporal_client, migrated_sqlite_url, tmp_path, **FAST) as (
            stack,
            _,
        ):
            endpoint = await register(stack, receiver, ["order.*"])
            order_id = f"WH-{uuid.uuid4().hex[:8].upper()}"
            assert (await stack.place(order_body(order_id, LINES))).status_code == 202
            await stack.fulfil(order_id)
            await life_delivered(receiver, order_id)
            check_signed_in_order_same_ids(receiver, order_id)
            # Every event: two 500s, then accepted, under one webhook-id.
            by_id: dict[str, list[int]] = {}
            for r in receiver.requests:
                by_id.setdefault(r.id, []).append(r.answered)
            assert all(codes[:3] == [500, 500, 204] for codes in by_id.values()), by_id

            deliveries = (
                await stack.api.get(f"/webhooks/endpoints/{endpoint['endpoint_id']}/deliveries")
            ).json()
            attempts = deliveries["attempts"]
            shipped = [a for a in attempts if a["type"] == "order.shipped"]
            assert [a["outcome"] for a in reversed(shipped)] == ["failed", "failed", "delivered"]
            assert [a["status_code"] for a in reversed(shipped)] == [500, 500, 204]
            assert shipped[-1]["next_retry_at"] is not None and shipped[-1]["error"]
            assert deliveries["pending"] == 0 and deliveries["dead"] == 0

            # The feed: the same events, in order, page by page.
            seen, cursor = [], ""
            while True:
                page = (await stack.api.get("/events", params={"after": cursor, "limit": 2})).json()
                if not page["events"]:
                    break
                seen += page["events"]
                cursor = page["next_cursor"]
            mine = [e for e in seen if e["type"].startswith("order.")]
            mine = [e for e in mine if e["data"]["order_id"] == order_id]
            assert [e["type"] for e in mine] == LIFE
            sent = {r.id: r.body for r in receiver.accepted()}
            assert all(sent[e["id"]] == e for e in mine)


async def test_a_receiver_down_for_a_while_then_timing_out_gets_everything_once_back(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path, **FAST) as (stack, _):
        endpoint = await register(stack, receiver, ["order.*", "shipment.shipped"])
        order_id = f"WH-{uuid.uuid4().hex[:8].upper()}"
        assert (await stack.place(order_body(order_id, LINES))).status_code == 202
        path = f"/webhooks/endpoints/{endpoint['endpoint_id']}/deliveries"

        async def refused_a_few() -> bool:
            return len((await stack.api.get(path)).json()["attempts"]) >= 3

        await wait_until(refused_a_few, 30, "no failed attempts while down")
        assert all(a["status_code"] is None for a in (await stack.api.get(path)).json()["attempts"])
        # The relay says what it waits for in the UI: its kind, and the next attempt's time
        # as every other detail shows a moment (not a raw datetime with microseconds).
        relay = temporal_client.get_workflow_handle(f"webhook-{endpoint['endpoint_id']}")
        assert (await relay.describe()).typed_search_attributes.get(sa.KIND) == "webhook_relay"

        async def backing_off() -> str | None:
            metadata = await relay.query(
                "__temporal_workflow_metadata", result_type=WorkflowMetadata
            )
            return metadata.current_details if "failing" in metadata.current_details else None

        details = await wait_until(backing_off, 30, "the relay never said it was failing")
        assert re.search(r"next attempt at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$", details), details
        # Back up, but answering after the sender's timeout: still failing.
        receiver.delay_s = 1.5
        receiver.start()
        try:
            await wait_until(lambda: _ready(receiver.requests), 20, "no attempt reached it")
            receiver.delay_s = 0.0
            await stack.fulfil(order_id)
            await life_delivered(receiver, order_id)
        finally:
            receiver.stop()
        check_signed_in_order_same_ids(receiver, order_id)
        errors = [a["error"] or "" for a in (await stack.api.get(path)).json()["attempts"]]
        assert any("timeout" in e for e in errors), errors
        assert any(r.body["type"] == "shipment.shipped" for r in receiver.accepted())


async def _ready(value: Any) -> Any:
    return value


async def test_a_killed_worker_mid_delivery_loses_nothing_and_keeps_ids_and_order(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    # Slow answers, so the kill lands while a delivery is in flight.
    with Receiver(delay_s=0.4) as receiver:
        async with running_stack(
            temporal_client, migrated_sqlite_url, tmp_path, worker_in_process=False, **FAST
        ) as (stack, worker):
            assert worker is not None
            await register(stack, receiver, ["order.*"])
            ids = [f"WK-{uuid.uuid4().hex[:8].upper()}" for _ in range(2)]
            for order_id in ids:
                assert (await stack.place(order_body(order_id, LINES))).status_code == 202
            await wait_until(
                lambda: _ready(len(receiver.requests) >= 2), 30, "no deliveries before the kill"
            )
            worker.kill()
            await asyncio.sleep(0.5)
            worker.start()
            for order_id in ids:
                await stack.fulfil(order_id, timeout_s=90)
            for order_id in ids:
                await life_delivered(receiver, order_id, timeout_s=60)
                check_signed_in_order_same_ids(receiver, order_id)


async def test_dead_deliveries_show_in_ops_stuck_and_replay_resends_them(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with Receiver(fail_first=10_000) as receiver:
        settings = FAST | {"webhooks_give_up_s": 1.0}
        async with running_stack(temporal_client, migrated_sqlite_url, tmp_path, **settings) as (
            stack,
            _,
        ):
            endpoint = await register(stack, receiver, ["order.received", "order.confirmed"])
            path = f"/webhooks/endpoints/{endpoint['endpoint_id']}"
            order_id = f"WD-{uuid.uuid4().hex[:8].upper()}"
            assert (await stack.place(order_body(order_id, LINES))).status_code == 202

            async def both_dead() -> bool:
                return (await stack.api.get(f"{path}/deliveries")).json()["dead"] == 2

            await wait_until(both_dead, 30, "the deliveries never died")
            stuck = (await stack.api.get("/ops/stuck", params={"kind": "webhook"})).json()
            dead = [i for i in stuck["items"] if i["reason"] == "delivery_dead"]
            assert {i["stage"] for i in dead} == {"order.received", "order.confirmed"}
            assert all(i["last_error"].startswith("HTTP 500") for i in dead)

            receiver.fail_first = 0
            # The advice is the request to send, as it stands: the oldest dead event's.
            first = min(dead, key=lambda i: i["since"])
            advised = json.loads(first["suggested_action"].split("/replay ", 1)[1].split(" (")[0])
            replayed = await stack.api.post(f"{path}/replay", json=advised)
            assert replayed.json()["requeued"] == 2
            await wait_until(
                lambda: _ready(len(receiver.accepted()) == 2), 20, "replay did not resend"
            )
            assert [r.body["type"] for r in receiver.accepted()] == [
                "order.received",
                "order.confirmed",
            ]
            stuck = (await stack.api.get("/ops/stuck", params={"kind": "webhook"})).json()
            assert not [i for i in stuck["items"] if i["reason"] == "delivery_dead"]
