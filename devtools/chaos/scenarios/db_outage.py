"""PostgreSQL unreachable for the worker mid-run: activities retry, nothing lost or doubled.

The worker reaches the store through an in-process TCP proxy; the outage aborts
its connections and refuses new ones. The shared PostgreSQL server never stops.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.engine import make_url

from devtools.chaos.harness import Run
from devtools.chaos.proxy import TcpProxy
from devtools.chaos.workload import completion_timeout

NAME = "db-outage"
FAULT = "the worker's PostgreSQL connections dropped and refused for {outage_s:g} s"


class Outage:
    """The proxy the worker's database URL points at, and when to cut it."""

    def __init__(self) -> None:
        self.proxy: TcpProxy | None = None

    async def worker_url(self, url: str) -> str:
        parsed = make_url(url)
        self.proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        port = await self.proxy.start()
        return parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    async def close(self) -> None:
        """Stop the proxy; only after the audit, as the worker still sends its last emails."""
        if self.proxy is not None:
            await self.proxy.stop()


async def run(r: Run, outage: Outage, outage_s: float) -> None:
    work, proxy = r.work, outage.proxy
    assert proxy is not None
    first = await work.place(r.orders // 2)
    # Cut while orders are mid-flight: some done, most not.
    await work.wait_completed(
        first, timeout_s=completion_timeout(r.orders), until=max(1, len(first) // 5)
    )
    in_flight = len(first) - len(await asyncio.to_thread(_completed, r, first))
    proxy.cut()
    cut_at = time.monotonic()
    # Orders keep arriving during the outage: the API takes them, the worker cannot yet.
    rest = await work.place(r.orders - len(first), start=len(first))
    await asyncio.sleep(max(0.0, outage_s - (time.monotonic() - cut_at)))
    down_for = time.monotonic() - cut_at
    proxy.restore()
    done = await work.wait_completed(first + rest, timeout_s=completion_timeout(r.orders))
    r.result.figures.update(
        outage_s=round(down_for, 1),
        orders_in_flight_at_cut=in_flight,
        connections_dropped=proxy.dropped,
        connections_forwarded=proxy.connected,
    )
    r.result.checks["the outage hit the worker (connections dropped)"] = proxy.dropped > 0
    r.result.checks["every order completed after the outage"] = len(done) == r.orders


def _completed(r: Run, ids: list[str]) -> set[str]:
    return {o for o, s in r.work.statuses(ids).items() if s == "completed"}
