"""Demand forecast (statsmodels exponential smoothing) and the reorder point it feeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oms.domain.forecast import MIN_SMOOTHING_DAYS, forecast_demand, reorder_point

# A weekly pattern that sums to zero, so the level carries the trend alone.
SEASON = [0.0, 3.0, -2.0, 5.0, -4.0, 6.0, -8.0]


def synthetic(days: int, noise: float = 0.5, seed: int = 7) -> np.ndarray:
    t = np.arange(days)
    rng = np.random.default_rng(seed)
    return 20 + 0.5 * t + np.array([SEASON[i % 7] for i in t]) + rng.normal(0, noise, days)


def truth(start: int, horizon: int) -> np.ndarray:
    t = np.arange(start, start + horizon)
    return 20 + 0.5 * t + np.array([SEASON[i % 7] for i in t])


def test_holt_winters_recovers_a_known_trend_and_weekly_season() -> None:
    history = synthetic(84)
    result = forecast_demand(history, 14)
    assert result.method == "holt_winters"
    assert result.history_days == 84
    expected = truth(84, 14)
    errors = np.abs(np.array(result.values) - expected)
    assert errors.max() < 1.5, (result.values, expected.tolist())
    # The season is in the forecast, not just the level: Saturday (index 5) stands above
    # the Sunday after it by about 6 - (-8) - 0.5.
    saturday = next(i for i in range(14) if (84 + i) % 7 == 5)
    assert result.values[saturday] - result.values[saturday + 1] == pytest.approx(13.5, abs=1.5)
    # Residuals are about the noise we added.
    assert 0.2 < result.sigma < 1.0


def test_the_trend_carries_on_over_the_horizon() -> None:
    result = forecast_demand(synthetic(84, noise=0.2), 28)
    # Four weeks later the same weekday is 4 * 7 * 0.5 = 14 units higher.
    assert result.values[21] - result.values[0] == pytest.approx(10.5, abs=1.5)
    assert result.values[27] - result.values[6] == pytest.approx(10.5, abs=1.5)


def test_two_to_four_weeks_still_get_holt_winters_with_estimated_start_values() -> None:
    history = synthetic(21, noise=0.3)
    result = forecast_demand(history, 7)
    assert result.method == "holt_winters"
    errors = np.abs(np.array(result.values) - truth(21, 7))
    assert errors.max() < 3.0, (result.values, truth(21, 7).tolist())


def test_under_two_seasons_falls_back_to_simple_exponential_smoothing() -> None:
    history = [10, 12, 9, 11, 10, 13, 9, 11, 10, 12]
    result = forecast_demand(history, 5)
    assert result.method == "simple_exponential_smoothing"
    assert len(result.values) == 5
    assert len(set(result.values)) == 1  # a level, no trend or season
    assert 9 <= result.values[0] <= 13


def test_very_short_history_uses_the_mean() -> None:
    history = [4.0, 8.0, 6.0][: MIN_SMOOTHING_DAYS - 1]
    result = forecast_demand(history, 3)
    assert result.method == "mean"
    assert result.values == [6.0, 6.0, 6.0]
    assert result.sigma == pytest.approx(np.std([4.0, 8.0, 6.0]))


def test_a_flat_series_is_its_own_forecast() -> None:
    result = forecast_demand([5.0] * 30, 4)
    assert result.method == "mean"
    assert result.values == [5.0] * 4
    assert result.sigma == 0.0


def test_no_history_forecasts_no_demand() -> None:
    result = forecast_demand([], 3)
    assert result.method == "none"
    assert result.values == [0.0, 0.0, 0.0]


def test_forecasts_are_never_negative() -> None:
    # Falling fast: the trend would take the forecast below zero.
    falling = [max(0.0, 30 - 1.5 * t + SEASON[t % 7] / 2) for t in range(21)]
    result = forecast_demand(falling, 21)
    assert min(result.values) >= 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        forecast_demand([1, 2, 3], 0)
    with pytest.raises(ValueError, match="negative"):
        forecast_demand([1, -2, 3], 2)


def test_reorder_point_is_lead_time_demand_plus_safety_stock() -> None:
    rop = reorder_point([10.0] * 30, lead_time_days=7, sigma_daily=2.0, service_level=0.95)
    safety = 1.6448536 * 2.0 * math.sqrt(7)
    assert rop.lead_time_demand == 70.0
    assert rop.safety_stock == pytest.approx(safety, abs=1e-3)
    assert rop.reorder_point == math.ceil(70 + safety)  # 79
    assert rop.order_up_to == math.ceil(70 + safety + 14 * 10)  # 219
    assert rop.reorder_point == 79 and rop.order_up_to == 219


def test_reorder_quantity_fills_up_to_the_level_only_at_or_below_the_point() -> None:
    low = reorder_point([10.0] * 30, 7, 2.0, available=50)
    assert low.reorder_now and low.suggested_quantity == 219 - 50
    at = reorder_point([10.0] * 30, 7, 2.0, available=79)
    assert at.reorder_now and at.suggested_quantity == 140
    high = reorder_point([10.0] * 30, 7, 2.0, available=80)
    assert not high.reorder_now and high.suggested_quantity == 0


def test_reorder_point_follows_the_forecast_path_and_extends_a_short_one() -> None:
    rising = reorder_point([1.0, 2.0, 3.0], lead_time_days=5, sigma_daily=0.0, review_days=0)
    # Days beyond the forecast repeat its last value: 1 + 2 + 3 + 3 + 3.
    assert rising.lead_time_demand == 12.0
    assert rising.reorder_point == 12 and rising.order_up_to == 12


def test_higher_service_level_needs_more_safety_stock() -> None:
    ninety = reorder_point([10.0] * 14, 7, 3.0, service_level=0.90)
    ninety_nine = reorder_point([10.0] * 14, 7, 3.0, service_level=0.99)
    assert ninety_nine.safety_stock > ninety.safety_stock


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"daily_forecast": []}, "empty"),
        ({"lead_time_days": 0}, "lead_time_days"),
        ({"service_level": 1.0}, "service_level"),
        ({"service_level": 0.3}, "service_level"),
        ({"sigma_daily": -1.0}, "negative"),
    ],
)
def test_reorder_point_refuses_nonsense(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"daily_forecast": [1.0], "lead_time_days": 3, "sigma_daily": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        reorder_point(**args)  # type: ignore[arg-type]
