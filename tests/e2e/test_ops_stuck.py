"""Operations end to end: four kinds of stuck workflow beside healthy orders, each found by
``/ops/stuck`` with its reason and cleared by its intervention."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from oms import search_attributes as sa
from oms.settings import WORKFLOW_QUEUE
from sandboxes.warehouse import run as run_warehouse

from stack import Stack, order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
HEALTHY = 10  # orders flowing beside the stuck ones: enough to show none is listed


async def _stuck(stack: Stack, run: str = "") -> dict[str, dict[str, Any]]:
    """The stuck list; with ``run``, only this run's workflows: other tests on the same
    server may leave theirs behind (each of those tests says why it is stuck, not this one)."""
    response = await stack.api.get("/ops/stuck")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return {item["workflow_id"]: item for item in items if run in item["workflow_id"]}


async def _shipment_id(stack: Stack, order_id: str) -> str:
    order = await stack.wait_for_status(order_id, {"picking"}, timeout_s=120)
    return str(order["shipments"][0]["shipment_id"])


async def test_stuck_finder_names_each_case_and_interventions_clear_them(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(
        temporal_client,
        migrated_sqlite_url,
        tmp_path,
        carrier_simulate=True,
        pick_sla_s=25,  # the Malmö pick turns past its deadline; healthy ones pick in seconds
        step_deadline_s=3,
        stuck_attempts=2,
        quote_approver_reminder_s=4,
        simulate_delay_s=0,
        # The simulated warehouses in Stockholm and Gothenburg work; Malmö does not pick.
        simulate_warehouses="WH-STO,WH-GOT",
    ) as (stack, _):
        stop = asyncio.Event()
        warehouse = asyncio.create_task(run_warehouse(stack.settings, stop))
        try:
            await _scenario(stack, temporal_client)
        finally:
            stop.set()
            await warehouse


async def _scenario(stack: Stack, temporal_client: Client) -> None:
    run = uuid.uuid4().hex[:6].upper()
    stocked = await stack.api.put("/warehouses/WH-STO/stock/TSHIRT-BLK-M", json={"on_hand": 500})
    assert stocked.status_code == 200
    # Healthy orders, flowing through warehouse and carrier beside the stuck ones.
    healthy = [f"OPS-{run}-OK{i}" for i in range(HEALTHY)]
    placed = await asyncio.gather(
        *(stack.place(order_body(o, [("TSHIRT-BLK-M", 1, "249.00")])) for o in healthy)
    )
    assert {r.status_code for r in placed} == {202}
    # 1. The carrier refuses one address for good: that shipment waits for a person. (A
    # country it does not serve: a postal code of the wrong shape the API refuses first.)
    refused = f"OPS-{run}-ADDR"
    tokyo = order_body(refused, [("CAP-NVY", 1, "199.00")])
    tokyo["ship_to"] |= {"postal_code": "100-0001", "city": "Tokyo", "country": "JP"}
    assert (await stack.place(tokyo)).status_code == 202
    refused_ship = f"{refused}-S1"
    # 2. A pick nobody confirms: Malmö's warehouse is not picking.
    late = f"OPS-{run}-LATE"
    await stack.place(
        order_body(late, [("SNEAKER-WHT-42", 1, "1199.00")], city="Malmö", postal_code="211 22")
    )
    late_ship = await _shipment_id(stack, late)
    # 3. A quote nobody approves.
    quote_id = f"OPS-{run}-Q"
    quote = {
        "quote_id": quote_id,
        "customer": {
            "id": "C-ACME-1",
            "name": "Karin",
            "email": "karin@acme.example",
            "company_id": "ACME-AB",
        },
        "currency": "SEK",
        "lines": [{"sku": "HOODIE-GRY-L", "quantity": 10}],
        "ship_to": {
            "name": "Acme",
            "line1": "Industrivägen 4",
            "postal_code": "171 48",
            "city": "Solna",
            "country": "SE",
        },
    }
    assert (await stack.api.post("/quotes", json=quote)).status_code == 202
    proposed = await stack.as_role("sales").post(
        f"/quotes/{quote_id}/proposals",
        json={
            "overrides": [{"sku": "HOODIE-GRY-L", "unit_price": "500.00", "reason": "clearance"}],
        },
    )
    assert proposed.json()["status"] == "pending_approval"

    async def healthy_done() -> bool:
        listed = await stack.api.get("/orders", params={"status": "completed", "limit": 500})
        done = {o["order_id"] for o in listed.json()["items"]}
        return set(healthy) <= done

    await wait_until(healthy_done, 240, "healthy orders did not complete", interval=1.0)
    # 4. The carrier goes down (503) while one more order is packed: its rates call retries.
    await stack.carrier.aconfigure(failure_rate_503=1.0)
    retrying = f"OPS-{run}-503"
    await stack.place(order_body(retrying, [("CAP-NVY", 1, "199.00")]))
    retrying_ship = f"{retrying}-S1"

    expected = {
        f"shipment-{retrying_ship}": "activity_retrying",
        f"shipment-{refused_ship}": "needs_a_person",
        f"shipment-{late_ship}": "past_deadline",
        f"quote-{quote_id}": "past_deadline",
    }

    seen: dict[str, dict[str, Any]] = {}

    async def all_four() -> dict[str, dict[str, Any]] | None:
        found = await _stuck(stack, run)
        seen.clear()
        seen.update(found)
        return found if set(found) == set(expected) else None

    try:
        found = await wait_until(all_four, 60, "the stuck list never showed exactly the four")
    except AssertionError:
        raise AssertionError({wf: (i["reason"], i["stage"]) for wf, i in seen.items()}) from None
    assert {wf: item["reason"] for wf, item in found.items()} == expected
    # The UI's list view runs the same query through Temporal's visibility: the same set.
    body = (await stack.api.get("/ops/stuck")).json()
    listed = {wf.id async for wf in temporal_client.list_workflows(body["query"]) if run in wf.id}
    assert listed == set(expected)
    # ... and so does the documented query on stage and waiting-since.
    # (Limited to this stack's task queue: workflows left running by earlier tests in the
    # session started with other deadlines than this stack's settings.)
    mine = f"TaskQueue = '{stack.settings.queue(WORKFLOW_QUEUE)}'"
    by_stage = {
        wf.id async for wf in temporal_client.list_workflows(f"{body['stage_query']} AND {mine}")
    }
    assert by_stage == set(expected), body["stage_query"]
    assert "OmsStage" in body["stage_query"] and "OmsWaitingSince" in body["stage_query"]
    assert body["ui_stage_list_url"].startswith(f"{stack.settings.temporal_ui_url}/namespaces/")
    assert body["ui_list_url"].startswith(f"{stack.settings.temporal_ui_url}/namespaces/")
    for item in found.values():
        assert item["since"] and item["suggested_action"]
        assert item["ui_url"].endswith(f"/namespaces/default/workflows/{item['workflow_id']}")
    carrier_item = found[f"shipment-{retrying_ship}"]
    assert "503" in (carrier_item["last_error"] or "")
    assert carrier_item["attempts"] >= 2 and carrier_item["activity"] == "carrier.quote_rates"
    assert found[f"quote-{quote_id}"]["stage"] == "awaiting_approval"
    # A held shipment fails no call; its last error is why it was held (the rule, not the
    # address: the reason travels in clear).
    held_item = found[f"shipment-{refused_ship}"]
    assert "country JP is not served" in (held_item["last_error"] or ""), held_item
    assert "100-0001" not in held_item["last_error"]

    # What the UI shows is what describe returns: search attributes and current details.
    held = await temporal_client.get_workflow_handle(f"shipment-{refused_ship}").describe()
    assert held.typed_search_attributes.get(sa.STAGE) == "shipment_held"
    assert held.typed_search_attributes.get(sa.WAITING_FOR) == "operations"
    metadata = await temporal_client.get_workflow_handle(f"shipment-{refused_ship}").query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    assert "`held`" in metadata.current_details

    # Interventions.
    await stack.carrier.aconfigure(failure_rate_503=0.0)
    ops = stack.as_role("ops")
    retried = await ops.post(
        f"/ops/workflows/shipment-{retrying_ship}/retry-now",
        json={"reason": "carrier back up"},
    )
    assert retried.status_code == 200, retried.text
    cancelled = await ops.post(f"/ops/orders/{refused}/cancel", json={"reason": "bad address"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await stack.api.post(f"/shipments/{late_ship}/pick", json={})).status_code == 200
    assert (
        await stack.api.post(
            f"/shipments/{late_ship}/pack", json={"packages": [{"weight_grams": 300}]}
        )
    ).status_code == 200
    approved = await stack.as_role("sales_manager").post(
        f"/quotes/{quote_id}/approvals", json={"decision": "approve"}
    )
    assert approved.status_code == 200, approved.text

    async def cleared() -> bool:
        return not (set(await _stuck(stack)) & set(expected))

    await wait_until(cleared, 60, "interventions did not clear the stuck list")
    # The sandbox carrier scans at once: the order may be past "shipped" by the next look.
    moved_on = {"shipped", "delivered", "completed"}
    await stack.wait_for_status(retrying, moved_on, timeout_s=30)
    order = await stack.order(retrying)
    ship = await temporal_client.get_workflow_handle(f"shipment-{retrying_ship}").query("state")
    assert any("dev-ops" in h["note"] and "retry_now" in h["note"] for h in ship["history"])
    assert order["status"] in moved_on
