"""An exchange to other variants on the time-skipping server: the price difference is
charged on the order's card or refunded, and a charge the card refuses becomes a refund."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from oms.models.orders import OrderLine
from oms.models.returns import ReturnInput, ReturnStatus, ReturnView
from tests.workflows.harness import Harness
from tests.workflows.test_return_workflow import (
    both_received,
    customer_email,
    return_input,
    start,
    status_becomes,
)
from workflows.returns import ReturnWorkflow


def _exchange(harness: Harness, *variants: tuple[str, int, str], token: str | None) -> ReturnInput:
    inp = return_input(harness, reason="wrong_size", resolution="exchange")  # TSHIRT 249 + CAP 99
    inp.exchange_for = [
        OrderLine(sku=sku, quantity=qty, unit_price=Decimal(price)) for sku, qty, price in variants
    ]
    inp.payment_token = token
    return inp


async def _received(harness: Harness, inp: ReturnInput) -> ReturnView:
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(
        ReturnWorkflow.receive,
        both_received("resellable", "resellable"),
    )
    return await handle.result()


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


async def _replacement(harness: Harness, order_id: str) -> Any:
    for _ in range(200):
        order = harness.world.orders.get(order_id)
        if order is not None and order.status in ("allocated", "backordered", "picking"):
            return order
        await asyncio.sleep(0.05)
    raise AssertionError("no replacement order")


async def test_a_dearer_variant_charges_the_difference_on_the_card(harness: Harness) -> None:
    inp = _exchange(harness, ("HOODIE", 1, "699.00"), token="tok_visa")
    final = await _received(harness, inp)
    assert final.status == ReturnStatus.CLOSED
    assert final.exchange_difference == Decimal("351.00")  # 699 - (249 + 99)
    [auth] = _calls(harness, "authorize")
    assert (auth.amount, auth.token, auth.idempotency_key) == (
        Decimal("351.00"),
        "tok_visa",
        f"{inp.rma_id}:exchange-authorize",
    )
    [capture] = _calls(harness, "capture")
    assert (capture.amount, capture.idempotency_key) == (
        Decimal("351.00"),
        f"{inp.rma_id}:exchange-capture",
    )
    assert _calls(harness, "refund") == []
    assert any(h.note == "charged the exchange's difference of 351.00 SEK" for h in final.history)
    order = await _replacement(harness, f"{inp.rma_id}-X")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("HOODIE", 1, Decimal("0.00"))
    ]
    req, _, text = customer_email(harness, inp.rma_id, "exchanged")
    assert req.context["difference_settled"] == "charged"
    assert "1 st HOODIE" in text
    assert "Prisskillnaden på 351,00 SEK har dragits från kortet" in text
    assert "utan kostnad" not in text


async def test_a_cheaper_variant_refunds_the_difference(harness: Harness) -> None:
    inp = _exchange(harness, ("TSHIRT-L", 1, "249.00"), token="tok_visa")
    final = await _received(harness, inp)
    assert final.exchange_difference == Decimal("-99.00")
    [refund] = _calls(harness, "refund")
    assert (refund.amount, refund.idempotency_key) == (
        Decimal("99.00"),
        f"{inp.rma_id}:exchange-difference",
    )
    assert _calls(harness, "authorize") == []
    order = await _replacement(harness, f"{inp.rma_id}-X")
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("TSHIRT-L", 1)]
    _, _, text = customer_email(harness, inp.rma_id, "exchanged")
    assert "1 st TSHIRT-L" in text
    assert "Prisskillnaden på 99,00 SEK har återbetalats" in text
    assert "utan kostnad" not in text


async def test_a_declined_charge_refunds_the_received_units_instead(harness: Harness) -> None:
    inp = _exchange(harness, ("HOODIE", 1, "699.00"), token="tok_declined")
    final = await _received(harness, inp)
    assert final.status == ReturnStatus.CLOSED
    assert final.exchange_order_id is None and final.exchange_difference is None
    assert final.refund_total == Decimal("348.00")
    assert _calls(harness, "capture") == []
    note = next(h.note for h in final.history if "could not be charged" in h.note)
    assert "card was declined" in note
    assert not [e for e in harness.world.emails if e.key.endswith(":exchanged")]
    subject, text = customer_email(harness, inp.rma_id, "refunded")[1:]
    assert subject == f"Återbetalning av 348,00 SEK för retur {inp.rma_id}"
    assert "kostar 351,00 SEK mer än de du skickade tillbaka" in text
    assert "har i stället återbetalat de returnerade varorna" in text


async def test_a_requested_exchange_shows_what_was_asked_for_and_who_asked(
    harness: Harness,
) -> None:
    # Support sees the variant the customer wants before any replacement order exists,
    # and the request is the caller's, not "customer" whoever asked.
    inp = _exchange(harness, ("HOODIE", 1, "699.00"), token="tok_visa")
    inp.requested_by = "dev-buyer"
    handle = await start(harness, inp)
    view = await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in view.exchange_for] == [
        ("HOODIE", 1, Decimal("699.00"))
    ]
    assert view.exchange_order_id is None
    assert view.history[0].by == "dev-buyer"
    await handle.terminate("done")
