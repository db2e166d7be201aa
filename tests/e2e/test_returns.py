"""End to end over HTTP: delivered order -> return -> receipt -> restock -> refund or exchange.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from oms.store.tables import StockMovementRow, StockRow
from sandboxes.payments import LedgerRow
from workflows.returns import return_workflow_id

from stack import Stack, order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def _id(prefix: str = "RET") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


async def _new_product(stack: Stack, price: str, on_hand: int) -> str:
    sku = f"RET-{uuid.uuid4().hex[:6].upper()}"
    put = await stack.api.put(f"/products/{sku}", json={"name": "Linen shirt", "unit_price": price})
    assert put.status_code == 200, put.text
    stock = await stack.api.put(f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": on_hand})
    assert stock.status_code == 200, stock.text
    return sku


async def _return_status(stack: Stack, rma_id: str, statuses: set[str], timeout_s: float = 60):
    async def probe() -> dict[str, Any] | None:
        response = await stack.api.get(f"/returns/{rma_id}")
        if response.status_code != 200:
            return None
        body = dict(response.json())
        return body if body["status"] in statuses else None

    return await wait_until(probe, timeout_s, f"return {rma_id} never reached {statuses}")


def _ledger(stack: Stack, order_ids: list[str]) -> list[LedgerRow]:
    with stack.payments.session() as session:
        return list(session.scalars(select(LedgerRow).where(LedgerRow.order_id.in_(order_ids))))


async def test_return_of_one_line_restocks_fills_a_backorder_and_refunds_exactly_that_line(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    # The provider is down for the first two attempts of every refund: Temporal retries it.
    async with running_stack(
        temporal_client, database_url, tmp_path, payments_refund_unavailable_attempts=2
    ) as (stack, _):
        sku = await _new_product(stack, "300.00", on_hand=1)
        first = _id()
        body = order_body(first, [(sku, 1, "300.00"), ("SOCKS-3PK", 1, "149.00")])
        assert (await stack.place(body)).status_code == 202
        assert (await stack.fulfil(first))["status"] == "completed"
        waiting = _id()
        assert (await stack.place(order_body(waiting, [(sku, 1, "300.00")]))).status_code == 202
        await stack.wait_for_status(waiting, {"backordered"})

        response = await stack.api.post(
            f"/orders/{first}/returns",
            json={"lines": [{"sku": sku, "quantity": 1, "reason": "changed_mind"}]},
        )
        assert response.status_code == 202, response.text
        rma_id = response.json()["rma_id"]
        assert response.json() == {"rma_id": f"RMA-{first}-1", "status": "requested"}

        ret = await _return_status(stack, rma_id, {"awaiting_receipt"})
        assert ret["authorization"] == "automatic"
        assert ret["label"]["tracking_number"].startswith("SBR")
        assert ret["label"]["return_to_warehouse_id"] == "WH-STO"

        received = await stack.api.post(
            f"/returns/{rma_id}/receive",
            json={
                "warehouse_id": "WH-STO",
                "lines": [{"sku": sku, "quantity": 1, "condition": "resellable"}],
            },
        )
        assert received.status_code == 200, received.text
        assert received.json()["lines"][0]["restocked"] == 1

        ret = await _return_status(stack, rma_id, {"closed"})
        assert Decimal(ret["refund_total"]) == Decimal("300.00")
        assert [h["status"] for h in ret["history"]][-3:] == ["received", "refunded", "closed"]

        # The restocked unit went to the waiting order at once.
        await stack.wait_for_status(waiting, {"allocated", "picking"})
        with stack.db.session() as session:
            stock = session.get(StockRow, ("WH-STO", sku))
            assert stock is not None and (stock.on_hand, stock.reserved) == (1, 1)
            moves = session.scalars(
                select(StockMovementRow).where(StockMovementRow.reference == rma_id)
            ).all()
            assert [(m.kind, m.sku, m.quantity) for m in moves] == [("restock", sku, 1)]

        ledger = _ledger(stack, [first])
        refunds = [t for t in ledger if t.kind == "refund"]
        assert [(r.idempotency_key, r.amount) for r in refunds] == [
            (f"{rma_id}:refund:{sku}", Decimal("300.00"))
        ]
        # The lines and 49.00 shipping; the return refunds its line only.
        assert sum(t.amount for t in ledger if t.kind == "capture") == Decimal("498.00")

        # Temporal retried the refund through the provider's outage: attempt 3 succeeded.
        history = await temporal_client.get_workflow_handle(
            return_workflow_id(rma_id)
        ).fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert 3 in attempts

        order = await stack.order(first)
        assert [(r["rma_id"], r["status"], r["refunded"]) for r in order["returns"]] == [
            (rma_id, "closed", "300.00")
        ]
        by_reason = await stack.api.get("/returns", params={"reason": "changed_mind"})
        assert rma_id in [r["rma_id"] for r in by_reason.json()["items"]]

        again = await stack.api.post(
            f"/orders/{first}/returns",
            json={"lines": [{"sku": sku, "quantity": 1, "reason": "changed_mind"}]},
        )
        assert again.status_code == 422, again.text
        assert again.json()["errors"][0]["type"] == "quantity_too_high"
        not_delivered = await stack.api.post(
            f"/orders/{waiting}/returns",
            json={"lines": [{"sku": sku, "quantity": 1, "reason": "changed_mind"}]},
        )
        assert not_delivered.status_code == 422
        assert not_delivered.json()["errors"][0]["type"] == "not_delivered"

        for key in ("requested", "authorized", "received", "refunded"):
            message = await stack.wait_for_email(f"return:{rma_id}:{key}")
            assert message.to == "anna@example.com"


async def test_exchange_sends_a_replacement_order_that_completes_without_a_charge(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        first = _id()
        assert (await stack.place(order_body(first, [("CAP-NVY", 2, "199.00")]))).status_code == 202
        await stack.fulfil(first)

        response = await stack.api.post(
            f"/orders/{first}/returns",
            json={
                "lines": [{"sku": "CAP-NVY", "quantity": 1, "reason": "defective"}],
                "resolution": "exchange",
            },
        )
        assert response.status_code == 202, response.text
        rma_id = response.json()["rma_id"]
        await _return_status(stack, rma_id, {"awaiting_receipt"})
        received = await stack.api.post(
            f"/returns/{rma_id}/receive",
            json={
                "warehouse_id": "WH-STO",
                "lines": [{"sku": "CAP-NVY", "quantity": 1, "condition": "damaged"}],
            },
        )
        assert received.status_code == 200, received.text
        ret = await _return_status(stack, rma_id, {"closed"})
        replacement = ret["exchange_order_id"]
        assert replacement == f"{rma_id}-X"
        assert "exchanged" in [h["status"] for h in ret["history"]]

        order = await stack.fulfil(replacement)
        assert order["status"] == "completed"
        assert order["total"] == "0.00" and order["channel"] == "exchange"
        # Both orders show the exchange's money and the link between them.
        assert order["exchange_of"] == {
            "rma_id": rma_id,
            "order_id": first,
            "value": "199.00",
            "difference": None,
        }
        [summary] = (await stack.order(first))["returns"]
        assert summary["exchange_order_id"] == replacement
        assert summary["exchange_value"] == "199.00"
        assert "exchange_difference" not in summary  # the same units again: none
        assert _ledger(stack, [replacement]) == []  # nothing authorized, captured or refunded
        assert [t.kind for t in _ledger(stack, [first])].count("refund") == 0
        with stack.db.session() as session:
            moves = session.scalars(
                select(StockMovementRow).where(StockMovementRow.reference == rma_id)
            ).all()
            assert [(m.kind, m.quantity) for m in moves] == [("write_off", 1)]
        await stack.wait_for_email(f"return:{rma_id}:exchanged")


async def test_refunds_never_exceed_captures_when_the_worker_is_killed_mid_refund(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    # On SQLite: on PostgreSQL, the quick worker-kill chaos scenario in make test kills the
    # worker through refunds on their idempotency keys the same way, and tests/store holds
    # the refund records' keys on both stores.
    async with running_stack(
        temporal_client,
        migrated_sqlite_url,
        tmp_path,
        worker_in_process=False,
        # The provider is down for each refund's first two attempts (1 s apart): the kill
        # lands while they are retried. The sandbox counts attempts in the worker's memory,
        # so the restarted worker fails two more (2 s and 4 s later): each added attempt
        # would double the wait without testing anything new.
        payments_refund_unavailable_attempts=2,
    ) as (stack, worker):
        assert worker is not None
        ids = [_id("KREF") for _ in range(3)]
        lines = [("CAP-NVY", 1, "199.00"), ("SOCKS-3PK", 2, "149.00")]
        for order_id in ids:
            assert (await stack.place(order_body(order_id, lines))).status_code == 202
        await asyncio.gather(*(stack.fulfil(i, timeout_s=120) for i in ids))
        rmas = []
        for order_id in ids:
            response = await stack.api.post(
                f"/orders/{order_id}/returns",
                json={
                    "lines": [
                        {"sku": "CAP-NVY", "quantity": 1, "reason": "wrong_size"},
                        {"sku": "SOCKS-3PK", "quantity": 2, "reason": "wrong_size"},
                    ]
                },
            )
            assert response.status_code == 202, response.text
            rmas.append(response.json()["rma_id"])
        for rma_id in rmas:
            await _return_status(stack, rma_id, {"awaiting_receipt"})
            received = await stack.api.post(
                f"/returns/{rma_id}/receive",
                json={
                    "warehouse_id": "WH-STO",
                    "lines": [
                        {"sku": "CAP-NVY", "quantity": 1, "condition": "resellable"},
                        {"sku": "SOCKS-3PK", "quantity": 2, "condition": "resellable"},
                    ],
                },
            )
            assert received.status_code == 200, received.text
        # Refunds are now being retried through the provider's outage: kill the worker.
        await asyncio.sleep(1.5)
        worker.kill()
        await asyncio.sleep(1.0)
        worker.start()
        for rma_id in rmas:
            ret = await _return_status(stack, rma_id, {"closed"}, timeout_s=120)
            assert Decimal(ret["refund_total"]) == Decimal("497.00")

        ledger = _ledger(stack, ids)
        keys = Counter(t.idempotency_key for t in ledger if t.kind == "refund")
        assert set(keys.values()) == {1} and len(keys) == 2 * len(ids)
        for order_id in ids:
            mine = [t for t in ledger if t.order_id == order_id]
            captured = sum((t.amount for t in mine if t.kind == "capture"), Decimal(0))
            refunded = sum((t.amount for t in mine if t.kind == "refund"), Decimal(0))
            # A return refunds its goods; the 49.00 shipping captured with them stays paid.
            assert (refunded, captured) == (Decimal("497.00"), Decimal("546.00"))


async def test_a_return_received_in_two_parcels_is_refunded_per_parcel_and_then_closes(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    """Two of three units arrive first: they are restocked and refunded and the return stays
    open, ``partially_received``; a parcel with more than is still to come is refused; the
    last unit arrives, is refunded on its own key, and the return closes. A receipt on the
    closed return is a 409, as before."""
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        sku = await _new_product(stack, "300.00", on_hand=3)
        first = _id()
        assert (await stack.place(order_body(first, [(sku, 3, "300.00")]))).status_code == 202
        assert (await stack.fulfil(first))["status"] == "completed"
        response = await stack.api.post(
            f"/orders/{first}/returns",
            json={"lines": [{"sku": sku, "quantity": 3, "reason": "wrong_size"}]},
        )
        assert response.status_code == 202, response.text
        rma_id = response.json()["rma_id"]
        await _return_status(stack, rma_id, {"awaiting_receipt"})

        def parcel(quantity: int) -> dict[str, Any]:
            line = {"sku": sku, "quantity": quantity, "condition": "resellable"}
            return {"warehouse_id": "WH-STO", "lines": [line]}

        received = await stack.api.post(f"/returns/{rma_id}/receive", json=parcel(2))
        assert received.status_code == 200, received.text
        assert received.json()["lines"][0]["received_resellable"] == 2
        assert received.json()["receipts"] == 1
        ret = await _return_status(stack, rma_id, {"partially_received"})
        assert Decimal(ret["refund_total"]) == Decimal("600.00")
        listed = await stack.api.get("/returns", params={"status": "partially_received"})
        assert rma_id in [r["rma_id"] for r in listed.json()["items"]]

        too_many = await stack.api.post(f"/returns/{rma_id}/receive", json=parcel(2))
        assert too_many.status_code == 422, too_many.text
        assert "ReceiptMismatch" in too_many.text and "still to come" in too_many.text

        rest = await stack.api.post(f"/returns/{rma_id}/receive", json=parcel(1))
        assert rest.status_code == 200, rest.text
        assert rest.json()["lines"][0]["received_resellable"] == 3
        ret = await _return_status(stack, rma_id, {"closed"})
        assert Decimal(ret["refund_total"]) == Decimal("900.00")
        assert ret["receipts"] == 2 and "never_arrived" not in ret

        refunds = [t for t in _ledger(stack, [first]) if t.kind == "refund"]
        assert sorted((r.idempotency_key, r.amount) for r in refunds) == [
            (f"{rma_id}:refund:{sku}", Decimal("600.00")),
            (f"{rma_id}:refund:{sku}:r2", Decimal("300.00")),
        ]
        with stack.db.session() as session:
            moves = session.scalars(
                select(StockMovementRow).where(StockMovementRow.reference == rma_id)
            ).all()
            assert sorted((m.kind, m.quantity) for m in moves) == [
                ("restock", 1),
                ("restock", 2),
            ]
            stock = session.get(StockRow, ("WH-STO", sku))
            assert stock is not None and stock.on_hand == 3

        closed = await stack.api.post(f"/returns/{rma_id}/receive", json=parcel(1))
        assert closed.status_code == 409, closed.text
