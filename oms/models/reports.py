"""Models of the reports: one row model per report, a common envelope, the demand forecast.

Every report is a list of flat rows (so it can be written as CSV as well as JSON)
inside an envelope that says which dates it covers and when it was made.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from oms.models.common import Model

RowT = TypeVar("RowT", bound=BaseModel)

ForecastMethod = Literal["holt_winters", "simple_exponential_smoothing", "mean", "none"]


class DateRange(Model):
    """Days from ``start`` to ``end``, both included (UTC)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class Report(BaseModel, Generic[RowT]):
    """What every ``GET /reports/<name>`` returns."""

    report: str
    start: date | None = None
    end: date | None = None
    generated_at: datetime
    rows: list[RowT]


class OrdersRow(Model):
    """Orders placed on one day through one channel in one currency."""

    day: date
    channel: str
    currency: str
    orders: int
    cancelled: int
    # Total of the orders that were not cancelled, and the VAT in it (revenue = net + tax).
    revenue: Decimal
    net: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    # The revenue in the merchant's base currency, at the day's exchange rate.
    base_currency: str | None = None
    revenue_base: Decimal | None = None


class FunnelRow(Model):
    """How many orders reached a stage, and how long after being received (hours)."""

    stage: str
    orders: int
    share: float
    p50_hours: float | None = None
    p90_hours: float | None = None


class BackorderReportRow(Model):
    order_id: str
    sku: str
    quantity_open: int
    placed_at: datetime
    age_days: float


class SkuRow(Model):
    """Units of a SKU sold (orders not cancelled); ``rank`` 1 is the best seller."""

    sku: str
    name: str
    units: int
    orders: int
    rank: int
    selling: bool


class LowStockRow(Model):
    warehouse_id: str
    sku: str
    on_hand: int
    reserved: int
    available: int
    below: int


class ReturnsRow(Model):
    """Returned units of a SKU for one reason; rate = returned / sold of that SKU."""

    reason: str
    sku: str
    returns: int
    units_returned: int
    units_sold: int
    return_rate: float | None = None


class CancellationRow(Model):
    reason: str
    orders: int
    share: float


class DemandForecast(Model):
    """Forecast daily demand: ``values[0]`` is the day after the history ends.

    ``sigma`` is the standard deviation of the one-step errors over the history,
    which sizes the safety stock.
    """

    method: ForecastMethod
    values: list[float]
    sigma: float = 0.0
    history_days: int = 0


class ReorderPoint(Model):
    """When to reorder and how much, from lead-time demand plus safety stock."""

    lead_time_days: int
    service_level: float
    lead_time_demand: float
    safety_stock: float
    reorder_point: int
    # Up to the reorder point plus ``review_days`` of forecast demand.
    order_up_to: int
    available: int
    reorder_now: bool
    suggested_quantity: int


class ForecastRow(Model):
    """One day of a SKU's demand: what was sold, and what the forecast said or says.
    Today has both: the units ordered so far, and the forecast for the whole day."""

    day: date
    actual: float | None = None
    forecast: float | None = None
    # The forecast made as if the last ``backtest_days`` had not happened yet.
    backtest: float | None = None


class ForecastReport(BaseModel):
    """``GET /reports/forecast``: history, forecast, backtest and the reorder point."""

    report: Literal["forecast"] = "forecast"
    sku: str
    warehouse_id: str | None = None
    start: date
    end: date
    generated_at: datetime
    method: ForecastMethod
    sigma: float
    # Mean absolute error of the backtest over its days (None when too short to backtest).
    backtest_mae: float | None = None
    reorder: ReorderPoint
    stock_cover_days: float | None = Field(default=None)
    rows: list[ForecastRow]


class SubscriptionReportRow(Model):
    """One day of subscriptions: active at the day's end, started and cancelled that day,
    renewal orders placed, and churn (cancelled / (active at the day's start + started that
    day), in percent)."""

    day: date
    active: int
    started: int
    cancelled: int
    renewals: int
    churn_pct: float
