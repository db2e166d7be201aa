"""Quote and credit activities against the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.credit import CreditActivities
from activities.quotes import QuoteActivities
from devtools.demo.catalogue import seed_demo
from oms.models.credit import ConsumeCredit, ReleaseCredit, ReserveCredit
from oms.models.orders import RecordResult
from oms.models.quotes import (
    LineOverride,
    PriceQuoteRequest,
    QuoteLineRequest,
    QuoteStatus,
)
from oms.store import credit, quotes
from oms.store.credit import CreditLedger
from oms.store.db import Database
from oms.store.quotes import QuoteStore

from quote_fixtures import quote_view

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.session() as session:
        seed_demo(session)
    return db


def price_request(company_id: str = "NORDIC-RETAIL", **kw: object) -> PriceQuoteRequest:
    return PriceQuoteRequest.model_validate(
        {
            "quote_id": "Q-1",
            "company_id": company_id,
            "currency": "SEK",
            "lines": [
                {"sku": "HOODIE-GRY-L", "quantity": 50, "target_unit_price": "550.00"},
                {"sku": "CAP-NVY", "quantity": 5},
            ],
            "round": 2,
            "by": "Sara Seller",
            **kw,
        }
    )


def test_price_uses_catalogue_prices_and_the_company_tier(seeded: Database) -> None:
    env = ActivityEnvironment()
    before = datetime.now(UTC)
    proposal = env.run(
        QuoteActivities(QuoteStore(seeded)).price, price_request(comment="volume deal")
    )

    hoodie, cap = proposal.lines
    # Gold (10%) + 50 units (5%) on 699.00; the caps get the tier discount only.
    assert (hoodie.list_price, hoodie.unit_price, hoodie.discount_pct) == (
        Decimal("699.00"),
        Decimal("594.15"),
        Decimal("15.00"),
    )
    assert hoodie.target_unit_price == Decimal("550.00")
    assert (cap.list_price, cap.unit_price) == (Decimal("199.00"), Decimal("179.10"))
    assert proposal.total == Decimal("29707.50") + Decimal("895.50")
    assert (proposal.round, proposal.by, proposal.comment) == (2, "Sara Seller", "volume deal")
    assert before <= proposal.at <= datetime.now(UTC)


def test_price_applies_overrides_and_list_prices_only(seeded: Database) -> None:
    env = ActivityEnvironment()
    acts = QuoteActivities(QuoteStore(seeded))
    override = [LineOverride(sku="CAP-NVY", unit_price=Decimal("150.00"), reason="clearance")]

    overridden = env.run(acts.price, price_request("SMALL-SHOP", overrides=override))
    assert [(p.unit_price, p.override_reason) for p in overridden.lines] == [
        (Decimal("664.05"), None),  # standard tier, 50 units: 5% off 699.00
        (Decimal("150.00"), "clearance"),
    ]

    listed = env.run(acts.price, price_request(overrides=override, list_prices_only=True))
    assert listed.total == listed.list_total == Decimal("34950.00") + Decimal("995.00")


@pytest.mark.parametrize(
    ("request_", "error_type", "named"),
    [
        (price_request("NO-SUCH-CO"), "UnknownCompany", "NO-SUCH-CO"),
        (
            price_request(lines=[{"sku": "NO-SUCH-SKU", "quantity": 1}]),
            "UnknownSku",
            "NO-SUCH-SKU",
        ),
        (
            price_request(
                overrides=[{"sku": "SOCKS-3PK", "unit_price": "1.00", "reason": "not quoted"}]
            ),
            "OverrideNotOnQuote",
            "SOCKS-3PK",
        ),
    ],
)
def test_price_rejections_are_non_retryable_and_named(
    seeded: Database, request_: PriceQuoteRequest, error_type: str, named: str
) -> None:
    with pytest.raises(ApplicationError) as caught:
        ActivityEnvironment().run(QuoteActivities(QuoteStore(seeded)).price, request_)
    assert caught.value.type == error_type
    assert caught.value.non_retryable is True
    assert named in caught.value.message


def test_record_quote_writes_only_newer_versions(db: Database) -> None:
    env = ActivityEnvironment()
    acts = QuoteActivities(QuoteStore(db))
    view = quote_view(
        "Q-1",
        version=2,
        status=QuoteStatus.PROPOSED,
        lines=[QuoteLineRequest(sku="CAP-NVY", quantity=10)],
    )
    older = view.model_copy(update={"version": 1, "status": QuoteStatus.SUBMITTED})

    assert env.run(acts.record_quote, view) == RecordResult(written=True)
    assert env.run(acts.record_quote, older) == RecordResult(written=False)
    with db.session() as session:
        assert quotes.get_quote(session, "Q-1") == view


def test_credit_activities_reserve_consume_and_release(seeded: Database) -> None:
    env = ActivityEnvironment()
    acts = CreditActivities(CreditLedger(seeded))
    reserve = ReserveCredit(
        key="O-1:credit:1",
        company_id="SMALL-SHOP",
        order_id="O-1",
        amount=Decimal("15000.00"),
        currency="SEK",
    )

    reserved = env.run(acts.reserve, reserve)
    assert reserved.status == "reserved"
    assert env.run(acts.reserve, reserve) == reserved
    over = env.run(
        acts.reserve, reserve.model_copy(update={"key": "O-2:credit:1", "order_id": "O-2"})
    )
    assert (over.status, over.over_limit_action) == ("over_limit", "refuse")

    consume = ConsumeCredit(
        key="O-1-S1:credit", order_id="O-1", shipment_id="O-1-S1", amount=Decimal("4000.00")
    )
    assert env.run(acts.consume, consume).amount == Decimal("4000.00")
    assert env.run(acts.consume, consume).amount == Decimal("4000.00")
    assert env.run(acts.release, ReleaseCredit(order_id="O-1")).amount == Decimal("11000.00")
    assert env.run(acts.release, ReleaseCredit(order_id="O-1")).amount == Decimal("0.00")
    with seeded.session() as session:
        status = credit.status(session, "SMALL-SHOP")
    assert (status.reserved, status.consumed, status.available) == (
        Decimal("0.00"),
        Decimal("4000.00"),
        Decimal("16000.00"),
    )


def test_credit_rejections_are_non_retryable_and_named(seeded: Database) -> None:
    env = ActivityEnvironment()
    acts = CreditActivities(CreditLedger(seeded))
    with pytest.raises(ApplicationError) as unknown:
        env.run(
            acts.reserve,
            ReserveCredit(
                key="k", company_id="NOPE", order_id="O-1", amount=Decimal(1), currency="SEK"
            ),
        )
    assert (unknown.value.type, unknown.value.non_retryable) == ("UnknownCompany", True)
    with pytest.raises(ApplicationError) as unreserved:
        env.run(
            acts.consume,
            ConsumeCredit(key="c", order_id="O-9", shipment_id="S-1", amount=Decimal(1)),
        )
    assert (unreserved.value.type, unreserved.value.non_retryable) == (
        "InvalidCreditMovement",
        True,
    )
