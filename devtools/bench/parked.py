"""Parked orders: N orders waiting at the pick, against N bare parked workflows, and ops queries.

Nobody picks (``oms bench parked`` runs with simulation off; ``oms bench``
pauses its simulated warehouse for this phase), so every order parks with its
shipment in ``picking`` (search attribute ``OmsStage = 'awaiting_pick'``). In
the same run, on the same server, N bare ``ParkedFloorWorkflow``s (one search
attribute upserted, then waiting for a signal) are started at the same
concurrency: orders parked per second over bare workflows parked per second is
the ``parked_vs_bare`` ratio. Then the worker's memory with a bounded workflow
cache (``--cache`` sets ``OMS_MAX_CACHED_WORKFLOWS``) and the latency of the
visibility queries and ``/ops/stuck`` with all of them parked.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from devtools.bench.run import http_client, machine_info, order_body, progress, run_pool, write_json
from devtools.bench.stack import BenchStack, Phase
from devtools.bench.stats import evaluate_parked_targets, latency_ms, rate, ratio, report
from devtools.floor.models import FloorInput
from devtools.floor.workflow import FLOOR_QUEUE, PARKED_STAGE, ParkedFloorWorkflow
from oms.client import connect

PARKED_QUERY = "OmsStage = 'awaiting_pick'"
BARE_QUERY = f"OmsStage = '{PARKED_STAGE}'"
REPEATS = 7
STALL_S = 120
POLL_S = 0.25


async def timed(probe: Callable[[], Awaitable[Any]], repeats: int = REPEATS) -> dict[str, float]:
    """p50/p95 of ``probe`` over a few repetitions (after one untimed warm-up call)."""
    await probe()
    durations = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        await probe()
        durations.append(time.perf_counter() - t0)
    return latency_ms(durations, (50, 95))


async def _list_200(client: Client) -> int:
    rows = 0
    async for _ in client.list_workflows(PARKED_QUERY, page_size=200, limit=200):
        rows += 1
    return rows


async def _ops_stuck(api: httpx.AsyncClient) -> int:
    response = await api.get("/ops/stuck")
    response.raise_for_status()
    return int(response.json()["count"])


class ParkedBench:
    """Park N bare workflows, then N orders, on one running stack, and query them."""

    def __init__(self, stack: BenchStack, client: Client, api: httpx.AsyncClient) -> None:
        self.stack, self.client, self.api = stack, client, api
        self.run_id = uuid.uuid4().hex[:6].upper()

    async def _wait_parked(self, query: str, target: int, desc: str, n: int) -> None:
        """Poll the visibility count of ``query`` until it reaches ``target``."""
        with progress(n, desc) as bar:
            seen, last_progress = target - n, time.monotonic()
            while seen < target:
                self.stack.check_alive()
                await asyncio.sleep(POLL_S)
                now = (await self.client.count_workflows(query)).count
                if now > seen:
                    bar.update(now - seen)
                    seen, last_progress = now, time.monotonic()
                elif time.monotonic() - last_progress > STALL_S:
                    raise RuntimeError(f"only {seen - target + n} of {n} parked ({query})")

    async def park_bare(self, n: int, concurrency: int) -> dict[str, Any]:
        """N ``ParkedFloorWorkflow``s started by ``concurrency`` callers, until all are parked."""
        queue = self.stack.settings.queue(FLOOR_QUEUE)
        before = (await self.client.count_workflows(BARE_QUERY)).count

        async def start(i: int) -> None:
            await self.client.start_workflow(
                ParkedFloorWorkflow.run,
                FloorInput(activities=0),
                id=f"bench-parked-{self.run_id}-{i}",
                task_queue=queue,
            )

        with Phase(self.stack) as phase:
            started = time.perf_counter()
            with progress(n, "bare workflows started") as bar:
                await run_pool(n, concurrency, start, bar)
            await self._wait_parked(BARE_QUERY, before + n, "bare workflows parked", n)
            parked_s = time.perf_counter() - started
        cpu = phase.usage.cpu_s
        return {
            "parked_per_s": rate(n, parked_s),
            "parked_elapsed_s": round(parked_s, 1),
            "server_cpu_s_per_workflow": round(cpu.get("server", 0.0) / n, 4),
            "worker_cpu_s_per_workflow": round(cpu.get("floor", 0.0) / n, 4),
        }

    async def park_orders(self, n: int, concurrency: int) -> dict[str, Any]:
        """N orders POSTed by ``concurrency`` callers, until all wait at the pick."""
        before = (await self.client.count_workflows(PARKED_QUERY)).count
        post_latencies: list[float] = []

        async def place(i: int) -> None:
            t0 = time.perf_counter()
            response = await self.api.post("/orders", json=order_body(f"P{self.run_id}-{i}"))
            if response.status_code != 202:
                raise RuntimeError(f"POST /orders: {response.status_code} {response.text}")
            post_latencies.append(time.perf_counter() - t0)

        with Phase(self.stack) as phase:
            started = time.perf_counter()
            with progress(n, "POST /orders (parked)") as bar:
                posted_s = await run_pool(n, concurrency, place, bar)
            await self._wait_parked(PARKED_QUERY, before + n, "orders parked at the pick", n)
            parked_s = time.perf_counter() - started
        cpu = phase.usage.cpu_s
        return {
            "post": {"rate_per_s": rate(n, posted_s), **latency_ms(post_latencies)},
            "parked_per_s": rate(n, parked_s),
            "parked_elapsed_s": round(parked_s, 1),
            "resources": phase.usage.figures(),
            "server_cpu_s_per_order": round(cpu.get("server", 0.0) / n, 4),
            "worker_cpu_s_per_order": round(cpu.get("worker", 0.0) / n, 4),
        }

    async def queries(self) -> dict[str, Any]:
        """What the ops views cost with everything parked."""
        client, api = self.client, self.api
        return {
            "count_query": await timed(lambda: client.count_workflows(PARKED_QUERY)),
            "list_200_query": await timed(lambda: _list_200(client)),
            "orders_picking_200": await timed(
                lambda: api.get("/orders", params={"status": "picking", "limit": 200})
            ),
            # The operators' own call: every stuck-case query over all of them.
            "ops_stuck": await timed(lambda: _ops_stuck(api)),
        }

    async def run(self, n: int, concurrency: int) -> dict[str, Any]:
        """Bare workflows first, so the orders park on a server that holds N more: the
        ratio errs against the OMS."""
        bare = await self.park_bare(n, concurrency)
        orders = await self.park_orders(n, concurrency)
        await asyncio.sleep(2 if n >= 1000 else 0.5)  # let the worker settle before its RSS
        figures: dict[str, Any] = {
            "n": n,
            "concurrency": concurrency,
            "workers": self.stack.workers,
            "max_cached_workflows": self.stack.settings.max_cached_workflows,
            **orders,
            "bare": bare,
            "parked_vs_bare": ratio(orders["parked_per_s"], bare["parked_per_s"]),
            "worker_rss_mb": round(self.stack.rss_mb("worker"), 1),
            "server_rss_mb": round(self.stack.rss_mb("server"), 1),
            **await self.queries(),
        }
        figures["count_result"] = (await self.client.count_workflows(PARKED_QUERY)).count
        figures["targets"] = [t.as_dict() for t in evaluate_parked_targets(figures)]
        return figures


async def park(args: argparse.Namespace) -> dict[str, Any]:
    n, concurrency = args.n, args.concurrency[0]
    with tempfile.TemporaryDirectory(prefix="oms-bench-parked-") as tmp:
        stack = BenchStack(
            Path(tmp),
            database_url=args.database_url,
            workers=args.workers,
            simulate=False,
            max_cached_workflows=args.cache,
        )
        try:
            stack.start()
            client = await connect(stack.settings)
            async with http_client(stack, concurrency, timeout_s=120) as api:
                return await ParkedBench(stack, client, api).run(n, concurrency)
        finally:
            stack.stop()


def run_parked(args: argparse.Namespace) -> int:
    figures = asyncio.run(park(args))
    print(report([], figures))
    write_json(
        args.json,
        {
            "benchmark": "parked",
            "command": "oms bench " + " ".join(args.argv),
            "machine": machine_info(),
            **figures,
        },
    )
    return 0
