"""Company credit: reservations within the limit, idempotent movements, no overdraft in a race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from oms.models.credit import (
    Company,
    ConsumeCredit,
    CreditReservation,
    ReleaseCredit,
    ReserveCredit,
)
from oms.store import credit
from oms.store.db import Database
from oms.store.errors import InvalidCreditMovement, UnknownCompany
from oms.store.tables import CreditLedgerRow


@pytest.fixture
def acme(db: Database) -> str:
    with db.session() as session:
        credit.upsert_company(
            session,
            Company(
                company_id="ACME", name="Acme Bygg AB", tier="silver", credit_limit=Decimal(1000)
            ),
        )
    return "ACME"


def reserve(
    db: Database, order_id: str, amount: str, *, key: str | None = None, **kw: bool
) -> CreditReservation:
    request = ReserveCredit(
        key=key or f"{order_id}:credit:1",
        company_id="ACME",
        order_id=order_id,
        amount=Decimal(amount),
        currency="SEK",
        **kw,
    )
    with db.session() as session:
        return credit.reserve(session, request)


def available(db: Database) -> tuple[Decimal, Decimal, Decimal]:
    """(reserved, consumed, available) of ACME."""
    with db.session() as session:
        s = credit.status(session, "ACME")
    assert s.credit_limit == s.reserved + s.consumed + s.available
    return s.reserved, s.consumed, s.available


def ledger_rows(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(CreditLedgerRow)) or 0


def test_a_reservation_within_the_limit_lowers_available_credit(db: Database, acme: str) -> None:
    first = reserve(db, "O-1", "600.00")
    assert (first.status, first.amount, first.available_before) == (
        "reserved",
        Decimal("600.00"),
        Decimal("1000.00"),
    )
    assert available(db) == (Decimal("600.00"), Decimal("0.00"), Decimal("400.00"))
    exact = reserve(db, "O-2", "400.00")
    assert (exact.status, exact.available_before) == ("reserved", Decimal("400.00"))
    assert available(db)[2] == Decimal("0.00")


def test_over_the_limit_reserves_nothing_and_names_the_company_rule(
    db: Database, acme: str
) -> None:
    reserve(db, "O-1", "600.00")
    over = reserve(db, "O-2", "400.01")
    assert (over.status, over.amount, over.available_before, over.over_limit_action) == (
        "over_limit",
        Decimal("400.01"),
        Decimal("400.00"),
        "hold",
    )
    assert available(db) == (Decimal("600.00"), Decimal("0.00"), Decimal("400.00"))
    assert ledger_rows(db) == 1

    with db.session() as session:
        company = credit.get_company(session, "ACME")
        assert company is not None
        credit.upsert_company(session, company.model_copy(update={"over_limit": "refuse"}))
    assert reserve(db, "O-2", "400.01").over_limit_action == "refuse"


def test_finance_may_allow_an_order_over_the_limit(db: Database, acme: str) -> None:
    assert reserve(db, "O-1", "1500.00").status == "over_limit"
    allowed = reserve(db, "O-1", "1500.00", allow_over_limit=True)
    assert (allowed.status, allowed.available_before) == ("reserved", Decimal("1000.00"))
    assert available(db) == (Decimal("1500.00"), Decimal("0.00"), Decimal("-500.00"))
    assert reserve(db, "O-2", "0.01").status == "over_limit"


def test_a_retried_reserve_returns_the_first_answer_and_reserves_once(
    db: Database, acme: str
) -> None:
    first = reserve(db, "O-1", "700.00")
    # Even if the retry would no longer fit, the stored reservation stands.
    again = reserve(db, "O-1", "700.00")
    assert again == first
    assert available(db)[0] == Decimal("700.00")
    assert ledger_rows(db) == 1


def test_consume_moves_credit_from_reserved_to_consumed_once_per_key(
    db: Database, acme: str
) -> None:
    reserve(db, "O-1", "800.00")
    ship = ConsumeCredit(key="O-1-S1:credit", order_id="O-1", shipment_id="O-1-S1", amount=300)
    with db.session() as session:
        assert credit.consume(session, ship).amount == Decimal("300.00")
    with db.session() as session:
        assert credit.consume(session, ship).amount == Decimal("300.00")
    assert available(db) == (Decimal("500.00"), Decimal("300.00"), Decimal("200.00"))

    second = ConsumeCredit(key="O-1-S2:credit", order_id="O-1", shipment_id="O-1-S2", amount=600)
    with db.session() as session:
        credit.consume(session, second)
    # 100 more than was still reserved: the company's credit pays for the difference.
    assert available(db) == (Decimal("0.00"), Decimal("900.00"), Decimal("100.00"))


def test_release_gives_back_what_remains_and_a_second_release_gives_nothing(
    db: Database, acme: str
) -> None:
    reserve(db, "O-1", "800.00")
    reserve(db, "O-2", "100.00")
    with db.session() as session:
        credit.consume(
            session,
            ConsumeCredit(key="O-1-S1:credit", order_id="O-1", shipment_id="O-1-S1", amount=300),
        )
    with db.session() as session:
        assert credit.release(session, ReleaseCredit(order_id="O-1")).amount == Decimal("500.00")
    with db.session() as session:
        assert credit.release(session, ReleaseCredit(order_id="O-1")).amount == Decimal("0.00")
        assert credit.release(session, ReleaseCredit(order_id="NEVER")).amount == Decimal("0.00")
    assert available(db) == (Decimal("100.00"), Decimal("300.00"), Decimal("600.00"))

    # A new reservation for the same order (after an edit) can be released again.
    reserve(db, "O-1", "50.00", key="O-1:credit:2")
    with db.session() as session:
        assert credit.release(session, ReleaseCredit(order_id="O-1")).amount == Decimal("50.00")
    assert available(db) == (Decimal("100.00"), Decimal("300.00"), Decimal("600.00"))


def test_business_rejections(db: Database, acme: str) -> None:
    with db.session() as session, pytest.raises(UnknownCompany):
        credit.reserve(
            session,
            ReserveCredit(
                key="k", company_id="NOPE", order_id="O-1", amount=Decimal(1), currency="SEK"
            ),
        )
    with db.session() as session, pytest.raises(InvalidCreditMovement, match="EUR"):
        credit.reserve(
            session,
            ReserveCredit(
                key="k", company_id="ACME", order_id="O-1", amount=Decimal(1), currency="EUR"
            ),
        )
    with db.session() as session, pytest.raises(InvalidCreditMovement, match="no credit"):
        credit.consume(
            session, ConsumeCredit(key="c", order_id="O-9", shipment_id="S", amount=Decimal(1))
        )
    with pytest.raises(InvalidCreditMovement, match="negative"):
        reserve(db, "O-1", "-1.00")
    reserve(db, "O-1", "10.00")
    with db.session() as session, pytest.raises(InvalidCreditMovement, match="already used"):
        credit.consume(
            session,
            ConsumeCredit(key="O-1:credit:1", order_id="O-1", shipment_id="S", amount=Decimal(1)),
        )
    with db.session() as session, pytest.raises(UnknownCompany):
        credit.status(session, "NOPE")


def test_companies_are_created_replaced_and_listed(db: Database) -> None:
    small = Company(company_id="SMALL", name="Small Shop", credit_limit=Decimal(20000))
    gold = Company(company_id="GOLD", name="Gold AB", tier="gold", over_limit="refuse")
    with db.session() as session:
        credit.upsert_company(session, small)
        credit.upsert_company(session, gold)
    with db.session() as session:
        credit.upsert_company(session, small.model_copy(update={"credit_limit": Decimal(5)}))
    with db.session() as session:
        assert credit.list_companies(session).items == [
            gold.model_copy(update={"credit_limit": Decimal("0.00")}),
            small.model_copy(update={"credit_limit": Decimal("5.00")}),
        ]
        assert credit.get_company(session, "NOPE") is None


def test_concurrent_reservations_never_exceed_the_limit(db: Database, acme: str) -> None:
    orders = 30
    start = threading.Barrier(orders)

    def place(i: int) -> CreditReservation:
        request = ReserveCredit(
            key=f"R-{i}:credit:1",
            company_id="ACME",
            order_id=f"R-{i}",
            amount=Decimal("70.00"),
            currency="SEK",
        )
        start.wait(timeout=60)
        with db.session() as session:
            return credit.reserve(session, request)

    with ThreadPoolExecutor(max_workers=orders) as pool:
        results = list(pool.map(place, range(orders)))

    # 1000 / 70: fourteen fit, whoever wins the races.
    assert sum(r.status == "reserved" for r in results) == 14
    assert available(db) == (Decimal("980.00"), Decimal("0.00"), Decimal("20.00"))
    assert ledger_rows(db) == 14


def test_concurrent_retries_of_one_reservation_reserve_it_once(db: Database, acme: str) -> None:
    retries = 10
    start = threading.Barrier(retries)

    def retry(_: int) -> CreditReservation:
        start.wait(timeout=60)
        return reserve(db, "O-1", "300.00")

    with ThreadPoolExecutor(max_workers=retries) as pool:
        results = list(pool.map(retry, range(retries)))

    assert {r.status for r in results} == {"reserved"}
    assert available(db)[0] == Decimal("300.00")
    assert ledger_rows(db) == 1
