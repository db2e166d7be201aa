"""Cancelling units of an invoice-term order the company was already invoiced for (sent again
at no charge after a claim: the claimed parcel's invoice charged them): the company gets one
credit note for them and its credit back, on the time-skipping server. The card version is
``test_line_cancel_refund_workflow.py``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from oms.models.credit import Company, ConsumeCredit, CreditNoteRequest, ReserveCredit
from oms.models.order_changes import CancelLine, OpenClaim
from oms.models.orders import OrderStatus, PaymentDetails
from oms.store import credit
from oms.store.credit import CreditLedger
from oms.store.db import Database
from tests.workflows.harness import Harness, patches
from tests.workflows.test_line_cancel_refund_workflow import _calls, _ship, _until
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.order_lines import LINE_CREDIT_PATCH, LINE_REFUND_PATCH

pytestmark = pytest.mark.timeout(120)

COMPANY = "ACME-AB"


def _cancel(quantity: int) -> CancelLine:
    return CancelLine(sku="TSHIRT", quantity=quantity, reason="do not reship", by="support-1")


async def _invoice_order(harness: Harness, qty: int) -> tuple[str, Any]:
    order_id = f"LC-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id, qty=qty)
    inp.payment = PaymentDetails(method="invoice", po_number="PO-77", company_id=COMPANY)
    return order_id, await harness.start(inp)


async def _lost_and_reshipped(harness: Harness, qty: int) -> tuple[str, Any]:
    """An invoice order of ``qty`` TSHIRT (199.00 each) whose parcel S1 shipped (invoiced),
    was lost and is reshipped at no charge as S2."""
    order_id, handle = await _invoice_order(harness, qty)
    await _ship(harness, f"{order_id}-S1")
    await _until(handle, lambda v: v.status == OrderStatus.SHIPPED, "shipped")
    harness.world.stock = {"TSHIRT": qty}
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1",
        kind="lost",
        resolution="reship",
        reason="no scan for 9 days",
        by="support-1",
    )
    await handle.execute_update(OrderWorkflow.open_claim, claim)
    return order_id, handle


def _ledger(url: str) -> tuple[Database, CreditLedger]:
    db = Database(url)
    with db.session() as session:
        credit.upsert_company(
            session,
            Company(company_id=COMPANY, name="Acme Bygg AB", credit_limit=Decimal("10000.00")),
        )
    return db, CreditLedger(db)


def _available(db: Database) -> Decimal:
    with db.session() as session:
        return credit.status(session, COMPANY).available


async def test_cancelling_reshipped_units_credits_what_the_lost_parcel_invoiced(
    harness: Harness, migrated_sqlite_url: str
) -> None:
    # Before, nothing was given back: no refund (no card) and no credit note, so the
    # company stayed invoiced 597.00 for an order that now comes to 398.00.
    harness.world.credit_note_unavailable = 1  # the first answer is lost: retried, same key
    order_id, handle = await _lost_and_reshipped(harness, qty=3)
    [invoiced] = _calls(harness, "consume_credit")
    assert (invoiced.shipment_id, invoiced.amount) == (f"{order_id}-S1", Decimal("597.00"))

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    [cancelled] = view.line_cancellations
    key = f"{order_id}:line-credit:1"
    assert cancelled.from_shipments == {f"{order_id}-S2": 1}
    assert (cancelled.amount, cancelled.refunded, cancelled.released) == (
        Decimal("199.00"),
        Decimal("199.00"),
        Decimal("0.00"),
    )
    assert (cancelled.credit_note, cancelled.refund_id, cancelled.refund_error) == (
        "CN-000001",
        None,
        None,
    )
    asked: list[CreditNoteRequest] = _calls(harness, "credit_note")
    # Two attempts of one activity, on one key: the ledger issues one note.
    assert [(n.key, n.amount, n.sku, n.quantity) for n in asked] == [
        (key, Decimal("199.00"), "TSHIRT", 1)
    ] * 2
    assert list(harness.world.credit_notes) == [key]
    # Nothing of a card is asked.
    assert not _calls(harness, "refund") and not _calls(harness, "void_authorization")
    assert view.history[-1].note == (
        f"Line cancelled by support-1: TSHIRT x1 (1 from {order_id}-S2): do not reship; "
        "total -199.00 SEK, 199.00 SEK credited to the company (credit note CN-000001)"
    )
    [email] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert (email.context["refunded"], email.context["on_account"]) == ("199,00 SEK", True)
    assert (email.context["credit_notes"], email.context["not_charged"]) == (["CN-000001"], False)

    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert (await handle.query(OrderWorkflow.state)).total == Decimal("398.00")
    assert list(harness.world.credit_notes) == [key]  # the order's end issues no other
    history = await handle.fetch_history()
    assert patches(history).count(LINE_CREDIT_PATCH) == 1
    assert LINE_REFUND_PATCH not in patches(history)

    # The ledger calls the order made, applied to the real ledger: the company's available
    # credit grows by the note, once, however often the activity is retried.
    db, ledger = _ledger(migrated_sqlite_url)
    try:
        [reserved] = _calls(harness, "reserve_credit")
        assert isinstance(reserved, ReserveCredit)
        ledger.reserve(reserved)
        consumed: list[ConsumeCredit] = _calls(harness, "consume_credit")
        for consume in consumed:
            ledger.consume(consume)
        before = _available(db)
        notes = [ledger.credit_note(req) for req in asked]
        assert {n.number for n in notes} == {notes[0].number}
        assert notes[0].amount == Decimal("199.00")
        assert _available(db) == before + Decimal("199.00")
    finally:
        db.dispose()


async def test_a_refused_credit_note_keeps_the_cancellation_and_says_what_to_do(
    harness: Harness,
) -> None:
    # The claimed parcel's invoice was already credited (say, by a refund without a return).
    harness.world.credit_note_room = Decimal("0.00")
    order_id, handle = await _lost_and_reshipped(harness, qty=3)

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    cancelled = view.line_cancellations[-1]
    assert (cancelled.refunded, cancelled.credit_note) == (Decimal("0.00"), None)
    assert cancelled.refund_error is not None and "CreditNoteRefused" in cancelled.refund_error
    assert view.total == Decimal("398.00")
    assert view.history[-1].note.endswith(
        "the credit note for what was invoiced for them was refused (CreditNoteRefused: more "
        "than invoiced): credit it with POST /orders/{id}/refunds"
    )
    [email] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert (email.context["refunded"], email.context["refund_due"]) == ("", True)
    assert email.context["on_account"] is True and email.context["credit_notes"] == []
    # Refused once and not asked again: the order goes on and completes.
    assert len(_calls(harness, "credit_note")) == 1
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_cancelling_units_never_invoiced_credits_nothing_and_asks_no_patch(
    harness: Harness,
) -> None:
    # Nothing shipped, so nothing was invoiced: the units just come off the order.
    order_id, handle = await _invoice_order(harness, qty=3)
    await _until(handle, lambda v: v.shipments, "a shipment")

    view = await handle.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    cancelled = view.line_cancellations[-1]
    assert (cancelled.amount, cancelled.refunded, cancelled.credit_note) == (
        Decimal("199.00"),
        Decimal("0.00"),
        None,
    )
    assert not _calls(harness, "credit_note")
    [email] = [e for e in harness.world.emails if e.template == "order_line_cancelled"]
    assert email.context["refunded"] == "" and email.context["on_account"] is True
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    history = await handle.fetch_history()
    assert LINE_CREDIT_PATCH not in patches(history)


async def test_a_continued_run_credits_owed_free_units_on_keys_that_stay_unique(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    # S1 (3 units, invoiced) is lost and nothing is in stock: the reship owes all 3 at no
    # charge, and the order waits for stock across runs.
    order_id = f"LC-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id, qty=3, recheck_s=24 * 3600, pick_sla_s=400 * 24 * 3600)
    inp.payment = PaymentDetails(method="invoice", po_number="PO-77", company_id=COMPANY)
    inp.options = inp.options.model_copy(update={"continue_as_new_after_events": 200})
    first = await harness.start(inp)
    await _ship(harness, f"{order_id}-S1")
    await _until(first, lambda v: v.status == OrderStatus.SHIPPED, "shipped")
    harness.world.stock = {"TSHIRT": 0}
    claim = OpenClaim(
        shipment_id=f"{order_id}-S1", kind="lost", resolution="reship", reason="lost", by="s"
    )
    await first.execute_update(OrderWorkflow.open_claim, claim)
    latest = harness.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    await latest.execute_update(OrderWorkflow.cancel_line, _cancel(1))

    await env.sleep(timedelta(days=60))
    history = await latest.fetch_history()
    assert first.result_run_id is not None and history.run_id != first.result_run_id

    # The new run credits the next owed unit on the next key, not the first again.
    view = await latest.execute_update(OrderWorkflow.cancel_line, _cancel(1))
    assert view.line_cancellations[-1].refunded == Decimal("199.00")
    assert [(n.key, n.amount) for n in _calls(harness, "credit_note")] == [
        (f"{order_id}:line-credit:1", Decimal("199.00")),
        (f"{order_id}:line-credit:2", Decimal("199.00")),
    ]
    # Each run asked the patch for its own cancel.
    assert LINE_CREDIT_PATCH in patches(await first.fetch_history())
    assert LINE_CREDIT_PATCH in patches(await latest.fetch_history())
