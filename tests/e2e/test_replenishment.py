"""End to end over HTTP: orders push a SKU below its reorder point -> one team email, one
purchase order (CSV attached) -> supplier confirms -> goods arrive in two parts -> the
backordered orders allocate oldest first. Then the daily scan (the worker's Temporal
Schedule, triggered now) catches a SKU lowered by hand.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from oms import search_attributes as sa
from oms.store.tables import ReplenishmentRow, StockRow
from workers.schedules import low_stock_schedule_id

from stack import Stack, order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

SUPPLIER_EMAIL = "orders@linnea-textil.example"


async def _new_sku(stack: Stack, on_hand: int, point: int, qty: int) -> str:
    sku = f"REP-{uuid.uuid4().hex[:6].upper()}"
    put = await stack.api.put(
        f"/products/{sku}", json={"name": "Linen towel", "unit_price": "99.00"}
    )
    assert put.status_code == 200, put.text
    stock = await stack.api.put(f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": on_hand})
    assert stock.status_code == 200, stock.text
    policy = await stack.api.put(
        f"/warehouses/WH-STO/reorder-policies/{sku}",
        json={"reorder_point": point, "reorder_qty": qty, "supplier_id": "LINNEA"},
    )
    assert policy.status_code == 200, policy.text
    assert policy.json()["available"] == on_hand
    return sku


async def _place(stack: Stack, sku: str, qty: int, statuses: set[str]) -> str:
    order_id = f"REP-{uuid.uuid4().hex[:8].upper()}"
    response = await stack.place(order_body(order_id, [(sku, qty, "99.00")]))
    assert response.status_code == 202, response.text
    await stack.wait_for_status(order_id, statuses)
    return order_id


async def _replenishment(stack: Stack, ref: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await stack.api.get(f"/replenishment/{ref}")
        body = dict(response.json()) if response.status_code == 200 else {}
        return body if body.get("status") == status else None

    return await wait_until(probe, 30, f"{ref} never reached {status}")


def _to(stack: Stack, address: str) -> list[str]:
    return [m.key for m in stack.smtp.messages if m.to == address]


async def test_low_stock_raises_one_purchase_order_and_deliveries_fill_backorders_oldest_first(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        supplier = await stack.api.put(
            "/suppliers/LINNEA",
            json={"name": "Linnea Textil", "email": SUPPLIER_EMAIL, "lead_time_days": 4},
        )
        assert supplier.status_code == 200, supplier.text
        sku = await _new_sku(stack, on_hand=3, point=1, qty=5)
        wid, po_id = f"replenish-WH-STO-{sku}-1", f"PO-WH-STO-{sku}-1"
        placed = {"allocated", "picking"}

        first = await _place(stack, sku, 2, placed)  # 1 left: at the reorder point
        team = await stack.wait_for_email(f"{wid}:low-stock")
        order_mail = await stack.wait_for_email(f"{po_id}:purchase-order")
        # Found by kind and warehouse, as ops filter for it (it started without either).
        started = await temporal_client.get_workflow_handle(wid).describe()
        found = started.typed_search_attributes
        assert (found.get(sa.KIND), found.get(sa.WAREHOUSE)) == ("replenishment", "WH-STO")
        second = await _place(stack, sku, 1, placed)  # 0 left: the same episode
        older = await _place(stack, sku, 1, {"backordered"})
        newer = await _place(stack, sku, 2, {"backordered"})

        assert team.to == stack.settings.purchasing_email
        assert sku in team.subject and po_id in team.text
        assert order_mail.to == SUPPLIER_EMAIL
        [attachment] = list(order_mail.message.iter_attachments())
        assert attachment.get_filename() == f"{po_id}.csv"
        rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
        assert [(r["po_id"], r["sku"], r["quantity"]) for r in rows] == [(po_id, sku, "5")]

        view = await _replenishment(stack, po_id, "awaiting_confirmation")
        assert (view["workflow_id"], view["ordered"], view["supplier_id"]) == (wid, 5, "LINNEA")
        confirmed = await stack.api.post(
            f"/replenishment/{po_id}/confirm", json={"by": "Linnea", "supplier_reference": "L-1"}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "awaiting_goods"
        again = await stack.api.post(f"/replenishment/{po_id}/confirm", json={})
        assert again.status_code == 409, again.text

        part = await stack.api.post(f"/replenishment/{wid}/receipts", json={"quantity": 1})
        assert part.status_code == 200, part.text
        assert (part.json()["status"], part.json()["received"]) == ("partially_received", 1)
        assert part.json()["filled_orders"] == [older]
        await stack.wait_for_status(older, placed)
        assert (await stack.order(newer))["status"] == "backordered"

        too_many = await stack.api.post(f"/replenishment/{wid}/receipts", json={"quantity": 5})
        assert too_many.status_code == 422, too_many.text
        assert too_many.json()["errors"][0]["loc"] == ["body", "quantity"]

        rest = await stack.api.post(f"/replenishment/{wid}/receipts", json={"quantity": 4})
        assert rest.status_code == 200, rest.text
        # The receipt that completes it answers with the episode as it now is: closed.
        assert (rest.json()["status"], rest.json()["received"]) == ("closed", 5)
        assert rest.json()["filled_orders"] == [older, newer]
        await stack.wait_for_status(newer, placed)
        done = await _replenishment(stack, po_id, "closed")
        assert done["received"] == 5
        for order_id in (first, second, older, newer):
            assert (await stack.order(order_id))["backordered"] == []

        # One email to the team and one purchase order, however many orders took the SKU.
        assert _to(stack, stack.settings.purchasing_email) == [f"{wid}:low-stock"]
        assert _to(stack, SUPPLIER_EMAIL) == [f"{po_id}:purchase-order"]
        listed = await stack.api.get("/replenishment", params={"sku": sku})
        assert [(r["status"], r["po_status"], r["received"]) for r in listed.json()["items"]] == [
            ("closed", "received", 5)
        ]
        with stack.db.session() as session:
            stock = session.get(StockRow, ("WH-STO", sku))
            assert stock is not None and (stock.on_hand, stock.reserved) == (8, 6)


async def test_the_daily_scan_schedule_catches_stock_lowered_by_hand(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(
        temporal_client, database_url, tmp_path, low_stock_scan_cron="0 6 * * *"
    ) as (stack, _):
        await stack.api.put(
            "/suppliers/LINNEA",
            json={"name": "Linnea Textil", "email": SUPPLIER_EMAIL, "lead_time_days": 4},
        )
        sku = await _new_sku(stack, on_hand=20, point=5, qty=10)
        lowered = await stack.api.put(f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": 2})
        assert lowered.status_code == 200, lowered.text
        with stack.db.session() as session:
            episodes = select(ReplenishmentRow).where(ReplenishmentRow.sku == sku)
            assert session.scalars(episodes).all() == []

        schedule = temporal_client.get_schedule_handle(low_stock_schedule_id(stack.settings))
        await schedule.trigger()
        await stack.wait_for_email(f"replenish-WH-STO-{sku}-1:low-stock", timeout_s=30)
        await stack.wait_for_email(f"PO-WH-STO-{sku}-1:purchase-order")
        await schedule.trigger()  # a second scan starts nothing new
        view = await _replenishment(stack, f"PO-WH-STO-{sku}-1", "awaiting_confirmation")
        assert view["ordered"] == 10
        assert _to(stack, stack.settings.purchasing_email) == [
            f"replenish-WH-STO-{sku}-1:low-stock"
        ]
        await schedule.delete()


async def test_bad_reorder_policies_and_unknown_replenishments_are_refused_by_name(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        path = "/warehouses/WH-STO/reorder-policies/CAP-NVY"
        zero = await stack.api.put(path, json={"reorder_point": 2, "reorder_qty": 0})
        assert zero.status_code == 422
        assert zero.json()["errors"][0]["loc"] == ["body", "reorder_qty"]
        nobody = await stack.api.put(
            path, json={"reorder_point": 2, "reorder_qty": 5, "supplier_id": "NOBODY"}
        )
        assert nobody.status_code == 422
        assert nobody.json()["errors"][0]["loc"] == ["body", "supplier_id"]
        nowhere = await stack.api.put(
            "/warehouses/WH-XXX/reorder-policies/CAP-NVY",
            json={"reorder_point": 2, "reorder_qty": 5},
        )
        assert nowhere.status_code == 404
        assert (await stack.api.get(path)).status_code == 404  # nothing was stored
        set_ = await stack.api.put(path, json={"reorder_point": 2, "reorder_qty": 5})
        assert set_.status_code == 200, set_.text
        got = (await stack.api.get(path)).json()
        assert (got["reorder_point"], got["reorder_qty"], got["supplier_id"]) == (2, 5, "NORDTEX")
        assert (await stack.api.get("/replenishment/PO-WH-STO-NOPE-1")).status_code == 404
        missing = await stack.api.post(
            "/replenishment/PO-WH-STO-NOPE-1/receipts", json={"quantity": 1}
        )
        assert missing.status_code == 404
