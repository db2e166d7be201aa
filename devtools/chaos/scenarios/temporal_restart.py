"""The file-backed Temporal dev server restarted mid-run: every order resumes and completes."""

from __future__ import annotations

import asyncio
import time

from devtools.chaos.harness import Run
from devtools.chaos.workload import completion_timeout

NAME = "temporal-restart"
FAULT = "the Temporal dev server (file-backed, WAL) stopped and started again mid-run"


async def run(r: Run, restarts: int = 1) -> None:
    work, stack = r.work, r.stack
    ids = await work.place(r.orders)
    in_flight = 0
    for n in range(restarts):
        # Restart when a share of the orders is done and the rest is mid-flight.
        await work.wait_completed(
            ids,
            timeout_s=completion_timeout(r.orders),
            until=max(1, (n + 1) * r.orders // (restarts + 2)),
        )
        waiting = len(ids) - len(_completed(r, ids))
        if waiting == 0:
            # Every order finished between two looks (a small run on a fast simulated
            # warehouse): put a few in flight, or the restart would test nothing.
            ids += await work.place(max(1, r.orders // 3), start=len(ids))
            waiting = len(ids) - len(_completed(r, ids))
        in_flight = max(in_flight, waiting)
        began = time.monotonic()
        await asyncio.to_thread(stack.restart_temporal, 2.0)
        r.result.figures[f"restart_{n + 1}_s"] = round(time.monotonic() - began, 1)
    done = await work.wait_completed(ids, timeout_s=completion_timeout(len(ids)))
    r.result.figures["orders_in_flight_at_restart"] = in_flight
    r.result.checks["the server was restarted with orders in flight"] = in_flight > 0
    r.result.checks["every order resumed and completed"] = len(done) == len(ids)


def _completed(r: Run, ids: list[str]) -> set[str]:
    return {o for o, s in r.work.statuses(ids).items() if s == "completed"}
