"""Demand forecast per SKU and the reorder point it feeds. Pure: numbers in, numbers out.

The forecast is statsmodels' exponential smoothing, chosen by how much history
there is:

- two weekly seasons or more: Holt-Winters (additive trend, additive weekly season);
- at least ``MIN_SMOOTHING_DAYS``: simple exponential smoothing (a level, no trend);
- less, or a constant series: the mean of what there is (nothing to smooth);
- nothing at all: zero demand (method ``none``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from oms.models.reports import DemandForecast, ReorderPoint

SEASON_DAYS = 7
MIN_SMOOTHING_DAYS = 4


def forecast_demand(
    history: Sequence[float], horizon: int, season_days: int = SEASON_DAYS
) -> DemandForecast:
    """Forecast ``horizon`` days of demand after ``history`` (one value per day, oldest first).

    Raises ``ValueError`` for a horizon below 1 or a negative demand in the history.
    Forecasts are never negative.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 day")
    series = np.asarray(history, dtype=float)
    if np.any(series < 0):
        raise ValueError("demand cannot be negative")
    n = len(series)
    if n == 0:
        return DemandForecast(method="none", values=[0.0] * horizon, sigma=0.0, history_days=0)
    if n < MIN_SMOOTHING_DAYS or float(np.ptp(series)) == 0.0:
        return _mean(series, horizon)
    # Imported here, not at module level: statsmodels takes seconds to import, and every
    # process that imports the reports (the API) would pay for it at start-up.
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing, SimpleExpSmoothing
    from threadpoolctl import threadpool_limits

    # The optimiser's "did not converge" on short or flat series still leaves usable
    # parameters; it must not fail a report (pytest turns warnings into errors).
    # One BLAS thread: on a few hundred numbers, more threads only contend (3-7x slower
    # on a busy two-core machine).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if n >= 2 * season_days:
            # With four seasons or more, the textbook heuristic start values are good and
            # save the optimiser most of its work; below that, estimate them too.
            init = "heuristic" if n >= 4 * season_days else "estimated"
            model = ExponentialSmoothing(
                series,
                trend="add",
                seasonal="add",
                seasonal_periods=season_days,
                initialization_method=init,
            ).fit(use_brute=False)
            method = "holt_winters"
        else:
            model = SimpleExpSmoothing(series, initialization_method="estimated").fit()
            method = "simple_exponential_smoothing"
    values = np.clip(np.asarray(model.forecast(horizon), dtype=float), 0.0, None)
    residuals = series - np.asarray(model.fittedvalues, dtype=float)
    if not np.all(np.isfinite(values)):
        return _mean(series, horizon)
    return DemandForecast(
        method=method,
        values=[float(v) for v in values],
        sigma=float(np.std(residuals)),
        history_days=n,
    )


def _mean(series: np.ndarray, horizon: int) -> DemandForecast:
    return DemandForecast(
        method="mean",
        values=[float(series.mean())] * horizon,
        sigma=float(series.std()),
        history_days=len(series),
    )


def reorder_point(
    daily_forecast: Sequence[float],
    lead_time_days: int,
    sigma_daily: float,
    service_level: float = 0.95,
    available: int = 0,
    review_days: int = 14,
) -> ReorderPoint:
    """Reorder point = demand over the lead time + safety stock; how much to order now.

    Safety stock is ``z * sigma_daily * sqrt(lead_time_days)`` with ``z`` the normal
    quantile of ``service_level`` (the chance of not running out during a lead time).
    Reorder when ``available`` is at or below the reorder point, up to the reorder
    point plus ``review_days`` of forecast demand. Days beyond the forecast repeat
    its last value. Raises ``ValueError`` for an empty forecast, a lead time below 1,
    a negative sigma or review period, or a service level outside [0.5, 1).
    """
    if not daily_forecast:
        raise ValueError("daily_forecast is empty")
    if lead_time_days < 1:
        raise ValueError("lead_time_days must be at least 1")
    if not 0.5 <= service_level < 1.0:
        raise ValueError("service_level must be in [0.5, 1)")
    if sigma_daily < 0 or review_days < 0:
        raise ValueError("sigma_daily and review_days cannot be negative")
    days = list(daily_forecast)
    needed = lead_time_days + review_days
    days += [days[-1]] * max(0, needed - len(days))
    lead_time_demand = float(sum(days[:lead_time_days]))
    safety = NormalDist().inv_cdf(service_level) * sigma_daily * math.sqrt(lead_time_days)
    point = math.ceil(lead_time_demand + safety - 1e-9)
    order_up_to = math.ceil(lead_time_demand + safety + sum(days[lead_time_days:needed]) - 1e-9)
    reorder_now = available <= point
    return ReorderPoint(
        lead_time_days=lead_time_days,
        service_level=service_level,
        lead_time_demand=round(lead_time_demand, 3),
        safety_stock=round(safety, 3),
        reorder_point=point,
        order_up_to=order_up_to,
        available=available,
        reorder_now=reorder_now,
        suggested_quantity=max(0, order_up_to - available) if reorder_now else 0,
    )
