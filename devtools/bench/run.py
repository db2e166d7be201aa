"""``oms bench`` (``make bench``): what the OMS costs on top of Temporal, measured on its own stack.

``oms bench`` drives orders through the real API with the simulated warehouse
and carrier at zero delay, and in the same run measures the raw
``start_workflow`` of the order workflow (POST against it, workers paused), the
floor (a bare workflow with as many no-op activities as one order executes),
and what every order and floor workflow costs in workflow tasks, history and
CPU; then it parks ``--parked N`` orders at the pick beside N bare parked
workflows. ``oms bench parked --n N`` runs only that scenario, on a stack
without the simulated warehouse (for N = 10 000).
Figures and their meaning: ``docs/benchmark.md``. Needs the ``bench`` extra
(``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client
from tqdm import tqdm

from devtools.bench import search
from devtools.bench.stack import BenchStack, Phase
from devtools.bench.stats import (
    HistoryCost,
    evaluate_parked_targets,
    evaluate_targets,
    history_cost,
    latency_ms,
    parse_concurrency,
    per_order,
    rate,
    ratio,
    report,
    spread,
)
from devtools.floor.models import FloorInput
from devtools.floor.workflow import FLOOR_QUEUE, FloorWorkflow
from oms.client import connect
from oms.domain.auth import event_headers
from oms.models.orders import PlaceOrder
from oms.store.db import Database
from oms.store.tables import OrderRow, ShipmentRow
from starters.api.deps import content_hash
from starters.api.orders import start_order
from workflows.order import order_workflow_id

NOT_CONFIRMED = {"received", "on_hold", "cancelled"}
POLL_S = 0.05
# No order completed for this long: look for tracking events the webhook lost (docs/benchmark.md).
STALL_S = 10.0
JOURNEY = ("shipped", "in_transit", "out_for_delivery", "delivered")
# Orders (with their children) and floor workflows whose histories are counted per level.
HISTORY_SAMPLE = 20


def order_body(order_id: str) -> dict[str, Any]:
    """A one-line card order shipped from one warehouse: the common case (each from a
    customer of its own: thousands an hour from one would be held by the risk rules)."""
    return {
        "order_id": order_id,
        "channel": "web",
        "customer": {"id": f"C-{order_id}", "name": "Bench Customer", "email": "bench@example.com"},
        "currency": "SEK",
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1, "unit_price": "249.00"}],
        "ship_to": {
            "name": "Bench Customer",
            "line1": "Drottninggatan 53",
            "postal_code": "111 21",
            "city": "Stockholm",
            "country": "SE",
        },
        "shipping_speed": "standard",
        "payment": {"method": "card", "token": "tok_visa"},
    }


async def start_order_raw(client: Client, stack: BenchStack, order_id: str) -> None:
    """The ``start_workflow`` call ``POST /orders`` makes (``starters.api.orders.start_order``),
    made straight to the server."""
    body = PlaceOrder.model_validate(order_body(order_id))
    await start_order(client, stack.settings, body, order_id, content_hash(body, "order_id"))


async def run_pool(
    count: int, concurrency: int, task: Callable[[int], Awaitable[None]], bar: tqdm | None = None
) -> float:
    """Run ``task(0..count-1)`` by ``concurrency`` back-to-back callers; returns elapsed seconds."""
    next_index = iter(range(count))

    async def caller() -> None:
        for i in next_index:
            await task(i)
            if bar is not None:
                bar.update(1)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


def progress(total: int, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)


class ReadModelWatcher:
    """Notes when each watched order is first seen confirmed and completed in the read model.

    One cheap query every 50 ms for all watched orders (not one GET per order), run
    in a thread so it never delays the callers' timings.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: set[str] = set()
        self.confirmed: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.done: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, order_id: str) -> asyncio.Event:
        self.pending.add(order_id)
        return self.done.setdefault(order_id, asyncio.Event())

    def _statuses(self, ids: list[str]) -> list[tuple[str, str]]:
        with self.db.session() as session:
            query = select(OrderRow.order_id, OrderRow.status).where(OrderRow.order_id.in_(ids))
            return [(row[0], row[1]) for row in session.execute(query)]

    async def _loop(self) -> None:
        while True:
            if self.pending:
                ids = sorted(self.pending)
                rows: list[tuple[str, str]] = []
                for start in range(0, len(ids), 500):
                    rows += await asyncio.to_thread(self._statuses, ids[start : start + 500])
                now = time.perf_counter()
                for order_id, status in rows:
                    if status not in NOT_CONFIRMED:
                        self.confirmed.setdefault(order_id, now)
                    if status == "completed":
                        self.completed[order_id] = now
                        self.pending.discard(order_id)
                        self.done[order_id].set()
            await asyncio.sleep(POLL_S)

    def __enter__(self) -> ReadModelWatcher:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def wait_all(
        self,
        ids: Sequence[str],
        timeout_s: float,
        bar: tqdm | None = None,
        on_stall: Callable[[list[str]], Awaitable[None]] | None = None,
        check: Callable[[], None] | None = None,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        seen, last_progress = 0, time.monotonic()
        while any(i not in self.completed for i in ids):
            if check is not None:
                check()  # a process of the stack that died fails the run now, not at timeout
            missing = [i for i in ids if i not in self.completed]
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(missing)} orders did not complete, e.g. {missing[:3]}")
            done = len(ids) - len(missing)
            if done > seen:
                last_progress = time.monotonic()
            elif on_stall is not None and time.monotonic() - last_progress > STALL_S:
                await on_stall(missing)
                last_progress = time.monotonic()
            if bar is not None:
                bar.update(done - seen)
            seen = done
            await asyncio.sleep(0.2)
        if bar is not None:
            bar.update(len(ids) - seen)


