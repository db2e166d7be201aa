"""Reports from the read model, on SQLite and PostgreSQL, checked against orders written here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from devtools.demo.catalogue import seed_demo
from oms.models.common import Address, Customer, SkuQuantity
from oms.models.orders import HistoryEntry, OrderLine, OrderStatus, OrderView, ShipmentSummary
from oms.models.reports import DateRange
from oms.models.returns import ReturnLine, ReturnStatus, ReturnView
from oms.store import reports
from oms.store.db import Database
from oms.store.orders import record_order
from oms.store.returns import record_return
from oms.store.tables import BackorderRow, StockRow

D0, D1, D2 = date(2026, 2, 20), date(2026, 3, 2), date(2026, 3, 3)
SPAN = DateRange(start=D1, end=D2)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ADDRESS = Address(
    name="Astrid", line1="Gatan 1", postal_code="111 21", city="Stockholm", country="SE"
)
CUSTOMER = Customer(id="C-1", name="Astrid", email="astrid@example.com")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def order(
    order_id: str,
    placed: datetime,
    lines: list[tuple[str, int, str]],
    stages: list[tuple[OrderStatus, timedelta]],
    *,
    channel: str = "web",
    currency: str = "SEK",
    cancel_reason: str | None = None,
    warehouse: str = "WH-STO",
) -> OrderView:
    """An order whose history reached each status in ``stages`` that long after ``placed``."""
    order_lines = [OrderLine(sku=s, quantity=q, unit_price=Decimal(p)) for s, q, p in lines]
    history = [HistoryEntry(at=placed + after, status=status) for status, after in stages]
    return OrderView(
        order_id=order_id,
        status=history[-1].status,
        channel=channel,
        customer=CUSTOMER,
        currency=currency,
        total=sum((ln.unit_price * ln.quantity for ln in order_lines), Decimal("0.00")),
        lines=order_lines,
        ship_to=ADDRESS,
        shipments=[
            ShipmentSummary(
                shipment_id=f"{order_id}-S1",
                warehouse_id=warehouse,
                lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in order_lines],
                status="cancelled" if cancel_reason else "shipped",
            )
        ],
        history=history,
        cancel_reason=cancel_reason,
        placed_at=placed,
        updated_at=history[-1].at,
        version=len(history),
    )


R = OrderStatus.RECEIVED
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
ORDERS = [
    order(
        "A1",
        at(D1, 10),
        [("TSHIRT-BLK-M", 2, "249.00"), ("SOCKS-3PK", 1, "149.00")],
        [
            (R, 0 * MIN),
            (OrderStatus.CONFIRMED, 1 * MIN),
            (OrderStatus.ALLOCATED, 2 * MIN),
            (OrderStatus.PICKING, 2 * MIN),
            (OrderStatus.SHIPPED, 4 * HOUR),
            (OrderStatus.DELIVERED, 48 * HOUR),
            (OrderStatus.COMPLETED, 48 * HOUR),
        ],
    ),
    # Late in the UTC day: it must count on D1 on both databases.
    order(
        "A2",
        at(D1, 23, 30),
        [("TSHIRT-BLK-M", 1, "249.00")],
        [
            (R, 0 * MIN),
            (OrderStatus.CONFIRMED, 3 * MIN),
            (OrderStatus.ALLOCATED, 5 * MIN),
            (OrderStatus.SHIPPED, 10 * HOUR),
        ],
    ),
    order(
        "A3",
        at(D1, 13),
        [("CAP-NVY", 1, "17.32")],
        [
            (R, 0 * MIN),
            (OrderStatus.CONFIRMED, 1 * MIN),
            (OrderStatus.ALLOCATED, 2 * MIN),
            (OrderStatus.CANCELLED, 30 * MIN),
        ],
        channel="marketplace",
        currency="EUR",
        cancel_reason="changed my mind",
    ),
    order(
        "A4",
        at(D2, 9),
        [("HOODIE-GRY-L", 1, "699.00")],
        [(R, 0 * MIN), (OrderStatus.CONFIRMED, 1 * MIN), (OrderStatus.BACKORDERED, 2 * MIN)],
    ),
    order(
        "A5",
        at(D2, 11),
        [("CAP-NVY", 3, "199.00")],
        [(R, 0 * MIN), (OrderStatus.ON_HOLD, 1 * MIN), (OrderStatus.CANCELLED, 72 * HOUR)],
        channel="api",
        cancel_reason="changed my mind",
    ),
    # Before the range: in no report of SPAN.
    order(
        "A0",
        at(D0, 10),
        [("SOCKS-3PK", 5, "149.00")],
        [(R, 0 * MIN), (OrderStatus.CONFIRMED, 1 * MIN), (OrderStatus.COMPLETED, 50 * HOUR)],
    ),
]


def a_return(rma_id: str, sku: str, quantity: int, reason: str, status: ReturnStatus) -> ReturnView:
    when = at(D1, 10) + 72 * HOUR
    return ReturnView(
        rma_id=rma_id,
        order_id="A1",
        status=status,
        resolution="refund",
        customer=CUSTOMER,
        currency="SEK",
        lines=[ReturnLine(sku=sku, quantity=quantity, reason=reason)],  # type: ignore[arg-type]
        requested_at=when,
        updated_at=when,
        version=1,
    )


@pytest.fixture
def store(db: Database) -> Database:
    with db.session() as session:
        seed_demo(session)
        for view in ORDERS:
            record_order(session, view)
        record_return(
            session, a_return("RMA-A1-1", "TSHIRT-BLK-M", 1, "wrong_size", ReturnStatus.REFUNDED)
        )
        record_return(
            session, a_return("RMA-A1-2", "SOCKS-3PK", 1, "damaged", ReturnStatus.REJECTED)
        )
        session.add(
            BackorderRow(
                order_id="A4",
                allocation_key="A4:allocate",
                sku="HOODIE-GRY-L",
                quantity=1,
                quantity_open=1,
                placed_at=at(D2, 9),
            )
        )
        session.execute(
            update(StockRow)
            .where(StockRow.warehouse_id == "WH-STO", StockRow.sku == "SNEAKER-WHT-42")
            .values(on_hand=3, reserved=2)
        )
    return db


def test_orders_and_revenue_by_day_channel_and_currency(store: Database) -> None:
    with store.session() as session:
        rows = reports.orders_by_day(session, SPAN)
    got = [(r.day, r.channel, r.currency, r.orders, r.cancelled, r.revenue) for r in rows]
    assert got == [
        (D1, "marketplace", "EUR", 1, 1, Decimal("0.00")),
        (D1, "web", "SEK", 2, 0, Decimal("896.00")),
        (D2, "api", "SEK", 1, 1, Decimal("0.00")),
        (D2, "web", "SEK", 1, 0, Decimal("699.00")),
    ]


def test_revenue_splits_into_net_and_the_vat_the_orders_carry(store: Database) -> None:
    taxed = ORDERS[0].model_copy(
        update={"order_id": "T1", "tax_total": Decimal("129.40"), "version": 1}
    )
    with store.session() as session:
        record_order(session, taxed)
        rows = reports.orders_by_day(session, SPAN)
    web = next(r for r in rows if (r.day, r.channel) == (D1, "web"))
    assert (web.revenue, web.net, web.tax) == (
        Decimal("1543.00"),
        Decimal("1413.60"),
        Decimal("129.40"),
    )


def test_a_range_of_one_day_has_only_that_day(store: Database) -> None:
    with store.session() as session:
        rows = reports.orders_by_day(session, DateRange(start=D0, end=D0))
        facts = reports.order_facts(session, DateRange(start=D2, end=D2))
    assert [(r.day, r.orders) for r in rows] == [(D0, 1)]
    assert sorted(f.order_id for f in facts) == ["A4", "A5"]


def test_funnel_counts_stages_reached_and_their_lead_time_percentiles(store: Database) -> None:
    with store.session() as session:
        rows = {r.stage: r for r in reports.funnel(reports.order_facts(session, SPAN))}
    assert [(s, rows[s].orders) for s in rows] == [
        ("received", 5),
        ("confirmed", 4),
        ("allocated", 4),
        ("shipped", 2),
        ("delivered", 1),
    ]
    assert rows["received"].p50_hours is None
    assert rows["confirmed"].p50_hours == pytest.approx(1 / 60, abs=1e-3)
    # Allocated after 2, 5, 2 and 2 (backordered) minutes.
    assert rows["allocated"].p50_hours == pytest.approx(2 / 60, abs=1e-3)
    assert rows["allocated"].p90_hours == pytest.approx((2 + 0.7 * 3) / 60, abs=1e-3)
    assert rows["shipped"].p50_hours == pytest.approx(7.0)
    assert rows["shipped"].p90_hours == pytest.approx(9.4)
    assert rows["delivered"].p50_hours == pytest.approx(48.0)
    assert rows["shipped"].share == 0.4


def test_skus_best_sellers_first_and_the_ones_not_selling(store: Database) -> None:
    with store.session() as session:
        rows = reports.skus(session, reports.order_facts(session, SPAN))
    assert [(r.sku, r.units, r.orders, r.rank) for r in rows[:3]] == [
        ("TSHIRT-BLK-M", 3, 2, 1),
        ("HOODIE-GRY-L", 1, 1, 2),
        ("SOCKS-3PK", 1, 1, 3),
    ]
    # Caps were only in cancelled orders; socks sold before the range do not count.
    not_selling = {r.sku for r in rows if not r.selling}
    assert not_selling == {
        "CAP-NVY",
        "TSHIRT-BLK-L",
        "TSHIRT-WHT-M",
        "JEANS-IND-32",
        "SNEAKER-WHT-42",
        "JACKET-WOOL-M",
    }
    assert all(r.units == 0 for r in rows if not r.selling)


def test_returns_by_reason_and_sku_with_return_rate(store: Database) -> None:
    with store.session() as session:
        rows = reports.returns(session, SPAN, reports.order_facts(session, SPAN))
        before = reports.returns(session, DateRange(start=D0, end=D0), [])
    # The rejected return of socks does not count.
    assert [(r.reason, r.sku, r.returns, r.units_returned, r.units_sold) for r in rows] == [
        ("wrong_size", "TSHIRT-BLK-M", 1, 1, 3)
    ]
    assert rows[0].return_rate == pytest.approx(0.3333)
    assert before == []


def test_cancellations_by_reason(store: Database) -> None:
    with store.session() as session:
        rows = reports.cancellations(reports.order_facts(session, SPAN))
    assert [(r.reason, r.orders, r.share) for r in rows] == [("changed my mind", 2, 1.0)]


def test_open_backorders_with_their_age(store: Database) -> None:
    with store.session() as session:
        rows = reports.backorders(session, NOW)
    assert [(r.order_id, r.sku, r.quantity_open) for r in rows] == [("A4", "HOODIE-GRY-L", 1)]
    assert rows[0].age_days == pytest.approx((NOW - at(D2, 9)).total_seconds() / 86400, abs=1e-3)


def test_low_stock_is_available_below_the_threshold(store: Database) -> None:
    with store.session() as session:
        rows = reports.low_stock(session, below=2)
    assert [(r.sku, r.warehouse_id, r.on_hand, r.reserved, r.available) for r in rows] == [
        ("JACKET-WOOL-M", "WH-MMO", 1, 0, 1),
        ("JACKET-WOOL-M", "WH-STO", 1, 0, 1),
        ("SNEAKER-WHT-42", "WH-STO", 3, 2, 1),
    ]


def test_daily_demand_and_forecast_of_a_sku(store: Database) -> None:
    with store.session() as session:
        facts = reports.order_facts(session, SPAN)
        assert reports.daily_demand(facts, SPAN, "TSHIRT-BLK-M") == [3.0, 0.0]
        assert reports.daily_demand(facts, SPAN, "TSHIRT-BLK-M", "WH-STO") == [3.0, 0.0]
        assert reports.daily_demand(facts, SPAN, "TSHIRT-BLK-M", "WH-GOT") == [0.0, 0.0]
        result = reports.forecast(session, facts, SPAN, "TSHIRT-BLK-M", horizon=3, now=NOW)
    assert result.method == "mean"  # two days of history
    assert [r.actual for r in result.rows[:2]] == [3.0, 0.0]
    assert [r.forecast for r in result.rows[2:]] == [1.5, 1.5, 1.5]
    # Demo stock: 40 + 30 + 15 available; 1.5 a day.
    assert result.reorder.available == 85
    assert result.stock_cover_days == pytest.approx(85 / 1.5, abs=0.1)
    assert result.reorder.lead_time_demand == pytest.approx(7 * 1.5)


def test_a_forecast_reaching_today_ends_today_and_learns_from_whole_days_only(
    store: Database,
) -> None:
    # Today is D2, half sold: its units show beside its forecast, which learnt from D1 alone.
    noon = at(D2, 12)
    with store.session() as session:
        facts = reports.order_facts(session, SPAN)
        ahead = DateRange(start=D1, end=D2 + timedelta(days=5))  # a range past today, too
        for period in (SPAN, ahead):
            result = reports.forecast(session, facts, period, "TSHIRT-BLK-M", horizon=3, now=noon)
            assert (result.start, result.end) == (D1, D2)
            assert [(r.day, r.actual, r.forecast) for r in result.rows] == [
                (D1, 3.0, None),
                (D2, 0.0, 3.0),  # today so far, and the forecast for the whole of it
                (D2 + timedelta(days=1), None, 3.0),
                (D2 + timedelta(days=2), None, 3.0),
            ]
