"""Pure helpers of ``oms bench``: percentiles, rates, the issue's targets and the result table.

No I/O here, so every figure's arithmetic is unit-tested without a server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


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


@dataclass(frozen=True)
class Target:
    """One target of the benchmark issue, with the measured value and whether it was met."""

    name: str
    goal: str
    measured: str
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_targets(run: dict[str, Any]) -> list[Target]:
    """The issue's targets for one concurrency level's figures (see ``docs/benchmark.md``)."""
    concurrency = run["concurrency"]
    targets: list[Target] = []
    ratio = run.get("pipeline_vs_floor")
    if ratio is not None:
        targets.append(
            Target("pipeline / floor throughput", ">= 0.80x", f"{ratio:.2f}x", ratio >= 0.8)
        )
    raw, post = run.get("raw_start", {}), run.get("post", {})
    if raw.get("rate_per_s") and post.get("rate_per_s"):
        share = post["rate_per_s"] / raw["rate_per_s"]
        targets.append(
            Target("POST /orders rate / raw start rate", ">= 0.80x", f"{share:.2f}x", share >= 0.8)
        )
    if raw.get("p50_ms") and post.get("p50_ms"):
        factor = post["p50_ms"] / raw["p50_ms"]
        targets.append(
            Target(
                "POST p50 / raw start p50",
                "<= 1.25x",
                f"{factor:.2f}x ({post['p50_ms']:.0f} vs {raw['p50_ms']:.0f} ms)",
                factor <= 1.25,
            )
        )
    confirmed = run.get("latency", {}).get("confirmed", {}).get("p50_ms")
    if confirmed is not None and concurrency == 10:
        targets.append(
            Target(
                "POST -> confirmed p50 at 10", "< 300 ms", f"{confirmed:.0f} ms", confirmed < 300
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


def report(runs: Sequence[dict[str, Any]]) -> str:
    """The figures of every run side by side, then the targets with PASS/MISS."""
    names = [f"c={r['concurrency']} w={r['workers']}" for r in runs]

    def get(run: dict[str, Any], *path: str) -> Any:
        value: Any = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    figures: list[tuple[str, tuple[str, ...]]] = [
        ("raw start_workflow /s", ("raw_start", "rate_per_s")),
        ("raw start p50 ms", ("raw_start", "p50_ms")),
        ("raw start p95 ms", ("raw_start", "p95_ms")),
        ("raw start p99 ms", ("raw_start", "p99_ms")),
        ("POST /orders /s", ("post", "rate_per_s")),
        ("POST p50 ms", ("post", "p50_ms")),
        ("POST p95 ms", ("post", "p95_ms")),
        ("POST p99 ms", ("post", "p99_ms")),
        ("pipeline orders/s (burst)", ("pipeline", "orders_per_s")),
        ("floor workflows/s (burst)", ("floor", "workflows_per_s")),
        ("pipeline / floor", ("pipeline_vs_floor",)),
        ("activities per order", ("activities_per_order",)),
        ("local activities per order", ("pipeline", "local_activities_per_order")),
        ("workflow tasks per order", ("pipeline", "workflow_tasks_per_order")),
        ("tracking events redelivered", ("tracking_redelivered",)),
        ("closed loop orders/s", ("latency", "orders_per_s")),
        ("POST->confirmed p50 ms", ("latency", "confirmed", "p50_ms")),
        ("POST->confirmed p95 ms", ("latency", "confirmed", "p95_ms")),
        ("POST->completed p50 ms", ("latency", "completed", "p50_ms")),
        ("POST->completed p95 ms", ("latency", "completed", "p95_ms")),
        ("worker CPU s (burst)", ("pipeline", "resources", "worker_cpu_s")),
        ("server CPU s (burst)", ("pipeline", "resources", "server_cpu_s")),
        ("API CPU s (burst)", ("pipeline", "resources", "api_cpu_s")),
        ("worker peak RSS MB", ("pipeline", "resources", "worker_peak_rss_mb")),
        ("server peak RSS MB", ("pipeline", "resources", "server_peak_rss_mb")),
        ("floor worker CPU s", ("floor", "resources", "worker_cpu_s")),
        ("floor server CPU s", ("floor", "resources", "server_cpu_s")),
    ]
    rows = [[label, *(get(run, *path) for run in runs)] for label, path in figures]
    out = [table(rows, ["figure", *names])]
    target_rows = [
        [f"{name}: {t.name}", t.goal, t.measured, "PASS" if t.passed else "MISS"]
        for name, run in zip(names, runs, strict=True)
        for t in evaluate_targets(run)
    ]
    if target_rows:
        out += ["", table(target_rows, ["target", "goal", "measured", "result"])]
    return "\n".join(out)