async def workflow_cost(client: Client, workflow_id: str) -> HistoryCost:
    """The history cost of a workflow and, recursively, of the child workflows it started."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    cost, children = history_cost(history.events)
    for child in children:
        cost += await workflow_cost(client, child)
    return cost


async def sampled_costs(client: Client, workflow_ids: Sequence[str]) -> list[HistoryCost]:
    """History costs of up to ``HISTORY_SAMPLE`` of the workflows, spread over the burst."""
    picked = spread(workflow_ids, HISTORY_SAMPLE)
    return list(await asyncio.gather(*(workflow_cost(client, i) for i in picked)))


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: after[role] - before.get(role, 0.0) for role in after}


class PipelineBench:
    """The raw start, the order pipeline and the floor at one concurrency, on one stack."""

    def __init__(self, stack: BenchStack, client: Client, api: httpx.AsyncClient) -> None:
        self.stack, self.client, self.api = stack, client, api
        self.db = Database(stack.settings.database_url)
        self.run_id = uuid.uuid4().hex[:6].upper()
        self.timeout_s = 600.0
        self.redelivered = 0

    async def raw_start(self, n: int, concurrency: int) -> dict[str, Any]:
        """N ``OrderWorkflow`` starts as ``POST /orders`` makes them, order workers paused.

        The starts cost the server what a POST's start costs it (nothing runs), and are
        terminated before the workers resume, so they never run.
        """
        ids = [f"R{self.run_id}-{concurrency}-{i}" for i in range(n)]
        latencies: list[float] = []

        async def start(i: int) -> None:
            t0 = time.perf_counter()
            await start_order_raw(self.client, self.stack, ids[i])
            latencies.append(time.perf_counter() - t0)

        async def terminate(i: int) -> None:
            handle = self.client.get_workflow_handle(order_workflow_id(ids[i]))
            await handle.terminate(reason="bench: raw start only")

        self.stack.pause("worker")
        try:
            before = self.stack.cpu_seconds()
            with progress(n, f"raw start c={concurrency}") as bar:
                elapsed = await run_pool(n, concurrency, start, bar)
            cpu = cpu_delta(before, self.stack.cpu_seconds())
            with progress(n, f"terminate raw starts c={concurrency}") as bar:
                await run_pool(n, concurrency, terminate, bar)
        finally:
            self.stack.resume("worker")
        return {
            "workflow": "OrderWorkflow",
            "count": n,
            "rate_per_s": rate(n, elapsed),
            **latency_ms(latencies),
            "server_cpu_ms_per_start": round(cpu["server"] * 1000 / n, 2),
        }

    async def redeliver_lost_tracking(self, order_ids: list[str]) -> None:
        """Re-post the carrier's recorded events for shipments stuck in transit, and count them.

        The sandbox carrier gives up on a webhook after 5 tries in ~3 s; under load its
        first event can arrive before the shipment's tracking number is in the read model
        (404), and the shipment then waits forever. A real carrier retries for longer, so
        the bench redelivers, and reports how often it had to.
        """
        with self.db.session() as session:
            rows = session.execute(
                select(ShipmentRow.tracking_number, ShipmentRow.status).where(
                    ShipmentRow.order_id.in_(order_ids),
                    ShipmentRow.status.in_(JOURNEY[:-1]),
                    ShipmentRow.tracking_number.is_not(None),
                )
            ).all()
        carrier = self.stack.settings.carrier_url
        for tracking_number, status in rows:
            response = await self.api.get(f"{carrier}/v1/tracking/{tracking_number}")
            events = response.json().get("events", []) if response.status_code == 200 else []
            later = [e for e in events if JOURNEY.index(e["status"]) > JOURNEY.index(status)]
            for event in later:
                body = json.dumps(event).encode()
                signed = event_headers(
                    self.stack.settings.carrier_webhook_secret,
                    body,
                    str(uuid.uuid4()),
                    datetime.now(UTC),
                )
                await self.api.post(
                    "/carrier/events",
                    content=body,
                    headers={"content-type": "application/json"} | signed,
                )
            self.redelivered += 1 if later else 0

    async def _post(self, order_id: str) -> float:
        t0 = time.perf_counter()
        response = await self.api.post("/orders", json=order_body(order_id))
        if response.status_code != 202:
            raise RuntimeError(f"POST /orders: {response.status_code} {response.text}")
        return time.perf_counter() - t0

    async def post_burst(
        self, n: int, concurrency: int, watcher: ReadModelWatcher, tag: str = "B"
    ) -> dict[str, Any]:
        """N orders POSTed back to back with the order workers paused (the POST rate is the
        start cost only), then the workers resumed and the N orders drained."""
        ids = [f"{tag}{self.run_id}-{concurrency}-{i}" for i in range(n)]
        latencies: list[float] = []

        async def place(i: int) -> None:
            watcher.watch(ids[i])
            latencies.append(await self._post(ids[i]))

        with Phase(self.stack) as phase:
            self.stack.pause("worker")
            try:
                before = self.stack.cpu_seconds()
                with progress(n, f"POST /orders c={concurrency}") as bar:
                    elapsed = await run_pool(n, concurrency, place, bar)
                start_cpu = cpu_delta(before, self.stack.cpu_seconds())
            finally:
                self.stack.resume("worker")
            resumed = time.perf_counter()
            with progress(n, f"orders completed c={concurrency}") as bar:
                await watcher.wait_all(
                    ids, self.timeout_s, bar, self.redeliver_lost_tracking, self.stack.check_alive
                )
            drained = max(watcher.completed[i] for i in ids) - resumed
        completed = [watcher.completed[i] - resumed for i in ids]
        post = {
            "count": n,
            "rate_per_s": rate(n, elapsed),
            **latency_ms(latencies),
            "server_cpu_ms_per_start": round(start_cpu["server"] * 1000 / n, 2),
            "api_cpu_ms_per_start": round(start_cpu["api"] * 1000 / n, 2),
        }
        costs = await sampled_costs(self.client, [order_workflow_id(i) for i in ids])
        cpu = phase.usage.cpu_s  # the whole order: its start, run, API calls and simulator
        figures = per_order(costs, {r: cpu[r] for r in ("server", "worker", "api", "simulator")}, n)
        pipeline: dict[str, Any] = {
            "orders_per_s": rate(n, drained),
            "elapsed_s": round(drained, 2),
            "completed_after_resume": latency_ms(completed, (50, 95)),
            "resources": phase.usage.figures(),
            **figures,
        }
        # The floor runs as many (server) activities as the order; the order's local
        # activities are reported beside it, not added to the floor.
        activities = round(figures["activities_per_order"])
        return {"post": post, "pipeline": pipeline, "activities_per_order": activities}

    async def closed_loop(
        self, n: int, concurrency: int, watcher: ReadModelWatcher
    ) -> dict[str, Any]:
        """C customers, each placing an order and waiting for it to complete before the next."""
        confirmed: list[float] = []
        completed: list[float] = []
        posts: list[float] = []

        async def customer(i: int) -> None:
            order_id = f"L{self.run_id}-{concurrency}-{i}"
            done = watcher.watch(order_id)
            t0 = time.perf_counter()
            posts.append(await self._post(order_id))
            deadline = time.monotonic() + self.timeout_s
            while not done.is_set():
                self.stack.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"order {order_id} did not complete")
                try:
                    await asyncio.wait_for(done.wait(), STALL_S)
                except TimeoutError:
                    await self.redeliver_lost_tracking([order_id])
            confirmed.append(watcher.confirmed[order_id] - t0)
            completed.append(watcher.completed[order_id] - t0)

        with progress(n, f"closed loop c={concurrency}") as bar:
            elapsed = await run_pool(n, concurrency, customer, bar)
        return {
            "count": n,
            "orders_per_s": rate(n, elapsed),
            "post": latency_ms(posts),
            "confirmed": latency_ms(confirmed, (50, 95)),
            "completed": latency_ms(completed, (50, 95)),
            "poll_interval_ms": POLL_S * 1000,
        }

    async def floor(self, n: int, concurrency: int, activities: int) -> dict[str, Any]:
        """N floor workflows started with the floor worker paused, then drained, like the
        order burst."""
        queue = self.stack.settings.queue(FLOOR_QUEUE)
        ids = [f"bench-floor-{self.run_id}-{concurrency}-{i}" for i in range(n)]
        handles: list[Any] = []

        async def start(i: int) -> None:
            handles.append(
                await self.client.start_workflow(
                    FloorWorkflow.run,
                    FloorInput(activities=activities),
                    id=ids[i],
                    task_queue=queue,
                )
            )

        with Phase(self.stack) as phase:
            self.stack.pause("floor")
            try:
                with progress(n, f"floor start c={concurrency}") as bar:
                    await run_pool(n, concurrency, start, bar)
            finally:
                self.stack.resume("floor")
            resumed = datetime.now(UTC)
            finished = resumed
            with progress(n, f"floor completed c={concurrency}") as bar:
                for handle in handles:  # one result long-poll at a time: cheap for the server
                    result = await handle.result()
                    finished = max(finished, result.finished_at)
                    bar.update(1)
        elapsed = (finished - resumed).total_seconds()
        cpu, peak = phase.usage.cpu_s, phase.usage.peak_rss_mb
        usage = {  # the floor's own worker, reported under the same names as the pipeline's
            "worker_cpu_s": round(cpu.get("floor", 0.0), 2),
            "server_cpu_s": round(cpu.get("server", 0.0), 2),
            "worker_peak_rss_mb": round(peak.get("floor", 0.0), 1),
            "server_peak_rss_mb": round(peak.get("server", 0.0), 1),
        }
        costs = await sampled_costs(self.client, ids)
        return {
            "count": n,
            "activities": activities,
            "workflows_per_s": rate(n, elapsed),
            "elapsed_s": round(elapsed, 2),
            "resources": usage,
            **per_order(costs, {"server": cpu["server"], "worker": cpu["floor"]}, n),
        }

    async def level(self, n: int, concurrency: int, latency_n: int) -> dict[str, Any]:
        run: dict[str, Any] = {"concurrency": concurrency, "workers": self.stack.workers}
        run["raw_start"] = await self.raw_start(n, concurrency)
        redelivered_before = self.redelivered
        with ReadModelWatcher(self.db) as watcher:
            run.update(await self.post_burst(n, concurrency, watcher))
            run["latency"] = await self.closed_loop(latency_n, concurrency, watcher)
        run["tracking_redelivered"] = self.redelivered - redelivered_before
        run["floor"] = await self.floor(n, concurrency, run["activities_per_order"])
        run["post_vs_raw_start"] = ratio(run["post"]["rate_per_s"], run["raw_start"]["rate_per_s"])
        run["pipeline_vs_floor"] = ratio(
            run["pipeline"]["orders_per_s"], run["floor"]["workflows_per_s"]
        )
        run["targets"] = [t.as_dict() for t in evaluate_targets(run)]
        return run


@contextlib.asynccontextmanager
async def http_client(
    stack: BenchStack, concurrency: int, timeout_s: float = 60
) -> AsyncIterator[httpx.AsyncClient]:
    """The API client the bench's callers share, signed in with the dev token."""
    async with httpx.AsyncClient(
        base_url=stack.settings.api_url,
        timeout=timeout_s,
        limits=httpx.Limits(max_connections=concurrency + 10),
        headers={"Authorization": f"Bearer {stack.settings.token}"},
    ) as api:
        yield api


