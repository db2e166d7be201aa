"""Done-when check: 50 concurrent orders for 20 units on PostgreSQL, then 10 more units."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client

from oms.store.tables import BackorderRow, ReservationRow, StockRow

from stack import order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


async def test_fifty_concurrent_orders_for_twenty_units_then_ten_more_fill_the_oldest(
    temporal_client: Client, migrated_postgres_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_postgres_url, tmp_path) as (stack, _):
        sku = f"LTD-{uuid.uuid4().hex[:6].upper()}"
        put = await stack.api.put(
            f"/products/{sku}", json={"name": "Limited print", "unit_price": "349.00"}
        )
        assert put.status_code == 200, put.text
        assert (
            await stack.api.put(f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": 20})
        ).status_code == 200

        ids = [f"LTD-{uuid.uuid4().hex[:8].upper()}" for _ in range(50)]
        responses = await asyncio.gather(
            *(stack.place(order_body(i, [(sku, 1, "349.00")])) for i in ids)
        )
        assert [r.status_code for r in responses] == [202] * 50

        async def settled() -> list[dict[str, object]] | None:
            orders = [await stack.order(i) for i in ids]
            done = all(o["status"] in ("allocated", "picking", "backordered") for o in orders)
            return orders if done else None

        orders = await wait_until(settled, 120, "orders did not all allocate", interval=0.5)
        backordered = [o for o in orders if o["status"] == "backordered"]
        assert len(backordered) == 30
        assert sum(1 for o in orders if o["status"] != "backordered") == 20
        with stack.db.session() as session:
            stock = session.get(StockRow, ("WH-STO", sku))
            assert stock is not None
            assert (stock.on_hand, stock.reserved) == (20, 20)
            reserved = session.scalars(
                select(ReservationRow).where(ReservationRow.sku == sku)
            ).all()
            assert sum(r.quantity for r in reserved) == 20
            open_backorders = session.scalars(
                select(BackorderRow).where(BackorderRow.sku == sku, BackorderRow.quantity_open > 0)
            ).all()
            assert len(open_backorders) == 30
            placed = {b.order_id: b.placed_at for b in open_backorders}
        oldest = sorted(placed, key=lambda oid: placed[oid])[:10]

        receipt = await stack.api.put(f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": 30})
        assert receipt.status_code == 200, receipt.text
        assert sorted(receipt.json()["filled_orders"]) == sorted(oldest)

        async def filled() -> bool:
            states = {i: (await stack.order(i))["status"] for i in placed}
            return (
                all(states[i] != "backordered" for i in oldest)
                and sum(1 for s in states.values() if s == "backordered") == 20
            )

        await wait_until(filled, 60, "the ten oldest backorders were not allocated", interval=0.5)
        with stack.db.session() as session:
            stock = session.get(StockRow, ("WH-STO", sku))
            assert stock is not None and (stock.on_hand, stock.reserved) == (30, 30)
        for order_id in oldest:
            order = await stack.order(order_id)
            assert order["backordered"] == []
            assert [s["warehouse_id"] for s in order["shipments"]] == ["WH-STO"]
