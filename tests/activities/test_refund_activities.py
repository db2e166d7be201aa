"""payments.refund on the sandbox provider, on SQLite and PostgreSQL: once per key, capped."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from oms.models.payments import AuthorizeRequest, CaptureRequest
from oms.models.returns import RefundRequest
from oms.store.db import Database
from sandboxes.payments import SandboxPaymentProvider

env = ActivityEnvironment()


def paid(db: Database, captured: str = "400.00", **knobs: object) -> PaymentActivities:
    provider = SandboxPaymentProvider(db, decline_over=Decimal("10000.00"), **knobs)  # type: ignore[arg-type]
    acts = PaymentActivities(provider)
    auth = env.run(
        acts.authorize,
        AuthorizeRequest(
            idempotency_key="R-1:auth",
            order_id="R-1",
            amount=Decimal("500.00"),
            currency="SEK",
            token="tok_visa",
        ),
    )
    env.run(
        acts.capture,
        CaptureRequest(
            idempotency_key="R-1:cap",
            authorization_id=auth.authorization_id,
            amount=Decimal(captured),
            currency="SEK",
        ),
    )
    return acts


def refund(acts: PaymentActivities, amount: str, key: str) -> Decimal:
    request = RefundRequest(
        idempotency_key=key, order_id="R-1", amount=Decimal(amount), currency="SEK"
    )
    return env.run(acts.refund, request).amount


def refunds(db: Database) -> list[Decimal]:
    provider = SandboxPaymentProvider(db, decline_over=Decimal("1"))
    return [e.amount for e in provider.ledger("R-1") if e.kind == "refund"]


def test_a_refund_is_recorded_once_per_key(db: Database) -> None:
    acts = paid(db)
    assert refund(acts, "150.00", "RMA-1:refund:A") == Decimal("150.00")
    assert refund(acts, "150.00", "RMA-1:refund:A") == Decimal("150.00")
    assert refunds(db) == [Decimal("150.00")]


def test_a_refund_key_replayed_with_another_amount_is_a_permanent_rejection(
    db: Database,
) -> None:
    acts = paid(db)
    refund(acts, "150.00", "RMA-1:refund:A")
    with pytest.raises(ApplicationError) as caught:
        refund(acts, "250.00", "RMA-1:refund:A")
    assert caught.value.type == "PaymentRejected" and caught.value.non_retryable
    assert refunds(db) == [Decimal("150.00")]


def test_refunds_never_exceed_what_was_captured(db: Database) -> None:
    acts = paid(db, captured="400.00")
    refund(acts, "300.00", "RMA-1:refund:A")
    with pytest.raises(ApplicationError) as refused:
        refund(acts, "150.00", "RMA-2:refund:A")
    assert refused.value.type == "RefundDeclined" and refused.value.non_retryable
    assert refund(acts, "100.00", "RMA-2:refund:A") == Decimal("100.00")
    assert sum(refunds(db)) == Decimal("400.00")


def test_concurrent_refunds_of_one_order_stay_within_the_capture(db: Database) -> None:
    acts = paid(db, captured="400.00")

    def attempt(n: int) -> bool:
        try:
            refund(acts, "150.00", f"RMA-{n}:refund:A")
            return True
        except ApplicationError:
            return False

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert outcomes.count(True) == 2
    assert sum(refunds(db)) == Decimal("300.00")


def test_provider_down_is_retryable_and_a_decline_is_not(db: Database) -> None:
    acts = paid(db, refund_unavailable_attempts=1, refund_decline_over=Decimal("200.00"))
    with pytest.raises(ApplicationError) as down:
        refund(acts, "100.00", "RMA-1:refund:A")
    assert down.value.type == "PaymentUnavailable" and not down.value.non_retryable
    assert refund(acts, "100.00", "RMA-1:refund:A") == Decimal("100.00")
    with pytest.raises(ApplicationError):
        refund(acts, "250.00", "RMA-1:refund:B")  # first attempt: down
    with pytest.raises(ApplicationError) as declined:
        refund(acts, "250.00", "RMA-1:refund:B")
    assert declined.value.type == "RefundDeclined"
    assert refunds(db) == [Decimal("100.00")]
