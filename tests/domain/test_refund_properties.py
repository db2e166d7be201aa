"""Properties of refunds, for any captures and any refund attempts (Hypothesis).

The return rules never refund more than the units that came back as the product
at the price paid; the sandbox payment provider (SQLite ledger) never refunds
more than captured minus already refunded, and a repeated key refunds once.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from oms.domain.returns import apply_receipt, refund_due
from oms.models.payments import AuthorizeRequest, CaptureRequest
from oms.models.returns import ReceivedLine, RefundRequest, ReturnLine
from oms.ports.errors import PaymentRejected, RefundDeclined
from sandboxes.payments import LedgerRow, SandboxPaymentProvider

from inventory_fixtures import empty_store

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900.00"), places=2)
conditions = st.sampled_from(["resellable", "damaged", "wrong_item"])


@given(
    quantity=st.integers(1, 10),
    price=money,
    received=st.lists(st.tuples(st.integers(0, 15), conditions), max_size=4),
)
@settings(max_examples=150, deadline=None)
def test_a_receipt_never_refunds_more_than_the_line_asked_for_at_the_price_paid(
    quantity: int, price: Decimal, received: list[tuple[int, str]]
) -> None:
    line = ReturnLine(sku="SKU-1", quantity=quantity, reason="changed_mind", unit_price=price)
    got = [ReceivedLine(sku="SKU-1", quantity=q, condition=c) for q, c in received]  # type: ignore[arg-type]
    [after] = apply_receipt([line], got)
    assert after.received <= quantity
    due = refund_due(after)
    assert Decimal(0) <= due <= price * quantity
    # Wrong items are not the product: they are never paid back.
    assert due == price * (after.received_resellable + after.received_damaged)


refund_attempts = st.lists(
    st.tuples(st.integers(0, 5), money), min_size=1, max_size=12
)  # (which refund key, amount)


@given(captures=st.lists(money, min_size=0, max_size=3), attempts=refund_attempts)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_provider_never_refunds_more_than_captured_minus_refunded(
    captures: list[Decimal], attempts: list[tuple[int, Decimal]]
) -> None:
    db = empty_store()
    provider = SandboxPaymentProvider(db, decline_over=Decimal("100000"))
    with db.session() as session:
        # The sandbox's ledger is its own table, not one of the store's that empty_store empties.
        session.execute(delete(LedgerRow))
    _check(provider, captures, attempts)


def _check(
    provider: SandboxPaymentProvider, captures: list[Decimal], attempts: list[tuple[int, Decimal]]
) -> None:
    auth = provider.authorize(
        AuthorizeRequest(
            idempotency_key="O-1:authorize",
            order_id="O-1",
            amount=Decimal("5000.00"),
            currency="SEK",
            token="tok_visa",
        )
    )
    for n, amount in enumerate(captures):
        provider.capture(
            CaptureRequest(
                idempotency_key=f"O-1-S{n}:capture",
                authorization_id=auth.authorization_id,
                amount=amount,
                currency="SEK",
            )
        )
    captured = sum(captures, Decimal(0))
    accepted: dict[str, Decimal] = {}
    for key_no, amount in attempts:
        key = f"RMA-{key_no}:refund:SKU"
        request = RefundRequest(idempotency_key=key, order_id="O-1", amount=amount, currency="SEK")
        left = captured - sum(accepted.values(), Decimal(0))
        try:
            refund = provider.refund(request)
        except RefundDeclined:
            # Declined only when it really would be too much (or nothing was captured).
            assert key not in accepted and (amount > left or captured == 0)
            continue
        except PaymentRejected:
            # A key is one refund, for good: replayed for another amount it is refused.
            assert key in accepted and accepted[key] != amount
            continue
        if key in accepted:
            assert refund.amount == accepted[key] == amount  # the same refund again
        else:
            assert amount <= left
            accepted[key] = refund.amount
    ledger = provider.ledger("O-1")
    refunded = [e for e in ledger if e.kind == "refund"]
    assert sorted(e.idempotency_key for e in refunded) == sorted(accepted)
    assert sum((e.amount for e in refunded), Decimal(0)) <= captured
