"""Generated order history for the demo: about 90 days of orders, shipments and returns.

``generate_history`` is deterministic (a fixed seed): the same end day and "now"
give the same orders. A rising trend and a weekly season (busy Fridays and
Saturdays, quiet Sundays) across channels, currencies, SKUs and the demo
warehouses, with shipments through to delivery, some cancellations and some
returns. Every order ends delivered, in transit or cancelled, never in a state
(picking, on hold) that a person or the simulated warehouse would try to act on.
``devtools.demo.history`` writes it into the read model.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from devtools.demo.catalogue import PRODUCTS, STOCK
from oms.models.common import Address, Customer, HistoryEntry
from oms.models.orders import OrderLine, OrderStatus, OrderView, ShipmentSummary
from oms.models.returns import ReturnLine, ReturnStatus, ReturnView
from oms.models.shipments import ShipmentLine, ShipmentStatus, ShipmentView

PREFIX = "H-"
SEED = 20261106
# Relative demand per SKU (share of order lines).
POPULARITY = {
    "TSHIRT-BLK-M": 0.19,
    "SOCKS-3PK": 0.17,
    "TSHIRT-BLK-L": 0.12,
    "CAP-NVY": 0.11,
    "HOODIE-GRY-L": 0.10,
    "TSHIRT-WHT-M": 0.09,
    "JEANS-IND-32": 0.09,
    "SNEAKER-WHT-42": 0.08,
    "JACKET-WOOL-M": 0.05,
}
# Monday first: weekends and Fridays are busier, Sunday evening is not.
WEEKLY = [0.9, 0.85, 0.9, 1.0, 1.2, 1.35, 0.8]
CHANNELS = (["web", "marketplace", "api", "sales_rep"], [0.55, 0.25, 0.1, 0.1])
# currency, share, price factor from SEK
CURRENCIES = [
    ("SEK", 0.85, Decimal("1")),
    ("EUR", 0.1, Decimal("0.087")),
    ("NOK", 0.05, Decimal("1")),
]
# city, postal code, street, nearest warehouses first
CITIES = [
    ("Stockholm", "111 21", "Drottninggatan 53", ["WH-STO", "WH-GOT", "WH-MMO"]),
    ("Uppsala", "753 20", "Svartbäcksgatan 12", ["WH-STO", "WH-GOT", "WH-MMO"]),
    ("Göteborg", "411 36", "Kungsportsavenyen 21", ["WH-GOT", "WH-MMO", "WH-STO"]),
    ("Malmö", "211 22", "Stortorget 9", ["WH-MMO", "WH-GOT", "WH-STO"]),
    ("Lund", "222 21", "Stora Södergatan 8", ["WH-MMO", "WH-GOT", "WH-STO"]),
]
FIRST = ["Anna", "Erik", "Sara", "Oskar", "Maja", "Liam", "Elsa", "Hugo", "Alva", "Nils"]
LAST = ["Lindqvist", "Johansson", "Nilsson", "Berg", "Holm", "Andersson", "Ek", "Sund"]
CANCEL_REASONS = (
    ["changed my mind", "found a better price", "ordered by mistake", "delivery too slow"],
    [0.4, 0.25, 0.2, 0.15],
)
RETURN_REASONS = (
    ["wrong_size", "changed_mind", "damaged", "not_as_described", "defective"],
    [0.45, 0.2, 0.12, 0.13, 0.1],
)


def _customer(number: int) -> Customer:
    first, last = FIRST[number % len(FIRST)], LAST[number % len(LAST)]
    return Customer(
        id=f"C-H-{number:04d}",
        name=f"{first} {last}",
        email=f"{first.lower()}.{number}@example.com",
        locale="sv" if number % 3 else "en",
    )


@dataclass
class GeneratedHistory:
    orders: list[OrderView]
    shipments: list[ShipmentView]
    returns: list[ReturnView]


@dataclass
class _World:
    """What every generated order draws from: SKUs and their weights, prices, stock, people."""

    skus: list[str]
    weights: np.ndarray
    prices: dict[str, Decimal]
    stocked: dict[str, set[str]]
    customers: list[Customer]

    @classmethod
    def build(cls) -> _World:
        stocked: dict[str, set[str]] = defaultdict(set)
        for warehouse_id, sku in STOCK:
            stocked[sku].add(warehouse_id)
        skus = list(POPULARITY)
        return cls(
            skus=skus,
            weights=np.array([POPULARITY[s] for s in skus]) / sum(POPULARITY.values()),
            prices={sku: Decimal(price) for sku, _, price, _ in PRODUCTS},
            stocked=stocked,
            customers=[_customer(n) for n in range(400)],
        )


def generate_history(
    end: date, now: datetime, days: int = 90, seed: int = SEED
) -> GeneratedHistory:
    """Orders placed on the ``days`` days up to ``end``; nothing happens after ``now``."""
    rng = np.random.default_rng(seed)
    world = _World.build()
    out = GeneratedHistory(orders=[], shipments=[], returns=[])
    start = end - timedelta(days=days - 1)
    for offset in range(days):
        day = start + timedelta(days=offset)
        expected = 18.0 * (1 + 0.009 * offset) * WEEKLY[day.weekday()]
        for n in range(int(rng.poisson(expected))):
            seconds = int(rng.uniform(7 * 3600, 23 * 3600))
            placed = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(seconds=seconds)
            if placed >= now:
                continue
            _one_order(out, rng, world, f"{PREFIX}{day:%Y%m%d}-{n + 1:03d}", placed, now)
    return out


def _one_order(
    out: GeneratedHistory,
    rng: np.random.Generator,
    world: _World,
    order_id: str,
    placed: datetime,
    now: datetime,
) -> None:
    customer = world.customers[int(rng.integers(0, len(world.customers)))]
    city, postal, street, nearest = CITIES[int(rng.integers(0, len(CITIES)))]
    ship_to = Address(name=customer.name, line1=street, postal_code=postal, city=city, country="SE")
    channel = str(rng.choice(CHANNELS[0], p=CHANNELS[1]))
    pick = int(rng.choice(len(CURRENCIES), p=[c[1] for c in CURRENCIES]))
    currency, factor = CURRENCIES[pick][0], CURRENCIES[pick][2]
    n_lines = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    chosen = rng.choice(len(world.skus), size=n_lines, replace=False, p=world.weights)
    lines = [
        OrderLine(
            sku=world.skus[i],
            quantity=int(rng.choice([1, 2, 3], p=[0.8, 0.15, 0.05])),
            unit_price=(world.prices[world.skus[i]] * factor).quantize(Decimal("0.01")),
        )
        for i in sorted(chosen)
    ]
    speed = "express" if rng.random() < 0.15 else "standard"
    total = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
    by_warehouse: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        warehouse = next(w for w in nearest if w in world.stocked[line.sku])
        by_warehouse[warehouse].append(line)

    history = [
        HistoryEntry(at=placed, status=OrderStatus.RECEIVED, note=f"Order received via {channel}")
    ]
    confirmed = placed + timedelta(seconds=float(rng.uniform(5, 90)))
    allocated = confirmed + timedelta(seconds=float(rng.uniform(5, 60)))
    history.append(
        HistoryEntry(
            at=confirmed, status=OrderStatus.CONFIRMED, note="Payment authorized; order confirmed"
        )
    )
    backordered = rng.random() < 0.04
    ready = allocated
    if backordered:
        history.append(
            HistoryEntry(at=allocated, status=OrderStatus.BACKORDERED, note="Waiting for stock")
        )
        ready = allocated + timedelta(hours=float(rng.uniform(20, 120)))
    else:
        history.append(HistoryEntry(at=allocated, status=OrderStatus.ALLOCATED, note="Allocated"))
    # Warehouse work takes hours (lognormal: mostly quick, a long tail); carriers days.
    packed = ready + timedelta(
        hours=float(rng.lognormal(np.log(2.5 if speed == "express" else 4), 0.6))
    )
    shipped = packed + timedelta(hours=float(rng.uniform(0.5, 3)))
    transit_h = rng.uniform(14, 30) if speed == "express" else rng.uniform(24, 80)
    delivered = shipped + timedelta(hours=float(transit_h))
    if shipped >= now or ready >= now:
        # The latest orders must not wait on a warehouse that will never act on them:
        # squeeze their warehouse work into the time there was.
        span = (now - timedelta(minutes=1) - allocated).total_seconds()
        ready = allocated + timedelta(seconds=span * 0.3)
        packed = allocated + timedelta(seconds=span * 0.6)
        shipped = allocated + timedelta(seconds=span * 0.8)
        delivered = now + timedelta(days=1)

    cancelled_at = None
    if rng.random() < 0.045:
        cancelled_at = allocated + timedelta(minutes=float(rng.uniform(5, 240)))
        if cancelled_at >= min(packed, now):
            cancelled_at = allocated + (min(packed, now) - allocated) / 2
    view = OrderView(
        order_id=order_id,
        status=OrderStatus.RECEIVED,
        channel=channel,
        customer=customer,
        currency=currency,
        total=total,
        lines=lines,
        ship_to=ship_to,
        shipping_speed=speed,
        placed_at=placed,
        updated_at=placed,
    )
    shipments = []
    for number_in_order, (warehouse, wh_lines) in enumerate(sorted(by_warehouse.items()), 1):
        sid = f"{order_id}-S{number_in_order}"
        tracking = f"HTRK{order_id[2:].replace('-', '')}{number_in_order}"
        if cancelled_at is not None:
            s_status, s_hist = (
                ShipmentStatus.CANCELLED,
                [(ready, "picking"), (cancelled_at, "cancelled")],
            )
            tracking_number = None
        else:
            s_hist = [(ready, "picking"), (packed, "packed"), (shipped, "shipped")]
            s_status = ShipmentStatus.IN_TRANSIT
            if delivered < now:
                s_hist.append((delivered, "delivered"))
                s_status = ShipmentStatus.DELIVERED
            else:
                s_hist.append((shipped + timedelta(minutes=30), "in_transit"))
            tracking_number = tracking
        shipment = ShipmentView(
            shipment_id=sid,
            order_id=order_id,
            warehouse_id=warehouse,
            status=s_status,
            lines=[
                ShipmentLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
                for ln in wh_lines
            ],
            ship_to=ship_to,
            carrier=None if cancelled_at else "sandbox",
            service=None if cancelled_at else speed,
            tracking_number=tracking_number,
            history=[{"at": at.isoformat(), "status": st} for at, st in s_hist],
            updated_at=s_hist[-1][0],
            version=len(s_hist),
        )
        shipments.append(shipment)
    if cancelled_at is not None:
        reason = str(rng.choice(CANCEL_REASONS[0], p=CANCEL_REASONS[1]))
        view.cancel_reason = reason
        history.append(
            HistoryEntry(
                at=cancelled_at,
                status=OrderStatus.CANCELLED,
                note=f"Cancelled by customer: {reason}",
            )
        )
    else:
        history.append(HistoryEntry(at=ready, status=OrderStatus.PICKING, note="Picking"))
        history.append(HistoryEntry(at=shipped, status=OrderStatus.SHIPPED, note="Shipped"))
        if delivered < now:
            history.append(
                HistoryEntry(at=delivered, status=OrderStatus.DELIVERED, note="Delivered")
            )
            history.append(
                HistoryEntry(
                    at=delivered + timedelta(seconds=2),
                    status=OrderStatus.COMPLETED,
                    note="Every shipment delivered",
                )
            )
    view.history = history
    view.status = OrderStatus(history[-1].status)
    view.updated_at = history[-1].at
    view.version = len(history)
    view.shipments = [ShipmentSummary.of(s) for s in shipments]
    out.orders.append(view)
    out.shipments.extend(shipments)
    if view.status == OrderStatus.COMPLETED and rng.random() < 0.08:
        _one_return(out, rng, view, delivered, now)


def _one_return(
    out: GeneratedHistory,
    rng: np.random.Generator,
    order: OrderView,
    delivered: datetime,
    now: datetime,
) -> None:
    requested = delivered + timedelta(days=float(rng.uniform(1, 12)))
    if requested + timedelta(days=4) >= now:
        return
    line = order.lines[int(rng.integers(0, len(order.lines)))]
    reason = str(rng.choice(RETURN_REASONS[0], p=RETURN_REASONS[1]))
    quantity = int(rng.integers(1, line.quantity + 1))
    rejected = rng.random() < 0.05
    refunded = Decimal("0.00") if rejected else line.unit_price * quantity
    history = [HistoryEntry(at=requested, status=ReturnStatus.REQUESTED, by="customer")]
    if rejected:
        history.append(
            HistoryEntry(
                at=requested + timedelta(hours=5),
                status=ReturnStatus.REJECTED,
                by="support",
                note="outside policy",
            )
        )
    else:
        history.append(
            HistoryEntry(
                at=requested + timedelta(seconds=30), status=ReturnStatus.AUTHORIZED, by="system"
            )
        )
        history.append(
            HistoryEntry(
                at=requested + timedelta(days=3), status=ReturnStatus.RECEIVED, by="warehouse"
            )
        )
        history.append(
            HistoryEntry(
                at=requested + timedelta(days=3, minutes=1),
                status=ReturnStatus.REFUNDED,
                by="system",
            )
        )
    out.returns.append(
        ReturnView(
            rma_id=f"RMA-{order.order_id}-1",
            order_id=order.order_id,
            status=ReturnStatus(history[-1].status),
            resolution="refund",
            customer=order.customer,
            currency=order.currency,
            lines=[
                ReturnLine(
                    sku=line.sku,
                    quantity=quantity,
                    reason=reason,
                    unit_price=line.unit_price,
                    received_resellable=0 if rejected else quantity,
                    refunded=refunded,
                )
            ],
            authorization="manual" if rejected else "automatic",
            rejection_reason="outside policy" if rejected else None,
            refund_total=refunded,
            history=history,
            requested_at=requested,
            updated_at=history[-1].at,
            version=len(history),
        )
    )