async def pipeline(
    args: argparse.Namespace, workers: int, parked_n: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Every concurrency level on one stack, then (``parked_n`` > 0) the parked scenario."""
    from devtools.bench.parked import ParkedBench

    with tempfile.TemporaryDirectory(prefix="oms-bench-") as tmp:
        stack = BenchStack(
            Path(tmp),
            database_url=args.database_url,
            workers=workers,
            simulate=True,
            max_cached_workflows=args.cache,
            profile_worker=Path(args.profile_worker) if args.profile_worker else None,
        )
        try:
            stack.start()
            client = await connect(stack.settings)
            async with http_client(stack, max(args.concurrency)) as api:
                bench = PipelineBench(stack, client, api)
                # Warm-up: imports, sandbox and caches, so the first level is not penalised.
                with ReadModelWatcher(bench.db) as watcher:
                    await bench.post_burst(3, 3, watcher, tag="W")
                await bench.floor(3, 3, 1)
                runs = []
                for concurrency in args.concurrency:
                    latency_n = args.latency_orders or min(args.orders, 200)
                    runs.append(await bench.level(args.orders, concurrency, latency_n))
                bench.db.dispose()
                parked = None
                if parked_n > 0:
                    stack.pause("simulator")  # nobody picks: every order parks
                    try:
                        parked = await ParkedBench(stack, client, api).run(
                            parked_n, max(args.concurrency)
                        )
                    finally:
                        stack.resume("simulator")
                return runs, parked
        except BaseException:
            _show_logs(Path(tmp))
            raise
        finally:
            stack.stop()


def _show_logs(tmp: Path, lines: int = 15) -> None:
    """The last ``lines`` of every process's log on stderr: the stack's folder is removed
    when the run ends, and a failed run (a CI flake above all) must say what went wrong."""
    for log in sorted(tmp.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {log.name} (last {len(tail)} lines)", *tail, sep="\n", file=sys.stderr)


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_json(path: str | None, figures: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {path}")


def all_targets(runs: Sequence[dict[str, Any]], parked: dict[str, Any] | None) -> list[Any]:
    """Every target of the run, each with the level (or ``parked``) it belongs to."""
    out = [
        {"level": f"c={run['concurrency']} w={run['workers']}", **t.as_dict()}
        for run in runs
        for t in evaluate_targets(run)
    ]
    if parked is not None:
        out += [{"level": "parked", **t.as_dict()} for t in evaluate_parked_targets(parked)]
    return out


def run_pipeline(args: argparse.Namespace) -> int:
    worker_counts = [1, 2] if args.compare_workers else [args.workers]
    if args.profile_worker:
        args.profile_worker = os.path.abspath(args.profile_worker)
    runs: list[dict[str, Any]] = []
    parked: dict[str, Any] | None = None
    for n, workers in enumerate(worker_counts):
        level_runs, level_parked = asyncio.run(
            pipeline(args, workers, args.parked if n == 0 else 0)
        )
        runs += level_runs
        parked = parked or level_parked
    print(report(runs, parked))
    if parked is not None and parked["n"] < 10_000:
        print(
            f"\nparked at {parked['n']} orders; the issue's figure is for 10 000: "
            "oms bench parked --n 10000 (or --parked 10000)"
        )
    write_json(
        args.json,
        {
            "benchmark": "pipeline",
            "command": "oms bench " + " ".join(args.argv),
            "machine": machine_info(),
            "orders": args.orders,
            "runs": runs,
            "parked": parked,
            "targets": all_targets(runs, parked),
        },
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms bench", description=__doc__)
    parser.add_argument(
        "mode", nargs="?", default="pipeline", choices=["pipeline", "parked", "search"]
    )
    parser.add_argument("--orders", type=int, default=500, help="orders per level (pipeline)")
    parser.add_argument(
        "--concurrency",
        type=parse_concurrency,
        default=None,
        help="concurrent callers, or a list: 10,50 (default 10; parked: 50)",
    )
    parser.add_argument(
        "--latency-orders",
        type=int,
        default=0,
        help="orders in the closed-loop latency phase (default: min(orders, 200))",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--compare-workers", action="store_true", help="run with 1 and with 2 worker processes"
    )
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        help="parked orders (parked; default 10 000), orders searched (search; default 100 000)",
    )
    parser.add_argument(
        "--parked",
        type=int,
        default=None,
        metavar="N",
        help="orders (and bare workflows) parked after the levels (default: --orders; 0: none)",
    )
    parser.add_argument("--cache", type=int, default=None, help="OMS_MAX_CACHED_WORKFLOWS")
    parser.add_argument("--database-url", default=None, help="OMS store (default: SQLite in tmp)")
    search.add_arguments(parser)
    parser.add_argument("--json", default=None, help="write every figure to this file")
    parser.add_argument(
        "--profile-worker",
        default=None,
        metavar="PREFIX",
        help="run the worker under pyinstrument (pip install pyinstrument); report PREFIX-1.txt",
    )
    return parser


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so the stack's processes are stopped too


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if args.mode == "parked":
        from devtools.bench.parked import run_parked

        args.concurrency = args.concurrency or [50]
        args.n = 10_000 if args.n is None else args.n
        sys.exit(run_parked(args))
    if args.mode == "search":
        args.n = 100_000 if args.n is None else args.n
        figures = search.run_search(args)
        write_json(
            args.json,
            {"command": "oms bench " + " ".join(argv), "machine": machine_info(), **figures},
        )
        sys.exit(0)
    args.concurrency = args.concurrency or [10]
    args.parked = args.orders if args.parked is None else args.parked
    sys.exit(run_pipeline(args))


if __name__ == "__main__":
    main()
