"""The benchmark's arithmetic: percentiles, rates, the issue's targets and the table."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    HistoryEvent,
    MarkerRecordedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
)

from devtools.bench.stats import (
    HistoryCost,
    evaluate_parked_targets,
    evaluate_targets,
    history_cost,
    latency_ms,
    parse_concurrency,
    per_order,
    percentile,
    rate,
    ratio,
    report,
    spread,
    table,
)


def test_percentile_interpolates_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_unsorted_values() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_percentile_refuses_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_ms_converts_seconds() -> None:
    assert latency_ms([0.010, 0.020, 0.030]) == {"p50_ms": 20.0, "p95_ms": 29.0, "p99_ms": 29.8}
    assert latency_ms([]) == {}


def test_rate_is_zero_without_time_or_events() -> None:
    assert rate(100, 4.0) == 25.0
    assert rate(0, 4.0) == 0.0
    assert rate(10, 0.0) == 0.0


def test_parse_concurrency_accepts_a_list() -> None:
    assert parse_concurrency("10,50") == [10, 50]
    assert parse_concurrency("10") == [10]
    for bad in ("", "0", "10,-1"):
        with pytest.raises(ValueError):
            parse_concurrency(bad)


def _run(**overrides: object) -> dict[str, object]:
    run: dict[str, object] = {
        "concurrency": 10,
        "workers": 1,
        "pipeline_vs_floor": 0.6,
        "post_vs_raw_start": 0.8,
        "raw_start": {"rate_per_s": 100.0, "p50_ms": 10.0},
        "post": {"rate_per_s": 80.0, "p50_ms": 12.0},
        "latency": {"confirmed": {"p50_ms": 250.0}},
        "pipeline": {"workflow_tasks_per_order": 19.0, "server_cpu_s_per_order": 0.2},
        "floor": {"workflow_tasks_per_order": 11.0, "server_cpu_s_per_order": 0.09},
    }
    run.update(overrides)
    return run


def _parked(**overrides: object) -> dict[str, object]:
    parked: dict[str, object] = {
        "n": 10_000,
        "concurrency": 50,
        "max_cached_workflows": 500,
        "post": {"rate_per_s": 99.0},
        "parked_per_s": 44.0,
        "bare": {"parked_per_s": 55.0},
        "parked_vs_bare": 0.8,
        "worker_rss_mb": 380.0,
        "server_rss_mb": 600.0,
        "resources": {"worker_peak_rss_mb": 399.0},
        "ops_stuck": {"p50_ms": 999.0},
    }
    parked.update(overrides)
    return parked


def test_targets_pass_at_exactly_the_issues_goals() -> None:
    targets = evaluate_targets(_run())
    assert [t.name for t in targets] == [
        "pipeline / floor throughput",
        "POST /orders rate / raw start rate (workers paused)",
        "POST -> confirmed p50 at 10",
    ]
    assert all(t.passed for t in targets)


def test_targets_miss_just_below_the_goals() -> None:
    run = _run(
        pipeline_vs_floor=0.599,
        post_vs_raw_start=0.799,
        latency={"confirmed": {"p50_ms": 300.0}},
    )
    assert [t.passed for t in evaluate_targets(run)] == [False, False, False]


def test_post_target_uses_the_paused_ratio_not_the_burst_rates() -> None:
    (post,) = [t for t in evaluate_targets(_run(post_vs_raw_start=0.3)) if "POST /orders" in t.name]
    assert not post.passed and post.measured == "0.30x"


def test_confirmed_target_only_applies_at_ten() -> None:
    names = [t.name for t in evaluate_targets(_run(concurrency=50))]
    assert not any("confirmed" in name for name in names)


def test_a_missing_figure_gives_no_target_rather_than_a_pass() -> None:
    assert evaluate_targets({"concurrency": 50}) == []
    assert evaluate_parked_targets({"n": 5}) == []


def test_parked_targets_pass_at_their_goals_and_name_the_count() -> None:
    targets = evaluate_parked_targets(_parked())
    assert [t.passed for t in targets] == [True, True, True]
    assert all("10000" in t.name for t in targets)


def test_parked_targets_miss_on_ratio_peak_rss_and_slow_ops_query() -> None:
    parked = _parked(
        parked_vs_bare=0.79,
        worker_rss_mb=300.0,
        resources={"worker_peak_rss_mb": 400.0},  # after parking is fine, the peak is not
        ops_stuck={"p50_ms": 1000.0},
    )
    targets = evaluate_parked_targets(parked)
    assert [t.passed for t in targets] == [False, False, False]
    assert targets[1].measured == "400 MB"


def _event(kind: EventType.ValueType, **attributes: object) -> HistoryEvent:
    return HistoryEvent(event_type=kind, **attributes)


def test_history_cost_counts_tasks_activities_markers_and_children() -> None:
    events = [
        _event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        _event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(
            EventType.EVENT_TYPE_MARKER_RECORDED,
            marker_recorded_event_attributes=MarkerRecordedEventAttributes(
                marker_name="core_local_activity"
            ),
        ),
        _event(
            EventType.EVENT_TYPE_MARKER_RECORDED,
            marker_recorded_event_attributes=MarkerRecordedEventAttributes(marker_name="patch"),
        ),
        _event(
            EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            start_child_workflow_execution_initiated_event_attributes=(
                StartChildWorkflowExecutionInitiatedEventAttributes(workflow_id="shipment-S1")
            ),
        ),
        _event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    ]
    cost, children = history_cost(events)
    assert children == ["shipment-S1"]
    assert (cost.workflows, cost.events, cost.workflow_tasks) == (1, 7, 2)
    assert (cost.activities, cost.local_activities) == (1, 1)
    assert cost.bytes > sum(event.ByteSize() for event in events)  # framing of each event
    assert history_cost(events[:2])[0].bytes < cost.bytes


def test_history_costs_add_field_by_field() -> None:
    total = HistoryCost(1, 2, 3, 4, 5, 6) + HistoryCost(10, 20, 30, 40, 50, 60)
    assert total == HistoryCost(11, 22, 33, 44, 55, 66)


def test_per_order_averages_histories_over_the_sample_and_cpu_over_all_orders() -> None:
    costs = [HistoryCost(2, 20, 100, 1000, 10, 4), HistoryCost(2, 30, 140, 3000, 10, 6)]
    figures = per_order(costs, {"server": 30.0, "worker": 15.0}, count=300)
    assert figures["workflows_per_order"] == 2
    assert figures["workflow_tasks_per_order"] == 25
    assert figures["history_events_per_order"] == 120
    assert figures["history_bytes_per_order"] == 2000
    assert figures["local_activities_per_order"] == 5
    assert figures["history_sample"] == 2
    assert figures["server_cpu_s_per_order"] == 0.1
    assert figures["worker_cpu_s_per_order"] == 0.05


def test_per_order_refuses_no_sample_or_no_orders() -> None:
    with pytest.raises(ValueError):
        per_order([], {"server": 1.0}, 10)
    with pytest.raises(ValueError):
        per_order([HistoryCost()], {"server": 1.0}, 0)


def test_spread_takes_first_last_and_evenly_between() -> None:
    items = [str(i) for i in range(100)]
    picked = spread(items, 5)
    assert picked == ["0", "25", "50", "74", "99"]  # round() to the nearest index
    assert spread(items[:3], 5) == ["0", "1", "2"]
    assert spread(items, 1) == ["0"]
    assert spread([], 3) == [] and spread(items, 0) == []


def test_ratio_is_none_without_a_denominator() -> None:
    assert ratio(80.0, 100.0) == 0.8
    assert ratio(2.0, 3.0) == 0.667
    assert ratio(5.0, 0.0) is None and ratio(None, 5.0) is None


def test_table_aligns_columns() -> None:
    text = table([["a", 1.5], ["bbb", 1234.0]], ["figure", "value"])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert "1,234" in text


def test_report_lists_targets_with_pass_and_miss() -> None:
    text = report([_run(), _run(concurrency=50, pipeline_vs_floor=0.5)])
    assert "c=10 w=1" in text and "c=50 w=1" in text
    assert "PASS" in text and "MISS" in text


def test_report_shows_per_order_figures_beside_the_floors() -> None:
    lines = report([_run()]).splitlines()
    tasks = next(i for i, line in enumerate(lines) if line.startswith("workflow tasks per order"))
    assert lines[tasks].split()[-1] == "19.00"
    assert lines[tasks + 1].split() == ["floor", "11.00"]


def test_report_adds_the_parked_scenario_and_its_targets() -> None:
    text = report([_run()], _parked(parked_vs_bare=0.5))
    assert "bare workflows parked /s" in text
    parked_lines = [line for line in text.splitlines() if line.startswith("parked: ")]
    assert len(parked_lines) == 3
    assert parked_lines[0].endswith("MISS") and parked_lines[1].endswith("PASS")


def test_report_of_the_parked_scenario_alone() -> None:
    text = report([], _parked())
    assert text.startswith("parked figure")
    assert "c=" not in text
