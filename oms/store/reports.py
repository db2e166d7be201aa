"""Reports from the read model: orders, funnel, backorders, SKUs, stock, returns, forecast.

Counts and sums that live in columns are grouped in SQL (SQLite and PostgreSQL).
What lives only in an order's stored view (its lines, its status history with
timestamps, its cancel reason) is read from the view JSON of the orders in the
range and aggregated here: the read model has no line or status-change table,
and the view's history is what the order workflow recorded at each stage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Date, and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from oms.domain.forecast import forecast_demand, reorder_point
from oms.models.reports import (
    BackorderReportRow,
    CancellationRow,
    DateRange,
    ForecastReport,
    ForecastRow,
    FunnelRow,
    LowStockRow,
    OrdersRow,
    ReturnsRow,
    SkuRow,
)
from oms.models.returns import VOID_RETURN_STATES
from oms.store.db import as_utc
from oms.store.tables import (
    BackorderRow,
    OrderRow,
    ProductRow,
    ReturnLineRow,
    ReturnRow,
    StockRow,
)

CANCELLED = "cancelled"
# Funnel stages and the order statuses that mean an order has reached at least that stage.
STAGES: list[tuple[str, frozenset[str]]] = [
    ("received", frozenset({"received"})),
    ("confirmed", frozenset({"confirmed"})),
    ("allocated", frozenset({"allocated", "backordered"})),
    ("shipped", frozenset({"partially_shipped", "shipped"})),
    ("delivered", frozenset({"delivered", "completed"})),
]
STAGE_ORDER = {status: rank for rank, (_, statuses) in enumerate(STAGES) for status in statuses} | {
    "picking": 2,
    "packed": 2,
}


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _in_range(column: Any, period: DateRange) -> ColumnElement[bool]:
    return and_(column >= _start(period.start), column < _start(period.end + timedelta(days=1)))


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, as SQL both databases understand."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column), type_=Date)
    return func.date(column, type_=Date)


def _when(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


@dataclass
class OrderFacts:
    """What the reports need of one order, read from its stored view."""

    order_id: str
    status: str
    placed_at: datetime
    lines: list[tuple[str, int]]
    # (warehouse, sku, units) of each shipment line.
    shipped_from: list[tuple[str, str, int]]
    reached: dict[str, datetime] = field(default_factory=dict)
    cancel_reason: str | None = None


def order_facts(session: Session, period: DateRange) -> list[OrderFacts]:
    """Every order placed in ``period``, with the first time it reached each funnel stage."""
    rows = session.execute(
        select(OrderRow.order_id, OrderRow.status, OrderRow.placed_at, OrderRow.view).where(
            _in_range(OrderRow.placed_at, period)
        )
    )
    facts = []
    for order_id, status, placed, view in rows:
        reached: dict[str, datetime] = {}
        for entry in view.get("history", []):
            rank = STAGE_ORDER.get(entry.get("status", ""))
            if rank is None:
                continue
            at = _when(entry["at"])
            # A later stage implies every earlier one (an order can skip "delivered").
            for stage, _ in STAGES[: rank + 1]:
                reached.setdefault(stage, at)
        reached.setdefault("received", placed)
        facts.append(
            OrderFacts(
                order_id=order_id,
                status=status,
                placed_at=placed,
                lines=[(ln["sku"], int(ln["quantity"])) for ln in view.get("lines", [])],
                shipped_from=[
                    (s["warehouse_id"], ln["sku"], int(ln["quantity"]))
                    for s in view.get("shipments", [])
                    if s.get("status") != CANCELLED
                    for ln in s.get("lines", [])
                ],
                reached=reached,
                cancel_reason=view.get("cancel_reason"),
            )
        )
    return facts


def _cents(amount: object) -> Decimal:
    return Decimal(str(amount or 0)).quantize(Decimal("0.01"))


def orders_by_day(session: Session, period: DateRange) -> list[OrdersRow]:
    """Orders, cancellations and revenue (net and VAT) per day, channel and currency (SQL)."""
    day = _day(session, OrderRow.placed_at).label("day")
    cancelled = OrderRow.status == CANCELLED
    query = (
        select(
            day,
            OrderRow.channel,
            OrderRow.currency,
            func.count(),
            func.sum(case((cancelled, 1), else_=0)),
            func.sum(case((cancelled, 0), else_=OrderRow.total)),
            func.sum(case((cancelled, 0), else_=OrderRow.tax)),
        )
        .where(_in_range(OrderRow.placed_at, period))
        .group_by(day, OrderRow.channel, OrderRow.currency)
        .order_by(day, OrderRow.channel, OrderRow.currency)
    )
    return [
        OrdersRow(
            day=d if isinstance(d, date) else date.fromisoformat(str(d)),
            channel=channel,
            currency=currency,
            orders=int(n),
            cancelled=int(c or 0),
            revenue=_cents(revenue),
            net=_cents(revenue) - _cents(tax),
            tax=_cents(tax),
        )
        for d, channel, currency, n, c, revenue, tax in session.execute(query)
    ]


def funnel(facts: list[OrderFacts]) -> list[FunnelRow]:
    """Orders reaching each stage, with p50/p90 hours from received to that stage."""
    total = len(facts)
    rows = []
    for stage, _ in STAGES:
        hours = [
            (f.reached[stage] - f.reached["received"]).total_seconds() / 3600
            for f in facts
            if stage in f.reached
        ]
        p50 = p90 = None
        if hours and stage != "received":
            # Five decimals (0.036 s): automatic stages can take well under a second.
            p50, p90 = (round(float(v), 5) for v in np.percentile(hours, [50, 90]))
        rows.append(
            FunnelRow(
                stage=stage,
                orders=len(hours),
                share=round(len(hours) / total, 4) if total else 0.0,
                p50_hours=p50,
                p90_hours=p90,
            )
        )
    return rows


def backorders(session: Session, now: datetime) -> list[BackorderReportRow]:
    """Units still owed to orders, oldest first, with their age in days."""
    query = (
        select(BackorderRow.order_id, BackorderRow.sku, BackorderRow.quantity_open)
        .add_columns(BackorderRow.placed_at)
        .where(BackorderRow.quantity_open > 0, BackorderRow.cancelled.is_(False))
        .order_by(BackorderRow.placed_at, BackorderRow.order_id, BackorderRow.sku)
    )
    rows = []
    for order_id, sku, open_units, placed in session.execute(query):
        rows.append(
            BackorderReportRow(
                order_id=order_id,
                sku=sku,
                quantity_open=open_units,
                placed_at=placed,
                age_days=round((now - placed).total_seconds() / 86400, 3),
            )
        )
    return rows


def units_sold(facts: list[OrderFacts]) -> tuple[dict[str, int], dict[str, int]]:
    """Units and orders per SKU over the orders that were not cancelled."""
    units: dict[str, int] = defaultdict(int)
    orders: dict[str, int] = defaultdict(int)
    for f in facts:
        if f.status == CANCELLED:
            continue
        for sku in {sku for sku, _ in f.lines}:
            orders[sku] += 1
        for sku, qty in f.lines:
            units[sku] += qty
    return units, orders


def skus(session: Session, facts: list[OrderFacts]) -> list[SkuRow]:
    """Every active product and anything sold, best sellers first; non-sellers last."""
    units, orders = units_sold(facts)
    names = dict(
        session.execute(select(ProductRow.sku, ProductRow.name).where(ProductRow.active))
        .tuples()
        .all()
    )
    every = sorted(set(names) | set(units), key=lambda s: (-units.get(s, 0), s))
    return [
        SkuRow(
            sku=sku,
            name=names.get(sku, ""),
            units=units.get(sku, 0),
            orders=orders.get(sku, 0),
            rank=rank,
            selling=units.get(sku, 0) > 0,
        )
        for rank, sku in enumerate(every, start=1)
    ]


def low_stock(session: Session, below: int) -> list[LowStockRow]:
    """Stock levels whose available units (on hand - reserved) are below ``below`` (SQL)."""
    available = (StockRow.on_hand - StockRow.reserved).label("available")
    query = (
        select(StockRow.warehouse_id, StockRow.sku, StockRow.on_hand, StockRow.reserved, available)
        .join(ProductRow, ProductRow.sku == StockRow.sku)
        .where(ProductRow.active, available < below)
        .order_by(available, StockRow.sku, StockRow.warehouse_id)
    )
    return [
        LowStockRow(
            warehouse_id=wh, sku=sku, on_hand=on_hand, reserved=reserved, available=av, below=below
        )
        for wh, sku, on_hand, reserved, av in session.execute(query)
    ]


def available_by_sku(session: Session, warehouse_id: str | None = None) -> dict[str, int]:
    query = select(StockRow.sku, func.sum(StockRow.on_hand - StockRow.reserved)).group_by(
        StockRow.sku
    )
    if warehouse_id is not None:
        query = query.where(StockRow.warehouse_id == warehouse_id)
    return {sku: int(units or 0) for sku, units in session.execute(query)}


def returns(session: Session, period: DateRange, facts: list[OrderFacts]) -> list[ReturnsRow]:
    """Returns of orders placed in ``period`` by reason and SKU, with the SKU's return rate.

    The rate divides units returned by units sold in the same orders (a cohort), so
    it is not skewed by returns of orders placed before the range. Rejected and
    expired returns are not counted.
    """
    query = (
        select(
            ReturnLineRow.reason,
            ReturnLineRow.sku,
            func.count(func.distinct(ReturnLineRow.rma_id)),
            func.sum(ReturnLineRow.quantity),
        )
        .join(ReturnRow, ReturnRow.rma_id == ReturnLineRow.rma_id)
        .join(OrderRow, OrderRow.order_id == ReturnLineRow.order_id)
        .where(
            _in_range(OrderRow.placed_at, period),
            ReturnRow.status.not_in([s.value for s in VOID_RETURN_STATES]),
        )
        .group_by(ReturnLineRow.reason, ReturnLineRow.sku)
    )
    units, _ = units_sold(facts)
    rows = []
    for reason, sku, n, returned in session.execute(query):
        sold = units.get(sku, 0)
        rows.append(
            ReturnsRow(
                reason=reason,
                sku=sku,
                returns=int(n),
                units_returned=int(returned or 0),
                units_sold=sold,
                return_rate=round(int(returned or 0) / sold, 4) if sold else None,
            )
        )
    rows.sort(key=lambda r: (-r.units_returned, r.reason, r.sku))
    return rows


def cancellations(facts: list[OrderFacts]) -> list[CancellationRow]:
    """Cancelled orders by the reason given, commonest first."""
    reasons: dict[str, int] = defaultdict(int)
    for f in facts:
        if f.status == CANCELLED:
            reasons[f.cancel_reason or "unknown"] += 1
    total = sum(reasons.values())
    return [
        CancellationRow(reason=reason, orders=n, share=round(n / total, 4))
        for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def daily_demand(
    facts: list[OrderFacts], period: DateRange, sku: str, warehouse_id: str | None = None
) -> list[float]:
    """Units of ``sku`` ordered each day of ``period`` (shipped from ``warehouse_id`` if given)."""
    series = [0.0] * period.days
    for f in facts:
        if f.status == CANCELLED:
            continue
        index = (f.placed_at.astimezone(UTC).date() - period.start).days
        if not 0 <= index < period.days:
            continue
        if warehouse_id is None:
            series[index] += sum(q for s, q in f.lines if s == sku)
        else:
            series[index] += sum(
                q for wh, s, q in f.shipped_from if s == sku and wh == warehouse_id
            )
    return series


def forecast(
    session: Session,
    facts: list[OrderFacts],
    period: DateRange,
    sku: str,
    *,
    warehouse_id: str | None = None,
    horizon: int = 14,
    backtest_days: int = 14,
    lead_time_days: int = 7,
    service_level: float = 0.95,
    now: datetime,
) -> ForecastReport:
    """History of ``sku`` over ``period``, its forecast, a backtest and the reorder point.

    The backtest fits on the history minus its last ``backtest_days`` and forecasts
    those days, so the report shows how the method did against what happened.
    A period reaching past today ends today (``now``'s UTC day), both included. Only whole
    days are history the method learns from: today's row shows the units ordered so far
    as its ``actual`` beside the forecast for the whole day, which starts the forecast, so
    a half-sold day does not look like a slump.
    """
    today = now.astimezone(UTC).date()
    if period.end > today:
        period = DateRange(start=min(period.start, today), end=today)
    demand = daily_demand(facts, period, sku, warehouse_id)
    history = demand[:-1] if period.end == today else demand
    ahead = forecast_demand(history, max(horizon, lead_time_days))
    backtest: list[float] = []
    mae = None
    if backtest_days and len(history) > backtest_days * 2:
        past = forecast_demand(history[:-backtest_days], backtest_days)
        backtest = past.values
        mae = round(float(np.mean(np.abs(np.array(backtest) - history[-backtest_days:]))), 3)
    available = available_by_sku(session, warehouse_id).get(sku, 0)
    reorder = reorder_point(
        ahead.values, lead_time_days, ahead.sigma, service_level, available=available
    )
    per_day = float(np.mean(ahead.values[:horizon]))
    offset = len(history) - len(backtest)
    rows = [
        ForecastRow(
            day=period.start + timedelta(days=i),
            actual=value,
            backtest=round(backtest[i - offset], 3) if backtest and i >= offset else None,
        )
        for i, value in enumerate(history)
    ]
    so_far = demand[len(history) :]  # today's units, when the period reaches today
    first = period.start + timedelta(days=len(history))
    rows += [
        ForecastRow(
            day=first + timedelta(days=i),
            actual=so_far[i] if i < len(so_far) else None,
            forecast=round(value, 3),
        )
        for i, value in enumerate(ahead.values[:horizon])
    ]
    return ForecastReport(
        sku=sku,
        warehouse_id=warehouse_id,
        start=period.start,
        end=period.end,
        generated_at=now,
        method=ahead.method,
        sigma=round(ahead.sigma, 3),
        backtest_mae=mae,
        reorder=reorder,
        stock_cover_days=round(available / per_day, 1) if per_day > 0 else None,
        rows=rows,
    )
