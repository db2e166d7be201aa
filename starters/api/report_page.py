"""The HTML report page (``GET /reports``): the reports' numbers as charts and tables.

Built from the same store queries as the JSON reports, rendered by Jinja2 with
the charts inlined as SVG, so the page works with no network at all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from oms.models.reports import DateRange, ForecastReport
from oms.store import reports
from starters.api import charts

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
TOP_SKUS = 3
SHOWN_DAYS = 42  # of actuals before the forecast, so the chart stays readable
LOW_STOCK_BELOW = 5


def render_page(session: Session, span: DateRange, now: datetime) -> str:
    """The whole page for ``span`` as HTML."""
    facts = reports.order_facts(session, span)
    by_day = reports.orders_by_day(session, span)
    funnel = reports.funnel(facts)
    sku_rows = reports.skus(session, facts)
    selling = [row.sku for row in sku_rows if row.selling]
    # Only the charted SKUs need a backtest; the rest need a forecast for their stock cover.
    forecasts = {
        sku: reports.forecast(
            session, facts, span, sku, now=now, backtest_days=14 if rank < TOP_SKUS else 0
        )
        for rank, sku in enumerate(selling)
    }
    return _templates.get_template("reports.html.j2").render(
        span=span,
        now=now,
        totals=_totals(by_day),
        charts={
            "orders": _orders_chart(span, by_day),
            "lead": charts.lead_times(
                [r.stage for r in funnel if r.p50_hours is not None],
                [r.p50_hours or 0.0 for r in funnel if r.p50_hours is not None],
                [r.p90_hours or 0.0 for r in funnel if r.p90_hours is not None],
            ),
            "forecast": _forecast_chart(
                [forecasts[r.sku] for r in sku_rows[:TOP_SKUS] if r.selling]
            ),
            "cover": _cover_chart(forecasts),
        },
        funnel=funnel,
        top=[r for r in sku_rows if r.selling][:5],
        not_selling=[r for r in sku_rows if not r.selling],
        forecasts=sorted(forecasts.values(), key=lambda f: (f.stock_cover_days or 1e9, f.sku)),
        backorders=reports.backorders(session, now)[:20],
        low_stock=reports.low_stock(session, LOW_STOCK_BELOW),
        low_stock_below=LOW_STOCK_BELOW,
        returns=reports.returns(session, span, facts)[:10],
        cancellations=reports.cancellations(facts),
    )


def _totals(by_day: list[reports.OrdersRow]) -> dict[str, Any]:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for row in by_day:
        revenue[row.currency] += row.revenue
    orders = sum(r.orders for r in by_day)
    cancelled = sum(r.cancelled for r in by_day)
    return {
        "orders": orders,
        "cancelled": cancelled,
        "revenue": dict(sorted(revenue.items(), key=lambda kv: -kv[1])),
    }


def _orders_chart(span: DateRange, by_day: list[reports.OrdersRow]) -> str:
    counts: dict[date, int] = defaultdict(int)
    for row in by_day:
        counts[row.day] += row.orders
    if not counts:
        return charts.orders_per_day([], [])
    days = [span.start + timedelta(days=i) for i in range(span.days)]
    return charts.orders_per_day(days, [counts.get(d, 0) for d in days])


def _forecast_chart(forecasts: list[ForecastReport]) -> str:
    series = []
    for f in forecasts:
        rows = f.rows[-(SHOWN_DAYS + sum(1 for r in f.rows if r.forecast is not None)) :]
        # Actuals of whole days only: today's units so far (beside its forecast) would
        # look like a slump.
        actual = [r.actual if r.forecast is None else None for r in rows]
        # The forecast line starts at the last actual, so the two lines join up.
        last_actual = max((i for i, a in enumerate(actual) if a is not None), default=None)
        forecast = [r.forecast for r in rows]
        if last_actual is not None:
            forecast[last_actual] = actual[last_actual]
        series.append(
            (
                f.sku,
                [r.day for r in rows],
                actual,
                [r.backtest for r in rows],
                forecast,
            )
        )
    return charts.forecast_vs_actuals(series)


def _cover_chart(forecasts: dict[str, ForecastReport]) -> str:
    covered = sorted(
        (f for f in forecasts.values() if f.stock_cover_days is not None),
        key=lambda f: (f.stock_cover_days or 0.0, f.sku),
    )
    return charts.stock_cover(
        [f.sku for f in covered], [f.stock_cover_days or 0.0 for f in covered]
    )
