"""Pure helpers of ``oms bench``: percentiles, rates, history costs, targets and the report.

No I/O here, so every figure's arithmetic is unit-tested without a server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; raises ``ValueError`` when empty."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(
    seconds: Sequence[float], quantiles: Sequence[int] = (50, 95, 99)
) -> dict[str, float]:
    """``{"p50_ms": ..., ...}`` for durations given in seconds (an empty dict for none)."""
    if not seconds:
        return {}
    return {f"p{q}_ms": round(percentile(seconds, q) * 1000, 2) for q in quantiles}


def rate(count: int, elapsed_s: float) -> float:
    """Events per second, 0 when nothing happened or no time passed."""
    return round(count / elapsed_s, 2) if count and elapsed_s > 0 else 0.0


def parse_concurrency(text: str) -> list[int]:
    """``"10,50"`` -> ``[10, 50]``; raises ``ValueError`` for anything but positive integers."""
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or any(level < 1 for level in levels):
        raise ValueError(f"concurrency must be positive integers, got {text!r}")
    return levels


@dataclass
class HistoryCost:
    """What the histories of some workflows (one order and its children) add up to."""

    workflows: int = 0
    workflow_tasks: int = 0  # WorkflowTaskCompleted events
    events: int = 0
    bytes: int = 0  # serialized size of each history protobuf
    activities: int = 0  # ActivityTaskScheduled: the server schedules, dispatches, records
    local_activities: int = 0  # local-activity markers: run by the workflow worker itself

    def __add__(self, other: HistoryCost) -> HistoryCost:
        return HistoryCost(
            *(getattr(self, f) + getattr(other, f) for f in HistoryCost.__dataclass_fields__)
        )


def history_cost(events: Sequence[HistoryEvent]) -> tuple[HistoryCost, list[str]]:
    """The cost of one workflow's history, and the ids of the child workflows it started."""
    cost = HistoryCost(workflows=1, events=len(events))
    cost.bytes = History(events=events).ByteSize()
    children: list[str] = []
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            cost.activities += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            if event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER:
                cost.local_activities += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            cost.workflow_tasks += 1
        elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            children.append(
                event.start_child_workflow_execution_initiated_event_attributes.workflow_id
            )
    return cost, children


def spread(items: Sequence[str], k: int) -> list[str]:
    """Up to ``k`` of ``items`` evenly spaced from first to last (all of them when fewer)."""
    if k < 1 or not items:
        return []
    if len(items) <= k:
        return list(items)
    if k == 1:
        return [items[0]]
    step = (len(items) - 1) / (k - 1)
    return [items[round(i * step)] for i in range(k)]


