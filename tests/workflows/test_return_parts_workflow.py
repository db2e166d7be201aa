"""ReturnWorkflow receiving a return in more than one parcel (patch
``return-partial-receipts``): each parcel is inspected, restocked and refunded on its own
keys, the return waits in ``partially_received`` for the rest until the receipt is due,
and closes when everything arrived or, naming what never arrived, when it is due."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.models.orders import OrderLine
from oms.models.returns import (
    Condition,
    ReceivedLine,
    ReceiveReturn,
    RetryRefund,
    ReturnStatus,
)
from oms.settings import Settings
from tests.workflows.harness import Harness, patches
from tests.workflows.test_return_workflow import (
    both_received,
    customer_email,
    refusal,
    return_input,
    start,
    status_becomes,
)
from workflows.returns import PARTIAL_RECEIPTS_PATCH, ReturnWorkflow
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.timeout(120)


def parcel(*units: tuple[str, int, Condition]) -> ReceiveReturn:
    return ReceiveReturn(
        warehouse_id="WH-STO",
        lines=[ReceivedLine(sku=sku, quantity=qty, condition=cond) for sku, qty, cond in units],
    )


def calls(harness: Harness, name: str) -> list[tuple[str, object]]:
    return [
        (getattr(r, "idempotency_key", None) or r.key, getattr(r, "amount", None) or r.quantity)
        for n, r in harness.world.calls
        if n == name
    ]


async def test_a_return_in_two_parcels_refunds_each_parcel_once_and_closes_with_the_last(
    harness: Harness,
) -> None:
    inp = return_input(harness, quantity=3)  # 3 x TSHIRT 249.00 + 1 x CAP 99.00
    rma = inp.rma_id
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)

    first = await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 2, "resellable")))
    assert [(ln.sku, ln.received_resellable) for ln in first.lines] == [("TSHIRT", 2), ("CAP", 0)]
    waiting = await status_becomes(handle, ReturnStatus.PARTIALLY_RECEIVED)
    assert waiting.refund_total == Decimal("498.00") and waiting.receipts == 1
    assert waiting.history[-1].note.startswith("waiting for 1 x TSHIRT, 1 x CAP by ")
    description = await handle.describe()
    attrs = {p.key.name: p.value for p in description.typed_search_attributes}
    assert (attrs["OmsStage"], attrs["OmsWaitingFor"]) == ("awaiting_receipt", "customer")
    assert attrs["OmsDeadline"] == waiting.receipt_due_at

    second = await handle.execute_update(
        ReturnWorkflow.receive, parcel(("TSHIRT", 1, "damaged"), ("CAP", 1, "resellable"))
    )
    assert second.receipts == 2
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED and final.never_arrived == {}
    assert final.refund_total == Decimal("846.00")
    assert [(ln.sku, ln.refunded) for ln in final.lines] == [
        ("TSHIRT", Decimal("747.00")),
        ("CAP", Decimal("99.00")),
    ]
    # The first parcel's keys are those of a return in one parcel; the second's carry r2.
    assert calls(harness, "refund") == [
        (f"{rma}:refund:TSHIRT", Decimal("498.00")),
        (f"{rma}:refund:TSHIRT:r2", Decimal("249.00")),
        (f"{rma}:refund:CAP:r2", Decimal("99.00")),
    ]
    assert calls(harness, "restock") == [
        (f"{rma}:restock:TSHIRT", 2),
        (f"{rma}:restock:CAP:r2", 1),
    ]
    assert calls(harness, "write_off") == [(f"{rma}:write_off:TSHIRT:r2", 1)]
    statuses = [
        h.status
        for i, h in enumerate(final.history)
        if final.history[i - 1].status != h.status or i == 0
    ]
    assert statuses[statuses.index("awaiting_receipt") :] == [
        "awaiting_receipt",
        "received",
        "refunded",
        "partially_received",
        "received",
        "refunded",
        "closed",
    ]
    keys = [k for k in harness.world.email_keys() if k.startswith(f"return:{rma}:")]
    for key in ("received", "refunded", "received:r2", "refunded:r2"):
        assert keys.count(f"return:{rma}:{key}") == 1, key
    assert f"return:{rma}:closed_short" not in keys
    req, _, _ = customer_email(harness, rma, "refunded:r2")
    assert req.context["amount"] == "348,00 SEK"  # what this parcel refunded
    # The first parcel's email says what is still to come; the last one's, nothing.
    first_mail, _, _ = customer_email(harness, rma, "received")
    assert first_mail.context["still_expected"] == [
        {"sku": "TSHIRT", "quantity": 1},
        {"sku": "CAP", "quantity": 1},
    ]
    assert first_mail.context["receipt_due"].endswith(" UTC")
    last_mail, _, _ = customer_email(harness, rma, "received:r2")
    assert last_mail.context["still_expected"] == []

    history = await handle.fetch_history()
    assert PARTIAL_RECEIPTS_PATCH in patches(history)
    replayer = Replayer(
        workflows=[ReturnWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


async def test_a_later_parcel_with_more_than_is_still_to_come_is_refused(
    harness: Harness,
) -> None:
    inp = return_input(harness, quantity=3)
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 2, "resellable")))
    await status_becomes(handle, ReturnStatus.PARTIALLY_RECEIVED)

    with pytest.raises(WorkflowUpdateFailedError) as too_many:
        await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 2, "resellable")))
    assert refusal(too_many) == "ReceiptMismatch"
    assert "only 1 of the 3 authorized are still to come" in str(too_many.value.cause)

    await handle.execute_update(
        ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable"), ("CAP", 1, "resellable"))
    )
    final = await asyncio.wait_for(handle.result(), timeout=30)
    assert final.status == ReturnStatus.CLOSED


async def test_a_parcel_that_comes_while_the_one_before_is_settled_waits_its_turn(
    harness: Harness,
) -> None:
    """The first parcel's refund is declined and waits for operations; the warehouse's next
    parcel is taken all the same (before, a 409 ``NotAwaitingReceipt`` it had to post again)
    and settled once the retry has refunded the first; a third that would bring more than
    is still to come, counting the one waiting, is refused."""
    inp = return_input(harness, quantity=3)  # 3 x TSHIRT 249.00 + 1 x CAP 99.00
    rma = inp.rma_id
    harness.world.decline_refunds_for = {"TSHIRT"}
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 2, "resellable")))
    await status_becomes(handle, ReturnStatus.REFUND_FAILED)

    second = await handle.start_update(
        ReturnWorkflow.receive,
        parcel(("TSHIRT", 1, "resellable")),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    with pytest.raises(WorkflowUpdateFailedError) as too_many:
        await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable")))
    assert refusal(too_many) == "ReceiptMismatch"
    assert "only 0 of the 3 authorized are still to come (3 already received)" in str(
        too_many.value.cause
    )

    harness.world.decline_refunds_for = set()
    await handle.execute_update(ReturnWorkflow.retry_refund, RetryRefund(by="Olle Ops"))
    assert (await asyncio.wait_for(second.result(), timeout=30)).receipts == 2
    await handle.execute_update(ReturnWorkflow.receive, parcel(("CAP", 1, "resellable")))
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED and final.never_arrived == {}
    assert final.receipts == 3 and final.refund_total == Decimal("846.00")
    assert calls(harness, "refund") == [
        (f"{rma}:refund:TSHIRT", Decimal("498.00")),
        (f"{rma}:refund:TSHIRT:retry-1", Decimal("498.00")),
        (f"{rma}:refund:TSHIRT:r2", Decimal("249.00")),
        (f"{rma}:refund:CAP:r3", Decimal("99.00")),
    ]
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[ReturnWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


async def test_units_still_missing_when_the_receipt_is_due_close_the_return_naming_them(
    mail_harness: Harness,
) -> None:
    harness = mail_harness
    inp = return_input(harness, quantity=2)
    rma = inp.rma_id
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable")))
    final = await handle.result()  # time skips to the receipt due date

    assert final.status == ReturnStatus.CLOSED
    assert final.updated_at >= final.receipt_due_at  # type: ignore[operator]
    assert final.never_arrived == {"TSHIRT": 1, "CAP": 1}
    assert final.refund_total == Decimal("249.00")
    assert final.history[-1].note == "return closed; never arrived: 1 x TSHIRT, 1 x CAP"
    assert ReturnStatus.EXPIRED.value not in [h.status for h in final.history]
    assert "void_label" not in harness.world.names()
    assert harness.smtp is not None
    [sent] = harness.smtp.messages_for(f"return:{rma}:closed_short")
    assert sent.to == "anna@example.com" and rma in sent.subject
    assert "1 st TSHIRT" in sent.text and "1 st CAP" in sent.text


async def test_an_exchange_in_parts_waits_for_every_unit_then_replaces_what_arrived(
    harness: Harness,
) -> None:
    inp = return_input(harness, quantity=2, resolution="exchange")
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable")))
    waiting = await status_becomes(handle, ReturnStatus.PARTIALLY_RECEIVED)
    assert waiting.exchange_order_id is None
    await handle.execute_update(
        ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable"), ("CAP", 1, "damaged"))
    )
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED
    assert final.exchange_order_id == f"{inp.rma_id}-X"
    assert "refund" not in harness.world.names()
    for _ in range(200):
        replacement = harness.world.orders.get(final.exchange_order_id)
        if replacement is not None:
            break
        await asyncio.sleep(0.05)
    assert replacement is not None
    assert {(ln.sku, ln.quantity) for ln in replacement.lines} == {("TSHIRT", 2), ("CAP", 1)}


async def test_an_exchange_to_other_variants_closing_short_refunds_what_arrived(
    harness: Harness,
) -> None:
    """Other variants were asked for the whole return; one unit never came back. Sending
    them all would replace, and charge the difference on, a unit the customer kept: the
    return refunds what arrived instead and sends no replacement order."""
    inp = return_input(harness, quantity=2, resolution="exchange")
    inp = inp.model_copy(
        update={
            "payment_token": "tok_visa",  # the difference could be charged
            "exchange_for": [
                OrderLine(sku="TSHIRT-L", quantity=2, unit_price=Decimal("299.00")),
                OrderLine(sku="CAP-RED", quantity=1, unit_price=Decimal("99.00")),
            ],
        }
    )
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(
        ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable"), ("CAP", 1, "resellable"))
    )
    await status_becomes(handle, ReturnStatus.PARTIALLY_RECEIVED)
    final = await asyncio.wait_for(handle.result(), timeout=60)  # the receipt falls due

    assert final.status == ReturnStatus.CLOSED and final.never_arrived == {"TSHIRT": 1}
    assert final.exchange_order_id is None and final.exchange_difference is None
    assert final.refund_total == Decimal("348.00")  # 1 x TSHIRT 249.00 + 1 x CAP 99.00
    assert ("authorize" not in harness.world.names()) and ("capture" not in harness.world.names())
    assert any("needs every unit; 1 x TSHIRT never arrived" in h.note for h in final.history)
    assert not [o for o in harness.world.orders if o.startswith(inp.rma_id)]


async def test_a_return_received_whole_takes_no_marker_and_closes_at_once(
    harness: Harness,
) -> None:
    inp = return_input(harness)
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, both_received("resellable", "damaged"))
    final = await asyncio.wait_for(handle.result(), timeout=30)
    assert final.status == ReturnStatus.CLOSED and final.receipts == 1
    assert PARTIAL_RECEIPTS_PATCH not in patches(await handle.fetch_history())


async def test_the_refund_cap_holds_over_the_parcels_of_a_return(harness: Harness) -> None:
    """497.00 left on the order: the first parcel's T-shirt is refunded in full, the second
    parcel gets what is left after it (248.00) and asks nothing for the cap."""
    harness.world.captured, harness.world.refunded_elsewhere = Decimal("597.00"), Decimal("100")
    inp = return_input(harness, quantity=3, reason="changed_mind")
    rma = inp.rma_id
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, parcel(("TSHIRT", 1, "resellable")))
    await status_becomes(handle, ReturnStatus.PARTIALLY_RECEIVED)
    await handle.execute_update(
        ReturnWorkflow.receive, parcel(("TSHIRT", 2, "resellable"), ("CAP", 1, "resellable"))
    )
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED
    assert calls(harness, "refund") == [
        (f"{rma}:refund:TSHIRT", Decimal("249.00")),
        (f"{rma}:refund:TSHIRT:r2", Decimal("248.00")),
    ]
    assert final.refund_total == Decimal("497.00")
    assert final.refund_shortfall == Decimal("349.00")
    assert ReturnStatus.REFUND_FAILED.value not in [h.status for h in final.history]
    assert harness.world.names().count("refund_room") == 2
