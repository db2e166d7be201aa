"""What every scenario does to the OMS: place orders, return some, and wait for them all.

Orders go through the real HTTP API; the simulated warehouse picks and packs
and the sandbox carrier posts tracking events, so an order completes with no
step from here. Progress is read from the store (one query for all orders),
not one GET per order.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from oms.domain.auth import event_headers
from oms.store.db import Database
from oms.store.tables import OrderRow, ReturnRow, ShipmentRow

# Single-warehouse orders and orders split over two (jeans are only in Gothenburg,
# caps only in Stockholm), so captures and labels come one and two per order.
ONE_PARCEL = [("TSHIRT-BLK-M", 1, "249.00")]
TWO_PARCELS = [("CAP-NVY", 1, "199.00"), ("JEANS-IND-32", 1, "899.00")]
JOURNEY = ("shipped", "in_transit", "out_for_delivery", "delivered")
POLL_S = 0.5
# No order completed for this long: look for tracking events the webhook gave up on.
STALL_S = 10.0


def completion_timeout(orders: int) -> float:
    """How long a run of ``orders`` may take before an unfinished order counts as lost:
    generous, as a loaded 2-core machine runs them far slower than an idle one."""
    return 300.0 + 3.0 * orders


def order_lines(index: int) -> list[tuple[str, int, str]]:
    return TWO_PARCELS if index % 2 else ONE_PARCEL


def order_body(order_id: str, lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    """A valid ``POST /orders`` body shipped to Stockholm."""
    return {
        "order_id": order_id,
        "channel": "web",
        "customer": {"id": f"C-{order_id}", "name": "Chaos Tester", "email": "chaos@example.com"},
        "currency": "SEK",
        "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
        "ship_to": {
            "name": "Chaos Tester",
            "line1": "Drottninggatan 53",
            "postal_code": "111 21",
            "city": "Stockholm",
            "country": "SE",
        },
        "shipping_speed": "standard",
        "payment": {"method": "card", "token": "tok_visa"},
    }


@dataclass
class Workload:
    """Orders placed by one scenario, and the returns asked for on some of them."""

    api: httpx.AsyncClient
    db: Database
    carrier_url: str
    prefix: str
    placed: list[str] = field(default_factory=list)
    lines: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # order id -> why the API said no
    returns: dict[str, str] = field(default_factory=dict)  # rma id -> order id
    returned_lines: dict[str, tuple[str, int]] = field(default_factory=dict)  # rma -> (sku, qty)
    redelivered: int = 0
    # The carrier's webhook secret: redelivered events are signed as the carrier signs them.
    webhook_secret: str = ""

    async def place(self, count: int, concurrency: int = 10, start: int = 0) -> list[str]:
        """Place ``count`` orders, ``concurrency`` at a time; returns the ids accepted."""
        ids = [f"{self.prefix}-{n:05d}" for n in range(start, start + count)]
        queue = iter(enumerate(ids, start))
        accepted: list[str] = []

        async def caller() -> None:
            for index, order_id in queue:
                if await self._place_one(order_id, order_lines(index)):
                    accepted.append(order_id)
                    self.lines[order_id] = order_lines(index)

        await asyncio.gather(*(caller() for _ in range(min(concurrency, count))))
        self.placed += accepted
        return accepted

    async def _place_one(self, order_id: str, lines: list[tuple[str, int, str]]) -> bool:
        # A placement retried after a transport error is answered 200 with the same order.
        for _ in range(20):
            try:
                response = await self.api.post("/orders", json=order_body(order_id, lines))
            except httpx.HTTPError as err:
                last = repr(err)
            else:
                if response.status_code in (200, 202):
                    return True
                last = f"{response.status_code} {response.text[:200]}"
                if response.status_code < 500:
                    break
            await asyncio.sleep(1.0)
        self.rejected[order_id] = last
        return False

    def statuses(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.db.session() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                query = select(OrderRow.order_id, OrderRow.status).where(
                    OrderRow.order_id.in_(chunk)
                )
                found.update({row[0]: row[1] for row in session.execute(query)})
        return found

    async def wait_completed(
        self,
        ids: list[str],
        timeout_s: float,
        during: Callable[[], Awaitable[None]] | None = None,
        until: int | None = None,
    ) -> set[str]:
        """Wait until every order in ``ids`` (or ``until`` of them) is completed, or
        ``timeout_s`` passes; returns the completed ones.

        ``during`` is awaited on every poll (a scenario's fault injector); lost tracking
        webhooks are redelivered when progress stalls.
        """
        wanted = len(ids) if until is None else until
        deadline = time.monotonic() + timeout_s
        done: set[str] = set()
        last_progress = time.monotonic()
        while time.monotonic() < deadline:
            statuses = await asyncio.to_thread(self.statuses, ids)
            now_done = {i for i, s in statuses.items() if s == "completed"}
            if len(now_done) > len(done):
                last_progress = time.monotonic()
            done = now_done
            if len(done) >= wanted:
                break
            if during is not None:
                await during()
            if time.monotonic() - last_progress > STALL_S:
                await self.redeliver_lost_tracking(sorted(set(ids) - done))
                last_progress = time.monotonic()
            await asyncio.sleep(POLL_S)
        return done

    async def redeliver_lost_tracking(self, order_ids: list[str]) -> None:
        """Re-post carrier events the OMS never took for shipments still in transit.

        The sandbox carrier gives up on a webhook after 5 tries; a real one retries for
        days. Each redelivery is counted and reported, so a scenario that needed one
        says so.
        """

        def in_transit() -> list[tuple[str, str]]:
            with self.db.session() as session:
                rows = session.execute(
                    select(ShipmentRow.tracking_number, ShipmentRow.status).where(
                        ShipmentRow.order_id.in_(order_ids),
                        ShipmentRow.status.in_(JOURNEY[:-1]),
                        ShipmentRow.tracking_number.is_not(None),
                    )
                ).all()
            return [(str(r[0]), str(r[1])) for r in rows]

        for tracking_number, status in await asyncio.to_thread(in_transit):
            try:
                response = await self.api.get(f"{self.carrier_url}/v1/tracking/{tracking_number}")
                events = response.json().get("events", []) if response.status_code == 200 else []
                later = [e for e in events if JOURNEY.index(e["status"]) > JOURNEY.index(status)]
                for event in later:
                    body = json.dumps(event).encode()
                    await self.api.post(
                        "/carrier/events",
                        content=body,
                        headers={"content-type": "application/json"}
                        | event_headers(
                            self.webhook_secret, body, str(uuid.uuid4()), datetime.now(UTC)
                        ),
                    )
            except httpx.HTTPError:
                continue
            self.redelivered += 1 if later else 0

    async def return_one_unit(self, order_id: str, sku: str) -> str | None:
        """Ask for a return of one unit of ``sku`` (authorized automatically); its RMA id."""
        response = await self.api.post(
            f"/orders/{order_id}/returns",
            json={"lines": [{"sku": sku, "quantity": 1, "reason": "wrong_size"}]},
        )
        if response.status_code not in (200, 202):
            self.rejected[f"return:{order_id}"] = f"{response.status_code} {response.text[:200]}"
            return None
        rma_id = str(response.json()["rma_id"])
        self.returns[rma_id] = order_id
        self.returned_lines[rma_id] = (sku, 1)
        return rma_id

    def return_statuses(self) -> dict[str, str]:
        with self.db.session() as session:
            query = select(ReturnRow.rma_id, ReturnRow.status).where(
                ReturnRow.rma_id.in_(list(self.returns))
            )
            return {row[0]: row[1] for row in session.execute(query)}

    async def receive_returns(self, timeout_s: float) -> set[str]:
        """Act as the warehouse: receive each return once its label is out; wait for refunds.

        Returns the RMA ids that reached ``closed`` (refunded) in time.
        """
        received: set[str] = set()
        deadline = time.monotonic() + timeout_s
        closed: set[str] = set()
        while time.monotonic() < deadline and len(closed) < len(self.returns):
            statuses = await asyncio.to_thread(self.return_statuses)
            closed = {r for r, s in statuses.items() if s == "closed"}
            for rma_id, status in statuses.items():
                if status != "awaiting_receipt" or rma_id in received:
                    continue
                if await self._receive(rma_id):
                    received.add(rma_id)
            await asyncio.sleep(POLL_S)
        return closed

    async def _receive(self, rma_id: str) -> bool:
        try:
            view = await self.api.get(f"/returns/{rma_id}")
            if view.status_code != 200:
                return False
            warehouse = view.json()["label"]["return_to_warehouse_id"]
            sku, quantity = self.returned_lines[rma_id]
            response = await self.api.post(
                f"/returns/{rma_id}/receive",
                json={
                    "warehouse_id": warehouse,
                    "lines": [{"sku": sku, "quantity": quantity, "condition": "resellable"}],
                },
            )
        except httpx.HTTPError:
            return False
        # Only a 200 is a receipt. A 409 (NotAwaitingReceipt) can come while the read model
        # already shows the label a worker wrote in a task it then lost: the workflow gets
        # there again a moment later, so ask again; once received, the status moves on.
        return response.status_code == 200
