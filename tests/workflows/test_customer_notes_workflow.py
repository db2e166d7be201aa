"""A caller's reason is internal; the customer's email gives the note chosen for them.

Before: ``oms ops cancel R1 --reason "fraud suspected"`` emailed the customer "Orsak: fraud
suspected", and a line cancellation's and an edit's email quoted the caller's reason too.
Now the reason stays in the order's history; the email says ``customer_note`` (the one the
caller chose, or a buyer's own reason, which the API passes as the note) or no reason.

The real email activity, outbox and an SMTP server (``mail_harness``; the test customer
reads Swedish), fakes for the rest, on the time-skipping server.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from oms.models.order_changes import CancelLine, EditLine, EditOrder
from oms.models.orders import CancelOrder, OrderStatus
from tests.workflows.harness import Harness, tick
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.timeout(120)

NOTE = "vi kunde inte verifiera betalningen"


def _id() -> str:
    return f"N-{uuid.uuid4().hex[:6]}"


async def _picking(harness: Harness, order_id: str) -> WorkflowHandle[Any, Any]:
    handle = await harness.start(harness.order_input(order_id, qty=3))
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.PICKING:
            return handle
        await tick()
    raise AssertionError("never picking")


def _text(harness: Harness, key: str) -> str:
    assert harness.smtp is not None
    [email] = harness.smtp.messages_for(key)
    return email.text


@pytest.mark.parametrize("note", [None, NOTE])
async def test_an_operators_cancel_reason_stays_in_the_history(
    mail_harness: Harness, note: str | None
) -> None:
    order_id = _id()
    handle = await _picking(mail_harness, order_id)
    cancel = CancelOrder(reason="fraud suspected", requested_by="ops:dev-ops", customer_note=note)
    view = await handle.execute_update(OrderWorkflow.cancel, cancel)
    await handle.result()

    text = _text(mail_harness, f"{order_id}:cancelled")
    assert "fraud" not in text
    if note is None:
        assert "Orsak:" not in text
    else:
        assert f"Orsak: {NOTE}\n" in text
    view = await handle.query(OrderWorkflow.state)
    assert (view.cancel_reason, view.cancel_note) == ("fraud suspected", note)
    assert any(h.note == "Cancelled by ops:dev-ops: fraud suspected" for h in view.history)


async def test_a_line_cancellation_email_gives_the_note_not_the_reason(
    mail_harness: Harness,
) -> None:
    order_id = _id()
    handle = await _picking(mail_harness, order_id)
    internal = CancelLine(sku="TSHIRT", quantity=1, reason="damaged stock", by="support-1")
    noted = internal.model_copy(update={"customer_note": NOTE})
    await handle.execute_update(OrderWorkflow.cancel_line, internal)
    view = await handle.execute_update(OrderWorkflow.cancel_line, noted)

    first = _text(mail_harness, f"{order_id}:line-cancel:1")
    assert "damaged" not in first and "Orsak:" not in first
    second = _text(mail_harness, f"{order_id}:line-cancel:2")
    assert f"Orsak: {NOTE}\n" in second and "damaged" not in second
    assert [c.reason for c in view.line_cancellations] == ["damaged stock"] * 2


async def test_an_edit_email_gives_the_note_not_the_reason(mail_harness: Harness) -> None:
    order_id = _id()
    handle = await _picking(mail_harness, order_id)
    edit = EditOrder(
        lines=[EditLine(sku="TSHIRT", quantity=2)],
        reason="supplier short",
        by="support-1",
        customer_note=NOTE,
    )
    view = await handle.execute_update(OrderWorkflow.edit, edit)

    text = _text(mail_harness, f"{order_id}:changed:1")
    assert f"Orsak: {NOTE}\n" in text and "supplier" not in text
    assert view.history[-1].note.startswith("Edited by support-1: TSHIRT 3 -> 2: supplier short")
