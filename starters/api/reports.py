"""``/reports``: reports from the read model as JSON or CSV, and the HTML report page.

Each ``GET /reports/<name>`` answers JSON by default and CSV with ``?format=csv``
or ``Accept: text/csv``. ``from`` and ``to`` (``YYYY-MM-DD``, UTC, both included)
choose the orders by the day they were placed; by default the last 90 days.
Backorders and low stock are the state now and take no dates.

The reports stand on the ``reports`` extra (numpy, statsmodels, matplotlib), imported on
the first report asked for, so the API starts without it; without the extra every route
here answers 503 naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from oms import extras
from oms.domain import fx, subscription_report
from oms.domain.auth import ROLES, Principal
from oms.domain.spreadsheet import write_csv
from oms.models.reports import (
    BackorderReportRow,
    CancellationRow,
    DateRange,
    ForecastReport,
    ForecastRow,
    FunnelRow,
    LowStockRow,
    OrdersRow,
    Report,
    ReturnsRow,
    SkuRow,
    SubscriptionReportRow,
)
from oms.settings import Settings
from oms.store import subscriptions
from oms.store.tables import ProductRow, WarehouseRow
from starters.api.auth import require, require_in_browser
from starters.api.deps import State, api_error, invalid, json_answer
from starters.api.pricing import exchange_table

router = APIRouter(prefix="/reports", tags=["reports"])
# Staff read the reports (revenue included); buyers do not.
STAFF = tuple(r for r in ROLES if r != "buyer")
Reader = Annotated[Principal, Depends(require(*STAFF))]
BrowserReader = Annotated[Principal, Depends(require_in_browser(*STAFF))]

DEFAULT_DAYS = 90
MAX_DAYS = 731
Format = Literal["json", "csv"]


def reports_stack() -> ModuleType:
    """``oms.store.reports``, imported on first use (it loads numpy; charts load matplotlib).

    Raises HTTPException 503 naming the ``reports`` extra when it is not installed.
    """
    try:
        extras.require(extras.REPORTS)
    except extras.MissingExtra as exc:
        raise api_error(503, "MissingExtra", f"reports are off: {exc}") from exc
    return importlib.import_module("oms.store.reports")


Stack = Annotated[ModuleType, Depends(reports_stack)]


def query_error(field: str, msg: str, value: Any = None) -> HTTPException:
    """A 422 in FastAPI's own shape, naming the query parameter."""
    return invalid(["query", field], msg, value)


