"""The benchmark's arithmetic: percentiles, rates, the issue's targets and the table."""

from __future__ import annotations

import pytest

from starters.bench_stats import (
    evaluate_targets,
    latency_ms,
    parse_concurrency,
    percentile,
    rate,
    report,
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
        "pipeline_vs_floor": 0.9,
        "raw_start": {"rate_per_s": 100.0, "p50_ms": 10.0},
        "post": {"rate_per_s": 85.0, "p50_ms": 12.0},
        "latency": {"confirmed": {"p50_ms": 250.0}},
    }
    run.update(overrides)
    return run


def test_targets_pass_when_every_goal_is_met() -> None:
    targets = evaluate_targets(_run())
    assert [t.passed for t in targets] == [True, True, True, True]


def test_targets_miss_honestly() -> None:
    run = _run(
        pipeline_vs_floor=0.3,
        post={"rate_per_s": 20.0, "p50_ms": 40.0},
        latency={"confirmed": {"p50_ms": 450.0}},
    )
    assert [t.passed for t in evaluate_targets(run)] == [False, False, False, False]


def test_confirmed_target_only_applies_at_ten() -> None:
    names = [t.name for t in evaluate_targets(_run(concurrency=50))]
    assert not any("confirmed" in name for name in names)


def test_table_aligns_columns() -> None:
    text = table([["a", 1.5], ["bbb", 1234.0]], ["figure", "value"])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert "1,234" in text


def test_report_lists_targets_with_pass_and_miss() -> None:
    text = report([_run(), _run(concurrency=50, pipeline_vs_floor=0.5)])
    assert "c=10 w=1" in text and "c=50 w=1" in text
    assert "PASS" in text and "MISS" in text
