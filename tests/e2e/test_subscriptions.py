"""Subscriptions end to end over real HTTP: create, the first order completes, skip, pause,
resume, cancel; a declined renewal through dunning to past_due, listed by ``/ops/stuck``
with its error, and resumed with a new card. The buyer acts on their own only."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from stack import Stack, running_stack, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _body(subscription_id: str, customer_id: str, token: str = "tok_visa") -> dict[str, Any]:
    return {
        "subscription_id": subscription_id,
        "customer": {
            "id": customer_id,
            "name": "Anna Lindqvist",
            "email": "anna@example.com",
            "locale": "sv",
        },
        "currency": "SEK",
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
        "ship_to": {
            "name": "Anna Lindqvist",
            "line1": "Drottninggatan 53",
            "postal_code": "111 21",
            "city": "Stockholm",
            "country": "SE",
        },
        "interval": "P1W",
        "payment": {"method": "card", "token": token},
    }


async def _view(stack: Stack, subscription_id: str) -> dict[str, Any]:
    response = await stack.api.get(f"/subscriptions/{subscription_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _with_orders(stack: Stack, subscription_id: str, count: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        view = await _view(stack, subscription_id)
        return view if len(view["orders"]) >= count else None

    result: dict[str, Any] = await wait_until(
        probe, 60, f"{subscription_id} never placed {count} order(s)"
    )
    return result


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_subscription_places_its_first_order_then_skip_pause_resume_cancel(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(
        temporal_client, migrated_sqlite_url, tmp_path, subscription_dunning_s="1,1"
    ) as (stack, _):
        buyer = stack.as_role("buyer")  # customer C-42
        sid = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        created = await buyer.post("/subscriptions", json=_body(sid, "C-42"))
        assert created.status_code == 202, created.text
        assert created.json() == {"subscription_id": sid, "status": "active"}
        again = await buyer.post("/subscriptions", json=_body(sid, "C-42"))
        assert again.status_code == 200 and again.json()["subscription_id"] == sid

        view = await _with_orders(stack, sid, 1)
        order_id = view["orders"][0]["order_id"]
        # 249.00 at the SEK list price and 49.00 standard shipping, VAT included.
        assert order_id == f"SUB-{sid}-1" and view["orders"][0]["total"] == "298.00"
        order = await stack.fulfil(order_id)
        assert order["status"] == "completed" and order["channel"] == "subscription"
        assert (order["subtotal"], order["shipping"], order["tax_total"]) == (
            "249.00",
            "49.00",
            "59.60",
        )
        assert order["price_source"] == "price_list"
        view = await _view(stack, sid)
        assert view["orders"][0]["status"] == "completed"
        anchor = _at(view["anchor"])
        assert _at(view["next_renewal_at"]) == anchor + timedelta(weeks=1)

        # Someone else's buyer token sees and changes nothing, and learns nothing: a 404,
        # as for an id that does not exist (ids cannot be enumerated).
        other = stack.as_token("dev-buyer-C-99")
        assert (await other.get(f"/subscriptions/{sid}")).status_code == 404
        assert (await other.post(f"/subscriptions/{sid}/skip")).status_code == 404
        lines = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 5}]}
        changed = await other.patch(f"/subscriptions/{sid}", json=lines)
        assert changed.status_code == 404, changed.text
        mine = await other.get("/subscriptions")
        assert mine.status_code == 200 and mine.json()["items"] == []

        skipped = await buyer.post(f"/subscriptions/{sid}/skip")
        assert skipped.status_code == 200, skipped.text
        assert _at(skipped.json()["next_renewal_at"]) == anchor + timedelta(weeks=2)
        paused = await buyer.post(f"/subscriptions/{sid}/pause", json={})
        assert paused.json()["status"] == "paused" and paused.json()["next_renewal_at"] is None
        again_paused = await buyer.post(f"/subscriptions/{sid}/pause", json={})
        assert again_paused.status_code == 409 and again_paused.json()["title"] == "NotActive"
        resumed = await buyer.post(f"/subscriptions/{sid}/resume", json={})
        assert resumed.json()["status"] == "active"
        assert _at(resumed.json()["next_renewal_at"]) == anchor + timedelta(weeks=2)
        cancelled = await buyer.post(f"/subscriptions/{sid}/cancel", json={"reason": "moving"})
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["next_renewal_at"] is None

        async def ended() -> dict[str, Any] | None:
            view = await _view(stack, sid)
            return view if view["status"] == "cancelled" else None

        view = await wait_until(ended, 30, "the read model never showed the cancel")
        statuses = [h["status"] for h in view["history"]]
        assert statuses[-3:] == ["paused", "active", "cancelled"]
        assert any(h["action"] == "skipped" for h in view["history"])
        listed = await stack.api.get("/subscriptions", params={"customer_id": "C-42"})
        assert [s["subscription_id"] for s in listed.json()["items"]] == [sid]

        await _declined_goes_past_due_and_shows_as_stuck(stack)


async def _declined_goes_past_due_and_shows_as_stuck(stack: Stack) -> None:
    sid = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    created = await stack.api.post("/subscriptions", json=_body(sid, "C-7", "tok_declined"))
    assert created.status_code == 202, created.text

    async def stuck() -> dict[str, Any] | None:
        response = await stack.as_role("ops").get("/ops/stuck", params={"kind": "subscription"})
        items = {i["workflow_id"]: i for i in response.json()["items"]}
        return items.get(f"subscription-{sid}")

    item = await wait_until(stuck, 60, "the past-due subscription never showed as stuck")
    assert item["status"] == "past_due" and item["reason"] == "needs_a_person"
    assert item["last_error"] == f"payment for SUB-{sid}-1 declined: card_declined"
    assert f"/subscriptions/{sid}/resume" in item["suggested_action"]

    resumed = await stack.api.post(
        f"/subscriptions/{sid}/resume", json={"payment": {"method": "card", "token": "tok_visa"}}
    )
    assert resumed.status_code == 200, resumed.text
    view = await _with_orders(stack, sid, 1)
    assert view["status"] == "active" and view["last_error"] is None
    keys = [m.key for m in stack.smtp.messages if m.key.startswith(f"subscription:{sid}:")]
    assert sum(":declined:" in k for k in keys) == 2 and any(":past_due:" in k for k in keys)
