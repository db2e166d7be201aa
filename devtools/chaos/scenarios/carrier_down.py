"""The carrier fails every call for one order: ops see it stuck, then retry it to completion."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from devtools.chaos.harness import Run
from devtools.chaos.workload import completion_timeout

NAME = "carrier-down"
FAULT = "sandbox carrier answers every call 503 while one order waits for its label"
STUCK_WITHIN_S = 60.0


async def run(r: Run) -> None:
    work, stack = r.work, r.stack
    healthy = await work.place(r.orders - 1)
    await work.wait_completed(healthy, timeout_s=completion_timeout(r.orders))
    await asyncio.to_thread(stack.configure_carrier, failure_rate_503=1.0)
    [victim] = await work.place(1, start=r.orders - 1)
    placed_at = time.monotonic()
    workflow_id = f"shipment-{victim}-S1"
    item = await _wait_stuck(r, workflow_id, placed_at + STUCK_WITHIN_S)
    seen_after = round(time.monotonic() - placed_at, 1)
    r.result.figures["stuck_listed_after_s"] = seen_after
    last_error = str((item or {}).get("last_error") or "")
    r.result.checks["listed stuck within a minute"] = item is not None
    r.result.checks["stuck item shows the carrier's 503 as last error"] = "503" in last_error
    if item is not None:
        r.result.figures["attempts_when_listed"] = int(item.get("attempts") or 0)
    # Still failing after the operator notices: nothing completes while the carrier is down.
    await asyncio.to_thread(stack.configure_carrier, failure_rate_503=0.0)
    retried = await work.api.post(
        f"/ops/workflows/{workflow_id}/retry-now",
        json={"by": "chaos", "reason": "carrier back up"},
    )
    r.result.checks["operator retry accepted"] = retried.status_code == 200
    recovered_at = time.monotonic()
    done = await work.wait_completed([victim], timeout_s=completion_timeout(1))
    r.result.figures["completed_after_retry_s"] = round(time.monotonic() - recovered_at, 1)
    r.result.checks["order completes after recovery and retry"] = victim in done
    stuck = await work.api.get("/ops/stuck")
    still = {i["workflow_id"] for i in stuck.json()["items"]} if stuck.status_code == 200 else set()
    r.result.checks["stuck list cleared"] = workflow_id not in still


async def _wait_stuck(r: Run, workflow_id: str, deadline: float) -> dict[str, Any] | None:
    while time.monotonic() < deadline:
        response = await r.work.api.get("/ops/stuck")
        if response.status_code == 200:
            for item in response.json()["items"]:
                if item["workflow_id"] == workflow_id and item.get("last_error"):
                    return dict(item)
        await asyncio.sleep(1.0)
    return None
