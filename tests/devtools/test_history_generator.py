"""The demo's generated order history: deterministic, believable, written once."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from devtools.demo.catalogue import seed_demo
from devtools.demo.history import seed_history
from devtools.demo.history_generator import generate_history
from oms.models.orders import OrderSearch, OrderStatus
from oms.models.reports import DateRange
from oms.store import orders, reports
from oms.store.db import Database
from oms.store.tables import OrderRow, ReturnRow, ShipmentRow

END = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def test_the_same_day_generates_the_same_history() -> None:
    first = generate_history(END, NOW, days=30)
    second = generate_history(END, NOW, days=30)
    assert first.orders == second.orders
    assert first.shipments == second.shipments
    assert first.returns == second.returns


def test_history_has_a_trend_a_weekly_season_and_nothing_after_now() -> None:
    history = generate_history(END, NOW, days=91)
    per_day: dict[date, int] = defaultdict(int)
    for view in history.orders:
        per_day[view.placed_at.date()] += 1
    days = sorted(per_day)
    first_month = sum(per_day[d] for d in days[:28]) / 28
    last_month = sum(per_day[d] for d in days[-29:-1]) / 28
    assert last_month > first_month * 1.3
    saturdays = [per_day[d] for d in days if d.weekday() == 5]
    sundays = [per_day[d] for d in days if d.weekday() == 6]
    assert sum(saturdays) / len(saturdays) > 1.3 * sum(sundays) / len(sundays)
    assert {v.channel for v in history.orders} == {"web", "marketplace", "api", "sales_rep"}
    assert {v.currency for v in history.orders} == {"SEK", "EUR", "NOK"}
    assert all(v.order_id.startswith("H-") for v in history.orders)
    # Only states no person or simulator would act on.
    assert {v.status for v in history.orders} == {
        OrderStatus.COMPLETED,
        OrderStatus.SHIPPED,
        OrderStatus.CANCELLED,
    }
    assert {s.status for s in history.shipments} <= {"delivered", "in_transit", "cancelled"}
    moments = [e.at for v in history.orders for e in v.history]
    moments += [e.at for r in history.returns for e in r.history]
    assert max(moments) < NOW
    assert len(history.returns) > 20


def test_seeded_history_is_written_once_and_reports_see_it(db: Database) -> None:
    with db.session() as session:
        seed_demo(session)
        seeded = seed_history(session, END, NOW, days=35)
    assert not seeded.skipped and seeded.orders > 500
    with db.session() as session:
        again = seed_history(session, END, NOW, days=35)
    assert again.skipped and again.orders == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderRow)) == seeded.orders
        assert session.scalar(select(func.count()).select_from(ShipmentRow)) == seeded.shipments
        assert session.scalar(select(func.count()).select_from(ReturnRow)) == seeded.returns
        span = DateRange(start=END - timedelta(days=34), end=END)
        facts = reports.order_facts(session, span)
        assert len(facts) == seeded.orders
        funnel = {r.stage: r for r in reports.funnel(facts)}
        assert funnel["delivered"].orders > 0.7 * seeded.orders
        assert 1 < (funnel["shipped"].p50_hours or 0) < 24
        top = reports.skus(session, facts)[0]
        forecast = reports.forecast(session, facts, span, top.sku, now=NOW)
    assert top.sku == "TSHIRT-BLK-M"
    assert forecast.method == "holt_winters"
    assert forecast.backtest_mae is not None


def test_seeded_orders_are_found_by_every_search_filter(db: Database) -> None:
    """Generated history gets the search rows a placed order gets (SKU, tracking number)."""
    with db.session() as session:
        seed_demo(session)
        seed_history(session, END, NOW, days=10)
    with db.session() as session:
        rows = session.scalars(select(OrderRow).order_by(OrderRow.order_id)).all()
        shipment = session.scalars(
            select(ShipmentRow).where(ShipmentRow.tracking_number.is_not(None)).limit(1)
        ).one()
        with_socks = {
            row.order_id
            for row in rows
            if any(line["sku"] == "SOCKS-3PK" for line in row.view["lines"])
        }
        by_sku = orders.list_orders(session, search=OrderSearch(sku="SOCKS-3PK"), limit=500)
        by_tracking = orders.list_orders(
            session, search=OrderSearch(tracking_number=shipment.tracking_number)
        )
    assert with_socks and {o.order_id for o in by_sku.items} == with_socks
    assert [o.order_id for o in by_tracking.items] == [shipment.order_id]
