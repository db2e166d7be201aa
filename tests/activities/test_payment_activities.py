"""payments.* activities on the sandbox provider, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from oms.models.payments import (
    Authorization,
    AuthorizeRequest,
    CaptureRequest,
    VoidAuthorizationRequest,
)
from oms.settings import Settings
from oms.store.db import Database
from sandboxes.payments import SandboxPaymentProvider

env = ActivityEnvironment()


@pytest.fixture
def provider(db: Database) -> SandboxPaymentProvider:
    return SandboxPaymentProvider(db, decline_over=Decimal("10000.00"))


@pytest.fixture
def acts(provider: SandboxPaymentProvider) -> PaymentActivities:
    return PaymentActivities(provider)


def authorize(
    acts: PaymentActivities, amount: str = "500.00", token: str = "tok_visa", key: str = "A-1:auth"
) -> Authorization:
    request = AuthorizeRequest(
        idempotency_key=key, order_id="A-1", amount=Decimal(amount), currency="SEK", token=token
    )
    return env.run(acts.authorize, request)


def capture(acts: PaymentActivities, auth_id: str, amount: str, key: str) -> object:
    request = CaptureRequest(
        idempotency_key=key, authorization_id=auth_id, amount=Decimal(amount), currency="SEK"
    )
    return env.run(acts.capture, request)


def void(acts: PaymentActivities, auth_id: str, key: str = "A-1:void") -> Decimal:
    request = VoidAuthorizationRequest(idempotency_key=key, authorization_id=auth_id)
    return env.run(acts.void_authorization, request).voided_amount


def test_authorizing_twice_with_one_key_returns_the_same_authorization(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    first = authorize(acts)
    second = authorize(acts)

    assert first.status == "authorized" and first.amount == Decimal("500.00")
    assert second == first
    assert [(e.kind, e.status) for e in provider.ledger("A-1")] == [("authorize", "authorized")]


@pytest.mark.parametrize(
    ("amount", "token", "reason"),
    [("500.00", "tok_declined", "card_declined"), ("10000.01", "tok_visa", "amount_over_limit")],
)
def test_a_declined_card_is_an_answer_and_is_recorded(
    acts: PaymentActivities,
    provider: SandboxPaymentProvider,
    amount: str,
    token: str,
    reason: str,
) -> None:
    declined = authorize(acts, amount=amount, token=token)

    assert declined.status == "declined" and declined.decline_reason == reason
    assert authorize(acts, amount=amount, token=token) == declined
    [entry] = provider.ledger("A-1")
    assert (entry.kind, entry.status, entry.detail) == ("authorize", "declined", reason)


def test_the_limit_itself_is_still_authorized(acts: PaymentActivities) -> None:
    assert authorize(acts, amount="10000.00").status == "authorized"


def test_partial_captures_add_up_to_the_authorization_and_no_further(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    auth = authorize(acts)
    capture(acts, auth.authorization_id, "300.00", "A-1:S-1:capture")
    capture(acts, auth.authorization_id, "200.00", "A-1:S-2:capture")

    with pytest.raises(ApplicationError) as caught:
        capture(acts, auth.authorization_id, "0.01", "A-1:S-3:capture")

    assert caught.value.type == "PaymentRejected" and caught.value.non_retryable
    captured = [e.amount for e in provider.ledger("A-1") if e.kind == "capture"]
    assert captured == [Decimal("300.00"), Decimal("200.00")]


def test_a_capture_beyond_the_authorization_is_rejected_and_not_recorded(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    auth = authorize(acts)

    with pytest.raises(ApplicationError) as caught:
        capture(acts, auth.authorization_id, "500.01", "A-1:S-1:capture")

    assert caught.value.type == "PaymentRejected" and caught.value.non_retryable
    assert "500.01" in caught.value.message
    assert [e.kind for e in provider.ledger("A-1")] == ["authorize"]


def test_a_repeated_capture_is_applied_once(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    auth = authorize(acts)
    first = capture(acts, auth.authorization_id, "400.00", "A-1:S-1:capture")
    # Were it applied twice, 800 would exceed the 500 authorized.
    again = capture(acts, auth.authorization_id, "400.00", "A-1:S-1:capture")

    assert again == first
    assert [e.kind for e in provider.ledger("A-1")] == ["authorize", "capture"]


@pytest.mark.parametrize(
    "problem",
    ["declined", "unknown", "currency"],
)
def test_captures_that_can_never_succeed_are_rejected(
    acts: PaymentActivities, problem: str
) -> None:
    auth = authorize(acts, token="tok_declined" if problem == "declined" else "tok_visa")
    auth_id = "auth_nope" if problem == "unknown" else auth.authorization_id
    request = CaptureRequest(
        idempotency_key="A-1:S-1:capture",
        authorization_id=auth_id,
        amount=Decimal("1.00"),
        currency="EUR" if problem == "currency" else "SEK",
    )

    with pytest.raises(ApplicationError) as caught:
        env.run(acts.capture, request)

    assert caught.value.type == "PaymentRejected" and caught.value.non_retryable


def test_void_releases_the_uncaptured_remainder_once(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    auth = authorize(acts)
    capture(acts, auth.authorization_id, "120.00", "A-1:S-1:capture")

    assert void(acts, auth.authorization_id) == Decimal("380.00")
    assert void(acts, auth.authorization_id) == Decimal("380.00")  # same key: same answer
    assert void(acts, auth.authorization_id, key="A-1:void-again") == Decimal("0.00")
    with pytest.raises(ApplicationError):
        capture(acts, auth.authorization_id, "1.00", "A-1:S-2:capture")
    assert [(e.kind, e.amount) for e in provider.ledger("A-1")] == [
        ("authorize", Decimal("500.00")),
        ("capture", Decimal("120.00")),
        ("void", Decimal("380.00")),
        ("void", Decimal("0.00")),
    ]


def test_voiding_after_a_full_capture_voids_nothing(acts: PaymentActivities) -> None:
    auth = authorize(acts)
    capture(acts, auth.authorization_id, "500.00", "A-1:S-1:capture")

    assert void(acts, auth.authorization_id) == Decimal("0.00")


def test_voiding_an_unknown_authorization_is_rejected(acts: PaymentActivities) -> None:
    with pytest.raises(ApplicationError) as caught:
        void(acts, "auth_nope")
    assert caught.value.type == "PaymentRejected" and caught.value.non_retryable


def test_a_key_reused_for_another_operation_is_rejected(acts: PaymentActivities) -> None:
    auth = authorize(acts)
    with pytest.raises(ApplicationError) as caught:
        capture(acts, auth.authorization_id, "1.00", "A-1:auth")
    assert caught.value.type == "PaymentRejected"


def test_concurrent_captures_never_exceed_the_authorization(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    auth = authorize(acts)

    def attempt(n: int) -> bool:
        try:
            capture(acts, auth.authorization_id, "100.00", f"A-1:S-{n}:capture")
        except ApplicationError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert outcomes.count(True) == 5
    captured = sum(e.amount for e in provider.ledger("A-1") if e.kind == "capture")
    assert captured == Decimal("500.00")


def test_concurrent_attempts_with_one_key_record_one_capture(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    auth = authorize(acts)

    def attempt(_n: int) -> object:
        # The whole amount: a second application would be refused, not merely doubled.
        return capture(acts, auth.authorization_id, "500.00", "A-1:S-1:capture")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, range(6)))

    assert all(r == results[0] for r in results)
    assert [e.kind for e in provider.ledger("A-1")] == ["authorize", "capture"]


def test_a_payment_key_replayed_with_other_content_is_a_permanent_rejection(
    acts: PaymentActivities, provider: SandboxPaymentProvider
) -> None:
    """The attack: after retention an old key handed back its old authorization (goods
    shipped with no new money). A replay must ask for what the key's first call asked for."""
    auth = authorize(acts)
    refusals = [
        lambda: authorize(acts, amount="9000.00"),
        lambda: env.run(
            acts.authorize,
            AuthorizeRequest(
                idempotency_key="A-1:auth",
                order_id="B-2",
                amount=Decimal("500.00"),
                currency="SEK",
                token="tok_visa",
            ),
        ),
    ]
    capture(acts, auth.authorization_id, "100.00", key="A-1:capture")
    refusals.append(lambda: capture(acts, auth.authorization_id, "400.00", key="A-1:capture"))
    other = authorize(acts, key="A-1:auth-2")
    refusals.append(lambda: capture(acts, other.authorization_id, "100.00", key="A-1:capture"))
    void(acts, other.authorization_id, key="A-1:void")
    refusals.append(lambda: void(acts, auth.authorization_id, key="A-1:void"))
    for replay in refusals:
        with pytest.raises(ApplicationError) as caught:
            replay()
        assert caught.value.type == "PaymentRejected" and caught.value.non_retryable
        assert "use a new key" in caught.value.message
    # The same requests again are replays, answered with the first result.
    assert authorize(acts) == auth
    capture(acts, auth.authorization_id, "100.00", key="A-1:capture")
    assert [e.kind for e in provider.ledger("A-1")] == [
        "authorize",
        "capture",
        "authorize",
        "void",
    ]


