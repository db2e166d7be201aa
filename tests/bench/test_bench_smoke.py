"""``oms bench`` end to end on its own embedded stack, with a handful of orders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    ("raw_start", "rate_per_s"),
    ("raw_start", "p50_ms"),
    ("raw_start", "p95_ms"),
    ("raw_start", "p99_ms"),
    ("raw_start", "server_cpu_ms_per_start"),
    ("post", "rate_per_s"),
    ("post", "server_cpu_ms_per_start"),
    ("post", "api_cpu_ms_per_start"),
    ("post", "p50_ms"),
    ("post", "p95_ms"),
    ("post", "p99_ms"),
    ("pipeline", "orders_per_s"),
    ("pipeline", "workflow_tasks_per_order"),
    ("pipeline", "history_events_per_order"),
    ("pipeline", "history_bytes_per_order"),
    ("pipeline", "server_cpu_s_per_order"),
    ("pipeline", "worker_cpu_s_per_order"),
    ("pipeline", "local_activities_per_order"),
    ("pipeline", "resources", "worker_cpu_s"),
    ("pipeline", "resources", "server_cpu_s"),
    ("pipeline", "resources", "api_cpu_s"),
    ("pipeline", "resources", "worker_peak_rss_mb"),
    ("pipeline", "resources", "server_peak_rss_mb"),
    ("latency", "orders_per_s"),
    ("latency", "confirmed", "p50_ms"),
    ("latency", "confirmed", "p95_ms"),
    ("latency", "completed", "p50_ms"),
    ("latency", "completed", "p95_ms"),
    ("floor", "workflows_per_s"),
    ("floor", "workflow_tasks_per_order"),
    ("floor", "history_events_per_order"),
    ("floor", "history_bytes_per_order"),
    ("floor", "server_cpu_s_per_order"),
    ("floor", "worker_cpu_s_per_order"),
    ("floor", "resources", "worker_cpu_s"),
    ("floor", "resources", "server_cpu_s"),
    ("floor", "resources", "worker_peak_rss_mb"),
    ("activities_per_order",),
    ("pipeline_vs_floor",),
    ("post_vs_raw_start",),
]
PARKED_FIGURES = [
    ("post", "rate_per_s"),
    ("parked_per_s",),
    ("bare", "parked_per_s"),
    ("parked_vs_bare",),
    ("worker_rss_mb",),
    ("resources", "worker_peak_rss_mb"),
    ("ops_stuck", "p50_ms"),
    ("count_query", "p50_ms"),
]


def _get(run: dict[str, object], path: tuple[str, ...]) -> object:
    value: object = run
    for key in path:
        assert isinstance(value, dict), f"{path}: {key} missing"
        value = value[key]
    return value


def test_pipeline_bench_writes_a_positive_figure_for_everything(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.bench.run",
            "--orders",
            "5",
            "--concurrency",
            "2",
            "--latency-orders",
            "4",
            "--parked",
            "3",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["benchmark"] == "pipeline"
    (run,) = figures["runs"]
    assert run["concurrency"] == 2 and run["workers"] == 1
    for path in FIGURES:
        value = _get(run, path)
        assert isinstance(value, int | float) and value > 0, f"{'.'.join(path)} = {value!r}"
    # A single-shipment order runs its business steps as activities (the floor runs as
    # many) and its read-model writes as local activities: each of its two workflows
    # writes at least its final state, and no task writes twice (changes that land in one
    # task share a write, so the count between those bounds depends on timing).
    assert run["activities_per_order"] >= 10
    assert run["floor"]["activities"] == run["activities_per_order"]
    assert run["pipeline"]["workflows_per_order"] == 2
    writes = run["pipeline"]["local_activities_per_order"]
    assert 2 <= writes <= run["pipeline"]["workflow_tasks_per_order"], writes
    # An order is two workflows (order and shipment), each with more to say than the floor.
    for per_order in ("workflow_tasks_per_order", "history_events_per_order"):
        assert run["pipeline"][per_order] > run["floor"][per_order]
    assert run["raw_start"]["workflow"] == "OrderWorkflow"
    parked = figures["parked"]
    assert parked["n"] == 3 and parked["count_result"] == 3
    for path in PARKED_FIGURES:
        value = _get(parked, path)
        assert isinstance(value, int | float) and value > 0, f"parked.{'.'.join(path)} = {value!r}"
    # Every target is in the JSON with its level, and printed with PASS or MISS.
    levels = {t["level"] for t in figures["targets"]}
    assert levels == {"c=2 w=1", "parked"}
    assert len(figures["targets"]) == len(run["targets"]) + len(parked["targets"]) == 5
    for target in figures["targets"]:
        verdict = "PASS" if target["passed"] else "MISS"
        assert any(
            target["name"] in line and line.rstrip().endswith(verdict)
            for line in result.stdout.splitlines()
        ), target