def per_order(
    costs: Sequence[HistoryCost], cpu_s: Mapping[str, float], count: int
) -> dict[str, float]:
    """Per-order figures: history means over the sampled orders, CPU seconds over all ``count``.

    ``costs`` holds one ``HistoryCost`` per sampled order (its workflow and children);
    ``cpu_s`` the CPU seconds of each role over the phase that ran ``count`` orders.
    Raises ``ValueError`` without samples or orders.
    """
    if not costs or count < 1:
        raise ValueError("per-order figures need at least one order and one sampled history")
    total = sum(costs, HistoryCost())
    n = len(costs)
    figures: dict[str, float] = {
        "workflows_per_order": round(total.workflows / n, 2),
        "workflow_tasks_per_order": round(total.workflow_tasks / n, 2),
        "history_events_per_order": round(total.events / n, 2),
        "history_bytes_per_order": round(total.bytes / n),
        "activities_per_order": round(total.activities / n, 2),
        "local_activities_per_order": round(total.local_activities / n, 2),
        "history_sample": n,
    }
    for role, seconds in cpu_s.items():
        figures[f"{role}_cpu_s_per_order"] = round(seconds / count, 4)
    return figures


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` to 3 places, None when either is missing or zero."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


@dataclass(frozen=True)
class Target:
    """One target of the benchmark issue, with the measured value and whether it was met."""

    name: str
    goal: str
    measured: str
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PIPELINE_VS_FLOOR = 0.6
POST_VS_RAW_START = 0.8
CONFIRMED_P50_MS = 300.0
PARKED_VS_BARE = 0.8
WORKER_RSS_MB = 400.0
OPS_STUCK_MS = 1000.0


def evaluate_targets(run: dict[str, Any]) -> list[Target]:
    """The issue's targets for one concurrency level's figures (see ``docs/benchmark.md``)."""
    concurrency = run["concurrency"]
    targets: list[Target] = []
    floor_ratio = run.get("pipeline_vs_floor")
    if floor_ratio is not None:
        targets.append(
            Target(
                "pipeline / floor throughput",
                f">= {PIPELINE_VS_FLOOR:.2f}x",
                f"{floor_ratio:.2f}x",
                floor_ratio >= PIPELINE_VS_FLOOR,
            )
        )
    start_ratio = run.get("post_vs_raw_start")
    if start_ratio is not None:
        targets.append(
            Target(
                "POST /orders rate / raw start rate (workers paused)",
                f">= {POST_VS_RAW_START:.2f}x",
                f"{start_ratio:.2f}x",
                start_ratio >= POST_VS_RAW_START,
            )
        )
    confirmed = run.get("latency", {}).get("confirmed", {}).get("p50_ms")
    if confirmed is not None and concurrency == 10:
        targets.append(
            Target(
                "POST -> confirmed p50 at 10",
                f"< {CONFIRMED_P50_MS:.0f} ms",
                f"{confirmed:.0f} ms",
                confirmed < CONFIRMED_P50_MS,
            )
        )
    return targets


def evaluate_parked_targets(parked: dict[str, Any]) -> list[Target]:
    """The parked-orders targets; each names the number of orders it was measured at."""
    n = parked["n"]
    targets: list[Target] = []
    parked_ratio = parked.get("parked_vs_bare")
    if parked_ratio is not None:
        targets.append(
            Target(
                f"{n} orders parked / bare parked rate",
                f">= {PARKED_VS_BARE:.2f}x",
                f"{parked_ratio:.2f}x",
                parked_ratio >= PARKED_VS_BARE,
            )
        )
    rss = [parked.get("worker_rss_mb"), parked.get("resources", {}).get("worker_peak_rss_mb")]
    measured = [value for value in rss if value is not None]
    if measured:
        worst = max(measured)
        targets.append(
            Target(
                f"worker RSS with {n} parked (after, peak)",
                f"< {WORKER_RSS_MB:.0f} MB",
                f"{worst:.0f} MB",
                worst < WORKER_RSS_MB,
            )
        )
    stuck = parked.get("ops_stuck", {}).get("p50_ms")
    if stuck is not None:
        targets.append(
            Target(
                f"GET /ops/stuck p50 with {n} parked",
                f"< {OPS_STUCK_MS / 1000:.0f} s",
                f"{stuck:.0f} ms",
                stuck < OPS_STUCK_MS,
            )
        )
    return targets


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain-text table, first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in header]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _get(tree: Any, *path: str) -> Any:
    for key in path:
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


FIGURES: list[tuple[str, tuple[str, ...]]] = [
    ("raw start_workflow /s (workers paused)", ("raw_start", "rate_per_s")),
    ("raw start p50 ms", ("raw_start", "p50_ms")),
    ("raw start p95 ms", ("raw_start", "p95_ms")),
    ("POST /orders /s (workers paused)", ("post", "rate_per_s")),
    ("POST p50 ms", ("post", "p50_ms")),
    ("POST p95 ms", ("post", "p95_ms")),
    ("POST / raw start", ("post_vs_raw_start",)),
    ("server CPU ms per raw start", ("raw_start", "server_cpu_ms_per_start")),
    ("server CPU ms per POST", ("post", "server_cpu_ms_per_start")),
    ("API CPU ms per POST", ("post", "api_cpu_ms_per_start")),
    ("pipeline orders/s (drain)", ("pipeline", "orders_per_s")),
    ("floor workflows/s (drain)", ("floor", "workflows_per_s")),
    ("pipeline / floor", ("pipeline_vs_floor",)),
    ("activities per order (= floor's)", ("activities_per_order",)),
    ("local activities per order", ("pipeline", "local_activities_per_order")),
    ("workflows per order", ("pipeline", "workflows_per_order")),
    ("workflow tasks per order", ("pipeline", "workflow_tasks_per_order")),
    ("  floor", ("floor", "workflow_tasks_per_order")),
    ("history events per order", ("pipeline", "history_events_per_order")),
    ("  floor", ("floor", "history_events_per_order")),
    ("history bytes per order", ("pipeline", "history_bytes_per_order")),
    ("  floor", ("floor", "history_bytes_per_order")),
    ("server CPU s per order", ("pipeline", "server_cpu_s_per_order")),
    ("  floor", ("floor", "server_cpu_s_per_order")),
    ("worker CPU s per order", ("pipeline", "worker_cpu_s_per_order")),
    ("  floor", ("floor", "worker_cpu_s_per_order")),
    ("API CPU s per order", ("pipeline", "api_cpu_s_per_order")),
    ("simulator CPU s per order", ("pipeline", "simulator_cpu_s_per_order")),
    ("tracking events redelivered", ("tracking_redelivered",)),
    ("closed loop orders/s", ("latency", "orders_per_s")),
    ("POST->confirmed p50 ms", ("latency", "confirmed", "p50_ms")),
    ("POST->confirmed p95 ms", ("latency", "confirmed", "p95_ms")),
    ("POST->completed p50 ms", ("latency", "completed", "p50_ms")),
    ("POST->completed p95 ms", ("latency", "completed", "p95_ms")),
    ("worker peak RSS MB (drain)", ("pipeline", "resources", "worker_peak_rss_mb")),
    ("  floor", ("floor", "resources", "worker_peak_rss_mb")),
    ("server peak RSS MB (drain)", ("pipeline", "resources", "server_peak_rss_mb")),
]


def parked_rows(parked: dict[str, Any]) -> list[list[Any]]:
    """The parked scenario's figures as (figure, value, target) rows."""
    return [
        ["parked orders (and bare workflows)", parked["n"], ""],
        ["concurrency", parked["concurrency"], ""],
        ["max_cached_workflows", parked["max_cached_workflows"], ""],
        ["POST /orders /s", _get(parked, "post", "rate_per_s"), ""],
        ["orders parked /s", parked["parked_per_s"], ""],
        ["bare workflows parked /s", _get(parked, "bare", "parked_per_s"), ""],
        ["orders / bare", parked.get("parked_vs_bare"), f">= {PARKED_VS_BARE:.2f}x"],
        ["worker RSS MB (after)", parked["worker_rss_mb"], f"< {WORKER_RSS_MB:.0f} MB"],
        [
            "worker peak RSS MB",
            _get(parked, "resources", "worker_peak_rss_mb"),
            f"< {WORKER_RSS_MB:.0f} MB",
        ],
        ["server RSS MB (after)", parked["server_rss_mb"], ""],
        ["server CPU s per parked order", parked.get("server_cpu_s_per_order"), ""],
        ["  bare", _get(parked, "bare", "server_cpu_s_per_workflow"), ""],
        ["count(OmsStage=awaiting_pick) p50 ms", _get(parked, "count_query", "p50_ms"), ""],
        ["list 200 (same query) p50 ms", _get(parked, "list_200_query", "p50_ms"), ""],
        [
            "GET /orders?status=picking&limit=200 p50 ms",
            _get(parked, "orders_picking_200", "p50_ms"),
            "",
        ],
        ["GET /ops/stuck p50 ms", _get(parked, "ops_stuck", "p50_ms"), "< 1000 ms"],
    ]


def target_table(rows: Sequence[tuple[str, Target]]) -> str:
    """``[(prefix, target), ...]`` as a table with PASS/MISS."""
    return table(
        [
            [f"{prefix}: {t.name}" if prefix else t.name, t.goal, t.measured, _verdict(t)]
            for prefix, t in rows
        ],
        ["target", "goal", "measured", "result"],
    )


def _verdict(target: Target) -> str:
    return "PASS" if target.passed else "MISS"


def report(runs: Sequence[dict[str, Any]], parked: dict[str, Any] | None = None) -> str:
    """The figures of every run side by side, the parked scenario, then every target."""
    names = [f"c={r['concurrency']} w={r['workers']}" for r in runs]
    out: list[str] = []
    if runs:
        rows = [[label, *(_get(run, *path) for run in runs)] for label, path in FIGURES]
        out.append(table(rows, ["figure", *names]))
    if parked is not None:
        out += ["", table(parked_rows(parked), ["parked figure", "value", "target"])]
    targets = [
        (name, t) for name, run in zip(names, runs, strict=True) for t in evaluate_targets(run)
    ]
    if parked is not None:
        targets += [("parked", t) for t in evaluate_parked_targets(parked)]
    if targets:
        out += ["", target_table(targets)]
    return "\n".join(out).lstrip("\n")