def period(
    start: Annotated[
        date | None, Query(alias="from", description="first day, YYYY-MM-DD (default: 90 days)")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="last day, included (default: today, UTC)")
    ] = None,
) -> DateRange:
    """The days a report covers; raises a 422 naming ``from`` or ``to`` when they make no sense."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise query_error("from", "from must not be after to", str(start))
    if (end - start).days + 1 > MAX_DAYS:
        raise query_error("from", f"at most {MAX_DAYS} days per report", str(start))
    return DateRange(start=start, end=end)


Span = Annotated[DateRange, Depends(period)]
FormatParam = Annotated[Format | None, Query(alias="format")]


def respond(
    request: Request, body: Any, row_type: type[BaseModel], fmt: Format | None, name: str
) -> Response:
    """JSON, or CSV of the report's rows when asked for by ``format`` or the Accept header."""
    wants_csv = fmt == "csv" or (
        fmt is None and "text/csv" in request.headers.get("accept", "").lower()
    )
    if not wants_csv:
        return json_answer(body)
    # Cells carry buyer text (names, reasons): what a spreadsheet would run is escaped.
    text = write_csv(
        list(row_type.model_fields), (row.model_dump(mode="json") for row in body.rows)
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("", response_class=HTMLResponse)
def report_page(
    state: State,
    span: Span,
    caller: BrowserReader,
    _reports: Stack,
) -> HTMLResponse:
    """The report page: charts (server-side SVG, no scripts) and the main tables."""
    # matplotlib is imported on first use, not when the API starts.
    from starters.api.report_page import render_page

    with state.db.read() as session:
        return HTMLResponse(render_page(session, span, _now()))


@router.get("/backorders", response_model=Report[BackorderReportRow])
def backorders_report(
    request: Request, state: State, caller: Reader, reports: Stack, fmt: FormatParam = None
) -> Response:
    """Units still owed to orders, oldest first, with their age in days."""
    now = _now()
    with state.db.read() as session:
        rows = reports.backorders(session, now)
    return respond(
        request, _report("backorders", None, rows), BackorderReportRow, fmt, "backorders"
    )


@router.get("/subscriptions", response_model=Report[SubscriptionReportRow])
def subscriptions_report(
    request: Request, state: State, caller: Reader, span: Span, fmt: FormatParam = None
) -> Response:
    """Per day: subscriptions active at the day's end, started, cancelled (and churn: the
    cancelled share of those active at the day's start or started that day) and renewal
    orders placed."""
    until = datetime.combine(span.end + timedelta(days=1), time(), tzinfo=UTC)
    with state.db.read() as session:
        facts = subscriptions.report_facts(session, until)
    rows = subscription_report.daily(facts, span.start, span.end)
    return respond(
        request,
        _report("subscriptions", span, rows),
        SubscriptionReportRow,
        fmt,
        "subscriptions",
    )


@router.get("/low-stock", response_model=Report[LowStockRow])
def low_stock_report(
    request: Request,
    state: State,
    caller: Reader,
    reports: Stack,
    below: Annotated[int, Query(ge=1, le=1_000_000)] = 5,
    fmt: FormatParam = None,
) -> Response:
    """Stock levels with fewer than ``below`` units available (on hand minus reserved)."""
    with state.db.read() as session:
        rows = reports.low_stock(session, below)
    return respond(request, _report("low-stock", None, rows), LowStockRow, fmt, "low-stock")


@router.get("/forecast", response_model=ForecastReport)
def forecast_report(
    request: Request,
    state: State,
    caller: Reader,
    reports: Stack,
    span: Span,
    sku: Annotated[str, Query(min_length=1, max_length=64)],
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
    horizon: Annotated[int, Query(ge=1, le=90)] = 14,
    lead_time_days: Annotated[int, Query(ge=1, le=180)] = 7,
    service_level: Annotated[float, Query(ge=0.5, lt=1.0)] = 0.95,
    fmt: FormatParam = None,
) -> Response:
    """Daily demand of a SKU (optionally from one warehouse), its forecast and reorder point.
    The days run to ``to`` (today by default), both included; today's row has the units so
    far beside its forecast, and the method learns from whole days only."""
    with state.db.read() as session:
        if session.get(ProductRow, sku) is None:
            raise query_error("sku", "unknown SKU", sku)
        if warehouse is not None and session.get(WarehouseRow, warehouse) is None:
            raise query_error("warehouse", "unknown warehouse", warehouse)
        body = reports.forecast(
            session,
            reports.order_facts(session, span),
            span,
            sku,
            warehouse_id=warehouse,
            horizon=horizon,
            lead_time_days=lead_time_days,
            service_level=service_level,
            now=_now(),
        )
    return respond(request, body, ForecastRow, fmt, f"forecast-{sku}")


def _dated_report(
    name: str,
    row_type: type[BaseModel],
    rows_for: Callable[[ModuleType, Session, DateRange], list[Any]],
    doc: str,
    finish: Callable[[Settings, list[Any]], list[Any]] | None = None,
) -> None:
    """Register ``GET /reports/<name>``: the rows ``rows_for`` computes (with
    ``oms.store.reports``) for the days asked, then ``finish`` with the settings."""

    def handler(
        request: Request,
        state: State,
        caller: Reader,
        reports: Stack,
        span: Span,
        fmt: FormatParam = None,
    ) -> Response:
        with state.db.read() as session:
            rows = rows_for(reports, session, span)
        if finish is not None:
            rows = finish(state.settings, rows)
        return respond(request, _report(name, span, rows), row_type, fmt, name)

    handler.__doc__ = doc
    router.add_api_route(
        f"/{name}",
        handler,
        methods=["GET"],
        response_model=Report[row_type],  # type: ignore[valid-type]
        name=f"{name.replace('-', '_')}_report",
    )


def _in_base(settings: Settings, rows: list[OrdersRow]) -> list[OrdersRow]:
    """Each row's revenue in the base currency too, at its day's rate (none without one)."""
    table, base = exchange_table(settings.exchange_rates_path), settings.base_currency
    for row in rows:
        row.base_currency = base
        with suppress(fx.NoExchangeRate):
            row.revenue_base = fx.convert(row.revenue, row.currency, base, row.day, table)
    return rows


_dated_report(
    "orders",
    OrdersRow,
    lambda reports, session, span: reports.orders_by_day(session, span),
    "Orders, cancellations and revenue (net and VAT, and in the base currency) per day,"
    " channel and currency.",
    finish=_in_base,
)
_dated_report(
    "funnel",
    FunnelRow,
    lambda reports, session, span: reports.funnel(reports.order_facts(session, span)),
    "Orders reaching each stage, with p50/p90 hours from received to that stage.",
)
_dated_report(
    "skus",
    SkuRow,
    lambda reports, session, span: reports.skus(session, reports.order_facts(session, span)),
    "Every active SKU by units sold, best first; the non-selling ones last (``selling``).",
)
_dated_report(
    "returns",
    ReturnsRow,
    lambda reports, session, span: reports.returns(
        session, span, reports.order_facts(session, span)
    ),
    "Returns of the orders placed in the range, by reason and SKU, with return rates.",
)
_dated_report(
    "cancellations",
    CancellationRow,
    lambda reports, session, span: reports.cancellations(reports.order_facts(session, span)),
    "Cancelled orders placed in the range, by reason.",
)


def _report(name: str, span: DateRange | None, rows: list[Any]) -> Report[Any]:
    return Report[Any](
        report=name,
        start=span.start if span else None,
        end=span.end if span else None,
        generated_at=_now(),
        rows=rows,
    )
