"""SIGKILL the worker every few seconds through a run of orders and returns.

Every order completes; reservations, labels, captures, refunds and emails happen
once per business key; the stock ledger balances. One order in ``refund_every``
is returned (one unit, received resellable, refunded) while the kills go on.
"""

from __future__ import annotations

import asyncio
import time

from devtools.chaos.harness import Run
from devtools.chaos.workload import Workload, completion_timeout

NAME = "worker-kill"
# Orders placed per step, and how many may be unfinished before the next step is placed.
BATCH = 10
OPEN_AT_MOST = 60
FAULT = (
    "worker SIGKILLed every {every_s:g} s (restarted 1 s later) through orders "
    f"(placed {BATCH} at a time, at most {OPEN_AT_MOST} unfinished) and returns"
)


class Killer:
    """Kills the worker whenever ``every_s`` has passed since the last kill."""

    def __init__(self, r: Run, every_s: float, max_kills: int | None) -> None:
        self.r, self.every_s, self.max_kills = r, every_s, max_kills
        self.last = time.monotonic()

    async def tick(self) -> None:
        stack = self.r.stack
        if self.max_kills is not None and stack.worker_kills >= self.max_kills:
            return
        if time.monotonic() - self.last < self.every_s:
            return
        await asyncio.to_thread(stack.kill_worker)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(stack.start_worker)
        self.last = time.monotonic()

    async def loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            await asyncio.sleep(0.2)


async def place_paced(work: Workload, total: int, open_at_most: int, timeout_s: float) -> list[str]:
    """Place ``total`` orders as a shop receives them: more only while fewer than
    ``open_at_most`` placed orders are unfinished, ``BATCH`` at a time; returns their ids.

    Placing all of them at once would have every restarted worker replay hundreds of
    cold workflows before any moves, a burst no shop sends (``oms bench`` measures bursts).
    """
    ids: list[str] = []
    placed = 0
    deadline = time.monotonic() + timeout_s
    while placed < total and time.monotonic() < deadline:
        batch = min(BATCH, total - placed)
        ids += await work.place(batch, start=placed)
        placed += batch
        if placed < total:
            await work.wait_completed(
                ids, timeout_s=deadline - time.monotonic(), until=len(ids) - open_at_most + BATCH
            )
    return ids


async def run(r: Run, every_s: float, refund_every: int, max_kills: int | None = None) -> None:
    work = r.work
    killer = Killer(r, every_s, max_kills)
    stop = asyncio.Event()
    kills = asyncio.create_task(killer.loop(stop))
    try:
        timeout_s = completion_timeout(r.orders)
        ids = await place_paced(work, r.orders, OPEN_AT_MOST, timeout_s)
        done = await work.wait_completed(ids, timeout_s=timeout_s)
        # Returns while the kills go on: one unit of the first line of every Nth order.
        for order_id in ids[::refund_every]:
            if order_id in done:
                await work.return_one_unit(order_id, work.lines[order_id][0][0])
        closed = await work.receive_returns(timeout_s=completion_timeout(len(work.returns)))
    finally:
        stop.set()
        await kills
    r.result.figures["returns_refunded"] = len(closed)
    r.result.checks["worker was killed mid-run"] = r.stack.worker_kills > 0
    r.result.checks["every order completed"] = len(done) == r.orders
    r.result.checks["every return refunded and closed"] = len(closed) == len(work.returns) > 0
