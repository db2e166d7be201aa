"""Read model of subscriptions (versioned, with its events) and the renewal's catalogue prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from devtools.demo.catalogue import seed_demo
from oms.models.common import Address, Customer, HistoryEntry
from oms.models.subscriptions import SubscriptionLine, SubscriptionStatus, SubscriptionView
from oms.store import subscriptions
from oms.store.db import Database
from oms.store.errors import CurrencyMismatch, UnknownSku
from oms.store.tables import EventRow, PriceRow, ProductRow

T0 = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)


def view(
    subscription_id: str,
    *,
    version: int = 1,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    customer_id: str = "C-42",
    history: list[HistoryEntry] | None = None,
    created_at: datetime = T0,
) -> SubscriptionView:
    return SubscriptionView(
        subscription_id=subscription_id,
        status=status,
        customer=Customer(id=customer_id, name="Anna", email="anna@example.com"),
        currency="SEK",
        interval="P1M",
        lines=[SubscriptionLine(sku="TSHIRT-BLK-M", quantity=1)],
        ship_to=Address(
            name="Anna",
            line1="Drottninggatan 53",
            postal_code="111 21",
            city="Stockholm",
            country="SE",
        ),
        anchor=T0,
        next_renewal_at=T0 + timedelta(days=28),
        last_error="payment for SUB-S-1-1 declined: card_declined",
        history=history or [HistoryEntry(at=T0, status=status.value, note="created")],
        created_at=created_at,
        updated_at=created_at,
        version=version,
    )


def test_a_newer_version_wins_and_each_new_status_and_renewal_is_one_event(db: Database) -> None:
    created = view("S-1")
    later = view("S-1", version=3, status=SubscriptionStatus.PAUSED)
    later.history = [
        *created.history,
        HistoryEntry(at=T0, status="active", note="renewed", action="renewed"),
        HistoryEntry(at=T0, status="paused", note="paused until resumed"),
    ]
    with db.session() as session:
        assert subscriptions.record_subscription(session, created)
        assert subscriptions.record_subscription(session, later)
        assert not subscriptions.record_subscription(session, view("S-1", version=2))
        assert not subscriptions.record_subscription(session, later)  # a retried write
    with db.session() as session:
        stored = subscriptions.get_subscription(session, "S-1")
        types = list(session.scalars(select(EventRow.type).order_by(EventRow.seq)))
        errors = subscriptions.last_errors(session, ["S-1", "S-unknown"])
    assert stored is not None and stored.status == SubscriptionStatus.PAUSED
    assert types == ["subscription.created", "subscription.renewed", "subscription.paused"]
    assert errors == {"S-1": "payment for SUB-S-1-1 declined: card_declined"}


def test_list_filters_by_customer_and_status_newest_first_a_page_at_a_time(
    db: Database,
) -> None:
    with db.session() as session:
        for n, (customer, status) in enumerate(
            [("C-42", "active"), ("C-42", "paused"), ("C-7", "active"), ("C-42", "active")]
        ):
            subscriptions.record_subscription(
                session,
                view(
                    f"S-{n}",
                    customer_id=customer,
                    status=SubscriptionStatus(status),
                    created_at=T0 + timedelta(hours=n),
                ),
            )
    with db.session() as session:
        mine = subscriptions.list_subscriptions(session, customer_id="C-42", limit=2)
        rest = subscriptions.list_subscriptions(
            session, customer_id="C-42", limit=2, cursor=mine.next_cursor
        )
        active = subscriptions.list_subscriptions(session, status="active")
    assert [s.subscription_id for s in mine.items] == ["S-3", "S-1"]
    assert [s.subscription_id for s in rest.items] == ["S-0"] and rest.next_cursor is None
    assert [s.subscription_id for s in active.items] == ["S-3", "S-2", "S-0"]
    with pytest.raises(ValueError):
        subscriptions.list_subscriptions(session, status="gone")


def test_renewal_prices_come_from_active_products_in_the_currency(db: Database) -> None:
    with db.session() as session:
        seed_demo(session)
    with db.session() as session:
        prices = subscriptions.catalogue_prices(session, ["TSHIRT-BLK-M"], "SEK")
        assert prices == {"TSHIRT-BLK-M": Decimal("249.00")}
        with pytest.raises(UnknownSku, match="NOPE"):
            subscriptions.catalogue_prices(session, ["TSHIRT-BLK-M", "NOPE"], "SEK")
        eur = subscriptions.catalogue_prices(session, ["TSHIRT-BLK-M"], "EUR")
        assert eur == {"TSHIRT-BLK-M": Decimal("24.95")}  # the EUR price list's
        session.execute(delete(PriceRow).where(PriceRow.currency == "EUR"))
        with pytest.raises(CurrencyMismatch, match="TSHIRT-BLK-M"):
            subscriptions.catalogue_prices(session, ["TSHIRT-BLK-M"], "EUR")
        session.get(ProductRow, "TSHIRT-BLK-M").active = False  # type: ignore[union-attr]
        session.flush()
        with pytest.raises(UnknownSku):
            subscriptions.catalogue_prices(session, ["TSHIRT-BLK-M"], "SEK")


def test_the_report_facts_are_start_cancellation_and_renewals(db: Database) -> None:
    from oms.models.subscriptions import SubscriptionOrder

    cancelled = view(
        "S-R1",
        status=SubscriptionStatus.CANCELLED,
        history=[
            HistoryEntry(at=T0, status="active", note="created"),
            HistoryEntry(at=T0 + timedelta(days=3), status="cancelled", note="cancelled"),
        ],
    )
    cancelled.orders = [
        SubscriptionOrder(order_id="SUB-S-R1-1", period=1, placed_at=T0, total=Decimal("99.00"))
    ]
    later = view("S-R2", created_at=T0 + timedelta(days=10))
    with db.session() as session:
        subscriptions.record_subscription(session, cancelled)
        subscriptions.record_subscription(session, later)
    with db.session() as session:
        [facts] = subscriptions.report_facts(session, until=T0 + timedelta(days=5))
    assert facts.created_at == T0
    assert facts.cancelled_at == T0 + timedelta(days=3)
    assert facts.renewals == (T0,)
