"""``oms bench parked --n N``: N orders waiting at the pick, and what ops queries cost then.

Simulation is off, so nobody picks: every order parks with its shipment in
``picking`` (search attribute ``OmsStage = 'awaiting_pick'``). Reports the
worker's memory with a bounded workflow cache (``--cache`` sets
``OMS_MAX_CACHED_WORKFLOWS``) and the latency of the visibility queries and
the order list an ops view needs.
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

from oms.client import connect
from starters.bench import machine_info, order_body, progress, run_pool, write_json
from starters.bench_stack import BenchStack, Phase
from starters.bench_stats import latency_ms, rate, table

PARKED_QUERY = "OmsStage = 'awaiting_pick'"
REPEATS = 7
STALL_S = 120


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
            run_id = uuid.uuid4().hex[:6].upper()
            post_latencies: list[float] = []
            limits = httpx.Limits(max_connections=concurrency + 10)
            async with httpx.AsyncClient(
                base_url=stack.settings.api_url,
                timeout=120,
                limits=limits,
                headers={"Authorization": f"Bearer {stack.settings.token}"},
            ) as api:

                async def place(i: int) -> None:
                    t0 = time.perf_counter()
                    response = await api.post("/orders", json=order_body(f"P{run_id}-{i}"))
                    if response.status_code != 202:
                        raise RuntimeError(f"POST /orders: {response.status_code} {response.text}")
                    post_latencies.append(time.perf_counter() - t0)

                with Phase(stack) as phase:
                    started = time.perf_counter()
                    with progress(n, "POST /orders (parked)") as bar:
                        posted_s = await run_pool(n, concurrency, place, bar)
                    with progress(n, "orders parked at the pick") as bar:
                        parked, last_progress = 0, time.monotonic()
                        while parked < n:
                            await asyncio.sleep(2)
                            now = (await client.count_workflows(PARKED_QUERY)).count
                            if now > parked:
                                bar.update(now - parked)
                                parked, last_progress = now, time.monotonic()
                            elif time.monotonic() - last_progress > STALL_S:
                                raise RuntimeError(f"only {parked} of {n} orders parked")
                    parked_s = time.perf_counter() - started
                await asyncio.sleep(2)  # let the worker settle before reading its memory
                figures: dict[str, Any] = {
                    "n": n,
                    "concurrency": concurrency,
                    "workers": args.workers,
                    "max_cached_workflows": stack.settings.max_cached_workflows,
                    "post": {"rate_per_s": rate(n, posted_s), **latency_ms(post_latencies)},
                    "parked_per_s": rate(n, parked_s),
                    "parked_elapsed_s": round(parked_s, 1),
                    "resources": phase.usage.figures(),
                    "worker_rss_mb": round(stack.rss_mb("worker"), 1),
                    "server_rss_mb": round(stack.rss_mb("server"), 1),
                    "count_query": await timed(lambda: client.count_workflows(PARKED_QUERY)),
                    "list_200_query": await timed(lambda: _list_200(client)),
                    "orders_picking_200": await timed(
                        lambda: api.get("/orders", params={"status": "picking", "limit": 200})
                    ),
                    # The operators' own call: every stuck-case query over all of them.
                    "ops_stuck": await timed(lambda: _ops_stuck(api)),
                }
                figures["count_result"] = (await client.count_workflows(PARKED_QUERY)).count
                return figures
        finally:
            stack.stop()


def parked_report(f: dict[str, Any]) -> str:
    rows = [
        ["parked orders", f["n"], ""],
        ["max_cached_workflows", f["max_cached_workflows"], ""],
        ["POST /orders /s", f["post"]["rate_per_s"], ""],
        ["orders parked /s", f["parked_per_s"], ""],
        ["worker RSS MB (after)", f["worker_rss_mb"], "< 400 MB"],
        ["worker peak RSS MB", f["resources"].get("worker_peak_rss_mb"), "< 400 MB"],
        ["server RSS MB (after)", f["server_rss_mb"], ""],
        ["count(OmsStage=awaiting_pick) p50 ms", f["count_query"]["p50_ms"], "< 1000 ms"],
        ["list 200 (same query) p50 ms", f["list_200_query"]["p50_ms"], "< 1000 ms"],
        ["GET /orders?status=picking&limit=200 p50 ms", f["orders_picking_200"]["p50_ms"], ""],
        ["GET /ops/stuck p50 ms", f["ops_stuck"]["p50_ms"], "< 1000 ms"],
    ]
    out = table(rows, ["figure", "value", "target"])
    rss_ok = max(f["worker_rss_mb"], f["resources"].get("worker_peak_rss_mb", 0)) < 400
    query_ok = (
        max(f["count_query"]["p50_ms"], f["list_200_query"]["p50_ms"], f["ops_stuck"]["p50_ms"])
        < 1000
    )
    return (
        f"{out}\n\nworker RSS < 400 MB: {'PASS' if rss_ok else 'MISS'}; "
        f"ops query < 1 s: {'PASS' if query_ok else 'MISS'}"
    )


def run_parked(args: argparse.Namespace) -> int:
    figures = asyncio.run(park(args))
    print(parked_report(figures))
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
