"""An exchange to other variants on the time-skipping server: the price difference is
charged on the order's card or refunded, and a charge the card refuses becomes a refund."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import temporalio.workflow
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.models.orders import OrderLine
from oms.models.returns import (
    Condition,
    ReceivedLine,
    ReceiveReturn,
    ReturnInput,
    ReturnStatus,
    ReturnView,
)
from oms.settings import Settings
from tests.workflows.harness import Harness, patches
from tests.workflows.test_return_workflow import (
    both_received,
    customer_email,
    return_input,
    start,
    status_becomes,
)
from workflows.returns import RECEIVED_UNITS_PATCH, ReturnWorkflow
from workflows.sandbox import workflow_runner


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


# --- units received as wrong_item are neither refunded nor replaced ---------------------------


def _two_shirts(harness: Harness, variant: str, price: str) -> ReturnInput:
    """2 x TSHIRT (249.00) returned for 2 x ``variant`` at ``price``, paid by card."""
    inp = return_input(harness, quantity=2, resolution="exchange")
    return inp.model_copy(
        update={
            "lines": inp.lines[:1],
            "exchange_for": [OrderLine(sku=variant, quantity=2, unit_price=Decimal(price))],
            "payment_token": "tok_visa",
        }
    )


async def _received_as(
    harness: Harness, inp: ReturnInput, *conditions: Condition
) -> tuple[ReturnView, list[str]]:
    """The return's final view once its shirts arrived, one per condition, and its patches."""
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    lines = [ReceivedLine(sku="TSHIRT", quantity=1, condition=c) for c in conditions]
    await handle.execute_update(
        ReturnWorkflow.receive, ReceiveReturn(warehouse_id="WH-STO", lines=lines)
    )
    final = await asyncio.wait_for(handle.result(), timeout=30)
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[ReturnWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
    return final, patches(history)


async def test_a_wrong_item_is_not_replaced_by_an_exchange_to_other_variants(
    harness: Harness,
) -> None:
    """The tester's A-2001: 2 x M for 2 x L, one M came back as a wrong item. Only one L
    is sent and, at the same price, nothing is charged."""
    inp = _two_shirts(harness, "TSHIRT-L", "249.00")
    final, took = await _received_as(harness, inp, "resellable", "wrong_item")

    assert final.status == ReturnStatus.CLOSED
    order = await _replacement(harness, f"{inp.rma_id}-X")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("TSHIRT-L", 1, Decimal("0.00"))
    ]
    assert RECEIVED_UNITS_PATCH in took
    assert [(ln.sku, ln.quantity) for ln in final.exchange_sent] == [("TSHIRT-L", 1)]
    assert final.exchange_difference == Decimal("0.00")
    assert _calls(harness, "authorize") == [] and _calls(harness, "capture") == []
    assert _calls(harness, "refund") == []
    assert final.refund_total == Decimal("0.00")
    assert any(
        h.note == "exchanging only for the units received as the product: sending "
        "1 x TSHIRT-L; 1 x TSHIRT not received as the product is neither refunded nor replaced"
        for h in final.history
    )
    received, _, _ = customer_email(harness, inp.rma_id, "received")
    assert received.context["wrong_items"] == [{"sku": "TSHIRT", "quantity": 1}]
    assert received.context["settles"] is True
    exchanged, _, text = customer_email(harness, inp.rma_id, "exchanged")
    assert exchanged.context["items"] == [{"sku": "TSHIRT-L", "quantity": 1}]
    assert exchanged.context["difference_settled"] == ""
    assert "1 st TSHIRT-L" in text and "2 st" not in text
    assert "Ersättningen kostar dig ingenting" in text


async def test_a_dearer_variant_for_a_wrong_item_charges_the_difference_of_one_unit(
    harness: Harness,
) -> None:
    inp = _two_shirts(harness, "TSHIRT-XL", "299.00")
    final, _ = await _received_as(harness, inp, "wrong_item", "resellable")

    assert final.exchange_difference == Decimal("50.00")  # 1 x 299 - 1 x 249
    [auth] = _calls(harness, "authorize")
    [capture] = _calls(harness, "capture")
    assert auth.amount == capture.amount == Decimal("50.00")
    order = await _replacement(harness, f"{inp.rma_id}-X")
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("TSHIRT-XL", 1)]
    exchanged, _, text = customer_email(harness, inp.rma_id, "exchanged")
    assert exchanged.context["items"] == [{"sku": "TSHIRT-XL", "quantity": 1}]
    assert "Prisskillnaden på 50,00 SEK har dragits från kortet" in text


async def test_an_exchange_of_only_wrong_items_sends_and_charges_nothing(
    harness: Harness,
) -> None:
    inp = _two_shirts(harness, "TSHIRT-XL", "299.00")
    final, took = await _received_as(harness, inp, "wrong_item", "wrong_item")

    assert final.status == ReturnStatus.CLOSED
    assert final.exchange_order_id is None and final.exchange_difference is None
    assert final.refund_total == Decimal("0.00")
    assert [n for n, _ in harness.world.calls if n in ("authorize", "capture", "refund")] == []
    assert not [o for o in harness.world.orders if o.startswith(inp.rma_id)]
    assert RECEIVED_UNITS_PATCH not in took  # nothing replaced: the old rule said so too
    received, _, _ = customer_email(harness, inp.rma_id, "received")
    assert received.context["wrong_items"] == [{"sku": "TSHIRT", "quantity": 2}]
    assert received.context["settles"] is False
    assert not [e for e in harness.world.emails if e.key.endswith(":exchanged")]


async def test_variants_with_no_unit_for_unit_match_refund_what_came_back(
    harness: Harness,
) -> None:
    """A T-shirt and a cap for one hoodie, the cap a wrong item: no share of the hoodie is
    the T-shirt's, so the T-shirt is refunded and nothing is sent or charged."""
    inp = _exchange(harness, ("HOODIE", 1, "699.00"), token="tok_visa")
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, both_received("resellable", "wrong_item"))
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.exchange_order_id is None and final.exchange_difference is None
    assert final.refund_total == Decimal("249.00")
    assert _calls(harness, "authorize") == []
    assert any("no unit-for-unit match" in h.note for h in final.history)
    assert not [o for o in harness.world.orders if o.startswith(inp.rma_id)]
    refunded, _, _ = customer_email(harness, inp.rma_id, "refunded")
    assert refunded.context["exchange_not_charged"] == ""


async def test_a_run_from_before_the_patch_still_sends_every_variant(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that replays without the marker keeps what it did: every variant asked for."""
    patched = temporalio.workflow.patched

    def before_the_patch(patch_id: str) -> bool:
        return False if patch_id == RECEIVED_UNITS_PATCH else patched(patch_id)

    monkeypatch.setattr(temporalio.workflow, "patched", before_the_patch)
    inp = _two_shirts(harness, "TSHIRT-L", "249.00")
    final, took = await _received_as(harness, inp, "resellable", "wrong_item")

    assert RECEIVED_UNITS_PATCH not in took
    order = await _replacement(harness, f"{inp.rma_id}-X")
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("TSHIRT-L", 2)]
    assert final.exchange_difference == Decimal("249.00") and final.exchange_sent == []
