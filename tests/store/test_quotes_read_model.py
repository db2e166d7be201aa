"""Read model of quotes, and what pricing reads from the store: list prices and tiers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from devtools.demo.catalogue import seed_demo
from oms.models.credit import Company
from oms.models.quotes import QuoteStatus
from oms.store import credit, quotes
from oms.store.db import Database
from oms.store.errors import UnknownCompany, UnknownSku

from quote_fixtures import T0, quote_view


def test_a_quote_is_written_and_read_back_whole(db: Database) -> None:
    view = quote_view("Q-1")
    with db.session() as session:
        assert quotes.record_quote(session, view) is True
    with db.session() as session:
        assert quotes.get_quote(session, "Q-1") == view
        assert quotes.get_quote(session, "Q-404") is None


def test_only_a_newer_version_overwrites(db: Database) -> None:
    with db.session() as session:
        quotes.record_quote(session, quote_view("Q-1", version=3, status=QuoteStatus.PROPOSED))
    with db.session() as session:
        assert quotes.record_quote(session, quote_view("Q-1", version=2)) is False
        assert quotes.record_quote(session, quote_view("Q-1", version=3)) is False
    newer = quote_view("Q-1", version=4, status=QuoteStatus.PENDING_APPROVAL)
    with db.session() as session:
        assert quotes.record_quote(session, newer) is True
    with db.session() as session:
        assert quotes.get_quote(session, "Q-1") == newer
        assert quotes.list_quotes(session, status="pending_approval").items == [newer]
        assert quotes.list_quotes(session, status=QuoteStatus.PROPOSED).items == []


def test_list_quotes_latest_change_first_by_status_and_company(db: Database) -> None:
    views = [
        quote_view(
            f"Q-{i}",
            company_id="ACME-AB" if i % 2 else "NORDIC-RETAIL",
            status=QuoteStatus.PROPOSED if i < 3 else QuoteStatus.ORDERED,
            updated_at=T0 + timedelta(hours=i),
        )
        for i in range(5)
    ]
    with db.session() as session:
        for view in views:
            quotes.record_quote(session, view)
    with db.session() as session:
        assert [v.quote_id for v in quotes.list_quotes(session).items] == [
            "Q-4",
            "Q-3",
            "Q-2",
            "Q-1",
            "Q-0",
        ]
        assert [v.quote_id for v in quotes.list_quotes(session, company_id="ACME-AB").items] == [
            "Q-3",
            "Q-1",
        ]
        assert [
            v.quote_id
            for v in quotes.list_quotes(
                session, status="proposed", company_id="NORDIC-RETAIL"
            ).items
        ] == ["Q-2", "Q-0"]
        first = quotes.list_quotes(session, limit=2)
        second = quotes.list_quotes(session, limit=2, cursor=first.next_cursor)
        assert [v.quote_id for v in second.items] == ["Q-2", "Q-1"]
        with pytest.raises(ValueError):
            quotes.list_quotes(session, status="haggling")


def test_concurrent_first_writes_of_one_quote_keep_the_newest(db: Database) -> None:
    writers = 8
    start = threading.Barrier(writers)

    def write(version: int) -> bool:
        start.wait(timeout=60)
        with db.session() as session:
            return quotes.record_quote(session, quote_view("Q-RACE", version=version))

    with ThreadPoolExecutor(max_workers=writers) as pool:
        results = list(pool.map(write, range(1, writers + 1)))

    assert any(results)
    with db.session() as session:
        stored = quotes.get_quote(session, "Q-RACE")
        assert stored is not None
        assert stored.version == writers


def test_list_prices_come_from_the_catalogue_and_name_unknown_skus(db: Database) -> None:
    with db.session() as session:
        seed_demo(session)
    with db.session() as session:
        assert quotes.list_prices(session, ["TSHIRT-BLK-M", "JACKET-WOOL-M"]) == {
            "TSHIRT-BLK-M": Decimal("249.00"),
            "JACKET-WOOL-M": Decimal("2499.00"),
        }
        assert quotes.list_prices(session, []) == {}
        with pytest.raises(UnknownSku, match="NOPE-1, NOPE-2"):
            quotes.list_prices(session, ["NOPE-2", "TSHIRT-BLK-M", "NOPE-1"])


def test_company_tier_of_the_demo_companies(db: Database) -> None:
    with db.session() as session:
        seed_demo(session)
    with db.session() as session:
        assert quotes.company_tier(session, "ACME-AB") == "silver"
        assert quotes.company_tier(session, "NORDIC-RETAIL") == "gold"
        assert quotes.company_tier(session, "SMALL-SHOP") == "standard"
        with pytest.raises(UnknownCompany):
            quotes.company_tier(session, "NOPE")
        acme = credit.get_company(session, "ACME-AB")
        assert acme == Company(
            company_id="ACME-AB",
            name="Acme Bygg AB",
            tier="silver",
            credit_limit=Decimal("500000.00"),
            currency="SEK",
            over_limit="hold",
        )
        small = credit.status(session, "SMALL-SHOP")
        assert (small.credit_limit, small.available) == (Decimal("20000.00"), Decimal("20000.00"))
        assert [(c.company_id, c.over_limit) for c in credit.list_companies(session).items] == [
            ("ACME-AB", "hold"),
            ("NORDIC-RETAIL", "hold"),
            ("SMALL-SHOP", "refuse"),
        ]
