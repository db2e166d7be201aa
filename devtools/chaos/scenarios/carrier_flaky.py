"""The carrier answers 30% of calls 503 and 5% 429: every order still ships, each label once."""

from __future__ import annotations

from typing import Any

from devtools.chaos.harness import Run
from devtools.chaos.workload import completion_timeout

NAME = "carrier-flaky"
FAULT = "sandbox carrier fails 30% of calls with 503 and 5% with 429 (Retry-After 1 s)"
# Through the sandbox carrier's own failure settings (OMS_CARRIER_FAILURE_RATE_503/_429).
FAILURES: dict[str, Any] = {"carrier_failure_rate_503": 0.30, "carrier_failure_rate_429": 0.05}


async def run(r: Run) -> None:
    ids = await r.work.place(r.orders)
    done = await r.work.wait_completed(ids, timeout_s=completion_timeout(r.orders))
    r.result.figures["failure_rate_503"] = 0.30
    r.result.figures["failure_rate_429"] = 0.05
    r.result.checks["every order shipped and completed"] = len(done) == r.orders
