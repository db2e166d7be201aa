"""ReturnWorkflow for an order on invoice terms: each refunded line is a credit note (once
per return and line) instead of a card refund, and a note refused waits for a retry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from oms.models.returns import ReceivedLine, ReceiveReturn, RetryRefund, ReturnStatus
from tests.workflows.harness import Harness, patches
from tests.workflows.test_return_workflow import (
    customer_email,
    return_input,
    start,
    status_becomes,
)
from workflows.return_receipt import CREDIT_NOTE_PATCH
from workflows.returns import ReturnWorkflow

pytestmark = pytest.mark.timeout(120)

RECEIVED = ReceiveReturn(
    warehouse_id="WH-STO",
    lines=[
        ReceivedLine(sku="TSHIRT", quantity=1, condition="resellable"),
        ReceivedLine(sku="CAP", quantity=1, condition="damaged"),
    ],
)


async def test_an_invoice_order_return_is_refunded_with_one_credit_note_per_line(
    harness: Harness,
) -> None:
    inp = return_input(harness, reason="changed_mind")
    inp.invoice_terms = True
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, RECEIVED)
    final = await handle.result()

    assert final.status == ReturnStatus.CLOSED
    assert "refunded" in [h.status for h in final.history]
    assert final.refund_total == Decimal("348.00")
    notes = [req for name, req in harness.world.calls if name == "credit_note"]
    assert [(n.key, n.sku, n.amount, n.quantity) for n in notes] == [
        (f"{inp.rma_id}:refund:TSHIRT", "TSHIRT", Decimal("249.00"), 1),
        (f"{inp.rma_id}:refund:CAP", "CAP", Decimal("99.00"), 1),
    ]
    assert "refund" not in harness.world.names()  # no card provider asked
    assert any("credit note CN-" in h.note for h in final.history)
    req, subject, text = customer_email(harness, inp.rma_id, "refunded")
    numbers = req.context["credit_notes"]
    assert len(numbers) == 2 and all(n.startswith("CN-") for n in numbers)
    assert subject == f"Kreditnotor {', '.join(numbers)} på 348,00 SEK för retur {inp.rma_id}"
    assert "krediteras ert företags konto" in text
    assert "betalsätt du använde" not in text and "syns på ditt konto" not in text
    history = await handle.fetch_history()
    assert CREDIT_NOTE_PATCH in patches(history)


async def test_a_card_return_records_no_credit_note_patch(harness: Harness) -> None:
    inp = return_input(harness, reason="changed_mind")
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, RECEIVED)
    await handle.result()

    assert "credit_note" not in harness.world.names()
    history = await handle.fetch_history()
    assert CREDIT_NOTE_PATCH not in patches(history)


async def test_a_refused_credit_note_waits_and_a_retry_credits_the_rest_once(
    harness: Harness,
) -> None:
    harness.world.credit_note_room = Decimal("300.00")  # the CAP's 99.00 does not fit
    inp = return_input(harness, reason="changed_mind")
    inp.invoice_terms = True
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(ReturnWorkflow.receive, RECEIVED)
    failed = await status_becomes(handle, ReturnStatus.REFUND_FAILED)
    assert failed.refund_error is not None and "CreditNoteRefused" in failed.refund_error
    assert failed.refund_total == Decimal("249.00")

    harness.world.credit_note_room = Decimal("99.00")
    await handle.execute_update(ReturnWorkflow.retry_refund, RetryRefund(by="finance"))
    final = await handle.result()
    assert final.refund_total == Decimal("348.00")
    keys = [req.key for name, req in harness.world.calls if name == "credit_note"]
    # TSHIRT credited once; CAP asked twice under its one key (the store issues it once).
    assert keys.count(f"{inp.rma_id}:refund:TSHIRT") == 1
    assert keys.count(f"{inp.rma_id}:refund:CAP") == 2
    assert harness.world.credit_note_room == Decimal("0.00")


def test_the_saved_credit_note_history_took_the_credit_note_path() -> None:
    """``return_credit_note_settled.json`` (``record.py invoice_return``), which the replay
    tests replay, is a run of the new path: the patch and the credit note activity."""
    path = Path(__file__).resolve().parents[1] / "histories" / "return_credit_note_settled.json"
    history = WorkflowHistory.from_json("return", path.read_text())
    assert CREDIT_NOTE_PATCH in patches(history)
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "credit.credit_note" in scheduled and "payments.refund" not in scheduled
