"""The report page's forecast chart: whole days' actuals, joined to the forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from oms.models.reports import ForecastReport, ForecastRow, ReorderPoint
from starters.api import charts, report_page

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def test_today_s_units_so_far_are_not_drawn_as_an_actual(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Any] = []

    def draw(series: list[Any]) -> str:
        drawn.extend(series)
        return "<svg/>"

    monkeypatch.setattr(charts, "forecast_vs_actuals", draw)
    reorder = ReorderPoint(
        lead_time_days=7,
        service_level=0.95,
        lead_time_demand=21.0,
        safety_stock=0.0,
        reorder_point=21,
        order_up_to=63,
        available=85,
        reorder_now=False,
        suggested_quantity=0,
    )
    report = ForecastReport(
        sku="TSHIRT-BLK-M",
        start=D1,
        end=D2,
        generated_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
        method="mean",
        sigma=0.0,
        reorder=reorder,
        # D2 is today: 1 unit so far, 3.0 forecast for the whole day.
        rows=[
            ForecastRow(day=D1, actual=3.0),
            ForecastRow(day=D2, actual=1.0, forecast=3.0),
            ForecastRow(day=D3, forecast=3.0),
        ],
    )
    report_page._forecast_chart([report])
    [(sku, days, actual, _backtest, forecast)] = drawn
    assert (sku, days) == ("TSHIRT-BLK-M", [D1, D2, D3])
    assert actual == [3.0, None, None]
    assert forecast == [3.0, 3.0, 3.0]  # joined at the last whole day's actual