def test_a_capture_on_a_lapsed_authorization_is_refused_for_good(db: Database) -> None:
    now = [datetime(2026, 1, 5, 12, 0, tzinfo=UTC)]
    provider = SandboxPaymentProvider(
        db, decline_over=Decimal("10000.00"), authorization_valid_s=3600, clock=lambda: now[0]
    )
    acts = PaymentActivities(provider)
    auth = authorize(acts)
    capture(acts, auth.authorization_id, "100.00", "A-1:S1:capture")  # within the hour

    now[0] += timedelta(hours=1, seconds=1)
    with pytest.raises(ApplicationError) as refused:
        capture(acts, auth.authorization_id, "100.00", "A-1:S2:capture")

    assert refused.value.type == "AuthorizationExpired" and refused.value.non_retryable
    assert "expired" in refused.value.message
    # A void of it still releases what it held, and the same key answers the same.
    assert void(acts, auth.authorization_id) == Decimal("400.00")
    assert [e.kind for e in provider.ledger("A-1")] == ["authorize", "capture", "void"]


def test_the_sandbox_takes_the_authorization_validity_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'oms.db'}", payment_authorization_valid_s=60
    )
    provider = SandboxPaymentProvider.from_settings(settings)
    try:
        assert provider._valid == timedelta(seconds=60)
    finally:
        provider.close()
