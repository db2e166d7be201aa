"""ReturnWorkflow on the time-skipping server: authorization, receipt timeout, refunds, retries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import temporalio.workflow
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.adapters.email_smtp import SmtpMailer
from oms.client import data_converter
from oms.domain import lifecycle
from oms.ids import order_workflow_id
from oms.models.common import Address, Customer
from oms.models.orders import OrderOptions
from oms.models.returns import (
    AuthorizeReturn,
    Condition,
    ReceivedLine,
    ReceiveReturn,
    RejectReturn,
    RetryRefund,
    ReturnInput,
    ReturnLine,
    ReturnOptions,
    ReturnStatus,
    ReturnView,
)
from oms.settings import WORKFLOW_QUEUE, Settings
from oms.views import returns as return_views
from tests.workflows.harness import Harness, patches, tick
from workflows.returns import REFUND_CAP_PATCH, ReturnWorkflow, return_workflow_id
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.timeout(120)


def customer_email(harness: Harness, rma_id: str, key: str) -> tuple[Any, str, str]:
    """The return's customer email ``key``: its request, rendered subject and text."""
    [req] = [e for e in harness.world.emails if e.key == f"return:{rma_id}:{key}"]
    mailer = SmtpMailer("127.0.0.1", 1, "orders@oms.example", timeout=5)
    rendered = mailer.render(req.template, req.locale, req.context)
    return req, rendered.subject, rendered.text


def return_input(
    harness: Harness,
    *,
    reason: str = "wrong_size",
    unit_price: str = "249.00",
    quantity: int = 1,
    resolution: str = "refund",
) -> ReturnInput:
    rma_id = f"RMA-T-{uuid.uuid4().hex[:6]}"
    return ReturnInput(
        rma_id=rma_id,
        order_id="O-1",
        customer=Customer(id="C-1", name="Anna Lindqvist", email="anna@example.com", locale="sv"),
        currency="SEK",
        ship_to=Address(
            name="Anna Lindqvist",
            line1="Drottninggatan 53",
            postal_code="111 21",
            city="Stockholm",
            country="SE",
        ),
        lines=[
            ReturnLine(
                sku="TSHIRT",
                quantity=quantity,
                reason=reason,  # type: ignore[arg-type]
                unit_price=Decimal(unit_price),
            ),
            ReturnLine(sku="CAP", quantity=1, reason=reason, unit_price=Decimal("99.00")),  # type: ignore[arg-type]
        ],
        resolution=resolution,  # type: ignore[arg-type]
        requested_at=datetime.now(UTC),
        options=ReturnOptions(
            task_queue_prefix=harness.prefix,
            order_options=OrderOptions(task_queue_prefix=harness.prefix),
        ),
    )


async def start(harness: Harness, inp: ReturnInput) -> WorkflowHandle[Any, ReturnView]:
    handle = await harness.client.start_workflow(
        ReturnWorkflow.run,
        inp,
        id=return_workflow_id(inp.rma_id),
        task_queue=harness.prefix + WORKFLOW_QUEUE,
    )
    harness.track(handle)
    return handle


def both_received(tshirt: Condition, cap: Condition) -> ReceiveReturn:
    """The warehouse's receipt at WH-STO of the return's two units, in these conditions."""
    return ReceiveReturn(
        warehouse_id="WH-STO",
        lines=[
            ReceivedLine(sku="TSHIRT", quantity=1, condition=tshirt),
            ReceivedLine(sku="CAP", quantity=1, condition=cap),
        ],
    )


async def status_becomes(
    handle: WorkflowHandle[Any, ReturnView], status: ReturnStatus
) -> ReturnView:
    for _ in range(400):
        view = await handle.query(ReturnWorkflow.state)
        if view.status == status:
            return view
        await tick()
    raise AssertionError(f"return never became {status}: {view.status}")


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str | None:
    cause = err.value.cause
    return cause.type if isinstance(cause, ApplicationError) else None


async def test_unreceived_return_expires_after_30_days_and_the_customer_is_emailed(
    mail_harness: Harness,
) -> None:
    harness = mail_harness
    inp = return_input(harness)
    handle = await start(harness, inp)
    final = await handle.result()  # time skips through the 30-day receipt window

    assert final.status == ReturnStatus.EXPIRED
    assert final.label is not None and final.label.tracking_number == f"SBR{inp.rma_id}"
    expired_at = final.history[-1].at
    assert expired_at - final.requested_at >= timedelta(days=30)
    assert ("void_label", "RL-" + inp.rma_id) in [
        (name, getattr(req, "label_id", None)) for name, req in harness.world.calls
    ]
    assert harness.smtp is not None
    for key in ("requested", "authorized", "expired"):
        assert len(harness.smtp.messages_for(f"return:{inp.rma_id}:{key}")) == 1, key
    [expired] = harness.smtp.messages_for(f"return:{inp.rma_id}:expired")
    assert expired.to == "anna@example.com"
    assert inp.rma_id in expired.subject and "gått ut" in expired.subject
    assert not [name for name, _ in harness.world.calls if name == "refund"]


async def test_small_return_is_authorized_received_restocked_and_refunded_per_line(
    harness: Harness,
) -> None:
    inp = return_input(harness, reason="changed_mind")  # 348 SEK: under the threshold
    handle = await start(harness, inp)
    view = await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    assert view.authorization == "automatic"

    received = await handle.execute_update(
        ReturnWorkflow.receive,
        both_received("resellable", "wrong_item"),
    )
    assert received.received_at_warehouse == "WH-STO"
    final = await handle.result()

    assert final.status == ReturnStatus.CLOSED
    assert [h.status for h in final.history if h.status == "refunded"]
    assert final.refund_total == Decimal("249.00")
    refunds = [req for name, req in harness.world.calls if name == "refund"]
    assert [(r.idempotency_key, r.amount) for r in refunds] == [
        (f"{inp.rma_id}:refund:TSHIRT", Decimal("249.00"))
    ]
    restocks = [req for name, req in harness.world.calls if name == "restock"]
    assert [(r.sku, r.quantity, r.warehouse_id) for r in restocks] == [("TSHIRT", 1, "WH-STO")]
    assert final.manual_review and "CAP" in final.manual_review[0]
    req, _, text = customer_email(harness, inp.rma_id, "received")
    assert req.context["wrong_items"] == [{"sku": "CAP", "quantity": 1}]
    assert "1 st CAP" in text and "kundtjänst kontaktar dig om dem" in text
    assert "återbetalningen eller ersättningen för de övriga varorna" in text


async def test_a_parcel_of_only_wrong_items_tells_the_customer_support_contacts_them(
    harness: Harness,
) -> None:
    """The walkthrough: every unit arrives as a wrong item, so nothing is refunded and the
    return closes; the received email must not promise a refund that never comes."""
    inp = return_input(harness, reason="changed_mind")
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(
        ReturnWorkflow.receive,
        both_received("wrong_item", "wrong_item"),
    )
    final = await handle.result()

    assert final.status == ReturnStatus.CLOSED and final.refund_total == 0
    req, _, text = customer_email(harness, inp.rma_id, "received")
    assert req.context["settles"] is False
    assert "1 st TSHIRT" in text and "1 st CAP" in text
    assert "returen avslutas utan återbetalning eller ersättning" in text
    assert "Vår kundtjänst kontaktar dig" in text
    assert "när återbetalningen eller ersättningen" not in text
    assert [e.key for e in harness.world.emails if e.key.startswith(f"return:{inp.rma_id}:")][
        -1
    ].endswith(":received")


async def test_expensive_return_waits_for_support_who_can_reject_it(harness: Harness) -> None:
    inp = return_input(harness, reason="changed_mind", unit_price="2500.00")
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.REQUESTED)
    for _ in range(100):
        if (await handle.query(ReturnWorkflow.state)).history[-1].note.startswith("needs"):
            break
        await tick()
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(
            ReturnWorkflow.receive,
            ReceiveReturn(
                warehouse_id="WH-STO",
                lines=[ReceivedLine(sku="TSHIRT", quantity=1, condition="resellable")],
            ),
        )
    assert refusal(early) == "NotAwaitingReceipt"

    view = await handle.execute_update(
        ReturnWorkflow.reject, RejectReturn(by="Stina Support", reason="worn")
    )
    assert view.status == ReturnStatus.REJECTED
    final = await handle.result()
    assert final.rejection_reason == "worn"
    assert f"return:{inp.rma_id}:rejected" in harness.world.email_keys()
    assert not [name for name, _ in harness.world.calls if name == "buy_return_label"]


async def test_manual_authorization_then_exchange_starts_a_free_replacement_order(
    harness: Harness,
) -> None:
    inp = return_input(harness, reason="defective", unit_price="2500.00", resolution="exchange")
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.REQUESTED)
    view = None
    for _ in range(100):
        try:
            view = await handle.execute_update(
                ReturnWorkflow.authorize, AuthorizeReturn(by="Stina Support")
            )
            break
        except WorkflowUpdateFailedError:
            await tick()  # not yet waiting for a decision
    assert view is not None and view.authorization == "manual"
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(
        ReturnWorkflow.receive,
        both_received("damaged", "resellable"),
    )
    final = await handle.result()
    assert final.status == ReturnStatus.CLOSED
    assert final.exchange_order_id == f"{inp.rma_id}-X"
    assert not [name for name, _ in harness.world.calls if name == "refund"]
    write_offs = [req for name, req in harness.world.calls if name == "write_off"]
    assert [(w.sku, w.quantity) for w in write_offs] == [("TSHIRT", 1)]
    for _ in range(200):
        replacement = harness.world.orders.get(final.exchange_order_id)
        if replacement is not None and replacement.status in ("allocated", "backordered"):
            break
        await asyncio.sleep(0.05)
    assert replacement is not None
    assert replacement.total == Decimal("0.00")
    assert {(ln.sku, ln.quantity) for ln in replacement.lines} == {("TSHIRT", 1), ("CAP", 1)}
    assert not [name for name, _ in harness.world.calls if name == "authorize"]
    # Found as an order by /ops/stuck and the stage query, like an order the API starts.
    described = await harness.client.get_workflow_handle(
        order_workflow_id(final.exchange_order_id)
    ).describe()
    attrs = {p.key.name: p.value for p in described.typed_search_attributes}
    assert (attrs["OmsKind"], attrs["OmsCustomerId"], attrs["OmsChannel"]) == (
        "order",
        inp.customer.id,
        "exchange",
    )


async def test_declined_refund_waits_for_operations_and_a_retry_refunds_once(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    inp = return_input(harness, reason="wrong_size")
    harness.world.decline_refunds_for = {"CAP"}
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(
        ReturnWorkflow.receive,
        both_received("resellable", "resellable"),
    )
    view = await status_becomes(handle, ReturnStatus.REFUND_FAILED)
    assert view.refund_error and "RefundDeclined" in view.refund_error
    assert view.refund_total == Decimal("249.00")  # the first line was refunded
    description = await handle.describe()
    attrs = description.typed_search_attributes
    assert {p.key.name: p.value for p in attrs}["OmsStage"] == "refund_failed"
    assert {p.key.name: p.value for p in attrs}["OmsWaitingFor"] == "operations"
    # The status is set just before the ops email activity runs: wait for the email.
    key = f"return:{inp.rma_id}:ops:refund_failed"
    for _ in range(400):
        if key in harness.world.email_keys():
            break
        await tick()
    assert key in harness.world.email_keys()

    harness.world.decline_refunds_for = set()
    await handle.execute_update(ReturnWorkflow.retry_refund, RetryRefund(by="Olle Ops"))
    final = await handle.result()
    assert final.status == ReturnStatus.CLOSED
    assert final.refund_total == Decimal("348.00")
    keys = [r.idempotency_key for name, r in harness.world.calls if name == "refund"]
    # The refunded line is never asked again; the declined one is retried on a new key (the
    # provider keeps its decline under the first: asked again there, it declines again).
    assert keys == [
        f"{inp.rma_id}:refund:TSHIRT",
        f"{inp.rma_id}:refund:CAP",
        f"{inp.rma_id}:refund:CAP:retry-1",
    ]
    assert set(harness.world.refunds) == {
        f"{inp.rma_id}:refund:TSHIRT",
        f"{inp.rma_id}:refund:CAP:retry-1",
    }


# --- a return on an order already (mostly) refunded without a return --------------------


async def _received_both(harness: Harness, inp: ReturnInput) -> WorkflowHandle[Any, ReturnView]:
    handle = await start(harness, inp)
    await status_becomes(handle, ReturnStatus.AWAITING_RECEIPT)
    await handle.execute_update(
        ReturnWorkflow.receive,
        both_received("resellable", "resellable"),
    )
    return handle


def _refund_calls(harness: Harness) -> list[tuple[str, Decimal]]:
    return [(r.idempotency_key, r.amount) for name, r in harness.world.calls if name == "refund"]


async def test_a_return_refunds_only_what_is_left_on_the_order_and_closes(
    harness: Harness,
) -> None:
    # Captured 597.00, of which 500.00 were refunded without a return: 97.00 left.
    harness.world.captured, harness.world.refunded_elsewhere = Decimal("597.00"), Decimal("500")
    inp = return_input(harness, reason="changed_mind")  # TSHIRT 249.00 + CAP 99.00
    handle = await _received_both(harness, inp)
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED
    assert final.refund_error is None
    assert final.refund_total == Decimal("97.00")
    assert final.refund_shortfall == Decimal("251.00")
    # One provider call, for what was left; the CAP had nothing left and was not asked.
    assert _refund_calls(harness) == [(f"{inp.rma_id}:refund:TSHIRT", Decimal("97.00"))]
    assert [ln.refunded for ln in final.lines] == [Decimal("97.00"), Decimal("0.00")]
    notes = [h.note for h in final.history]
    assert "refunded 97.00 of 348.00: the rest was already refunded on the order" in notes
    assert ReturnStatus.REFUND_FAILED.value not in [h.status for h in final.history]
    shown = return_views.details(final, lifecycle.done("closed"), final.updated_at)
    assert "- not refunded: 251.00 SEK (already refunded on the order)" in shown
    # The customer is told the amount actually refunded.
    [refunded] = [e for e in harness.world.emails if e.key == f"return:{inp.rma_id}:refunded"]
    assert refunded.context["amount"] == "97,00 SEK"
    assert not [k for k in harness.world.email_keys() if ":ops:refund_failed" in k]


async def test_a_return_on_an_order_refunded_in_full_closes_without_asking_the_provider(
    harness: Harness,
) -> None:
    harness.world.captured, harness.world.refunded_elsewhere = Decimal("597.00"), Decimal("597")
    inp = return_input(harness, reason="changed_mind")
    handle = await _received_both(harness, inp)
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED
    assert final.refund_total == Decimal("0.00")
    assert final.refund_shortfall == Decimal("348.00")
    assert _refund_calls(harness) == []
    notes = [h.note for h in final.history]
    assert "nothing refunded of 348.00: it was already refunded on the order" in notes
    assert f"return:{inp.rma_id}:refunded" not in harness.world.email_keys()


async def test_a_return_the_store_knows_no_capture_of_refunds_in_full_as_before(
    harness: Harness,
) -> None:
    inp = return_input(harness, reason="changed_mind")  # world.captured None: no cap
    handle = await _received_both(harness, inp)
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.refund_total == Decimal("348.00")
    assert final.refund_shortfall is None
    assert "refund_shortfall" not in final.model_dump()
    assert [name for name, _ in harness.world.calls].count("refund_room") == 1
    assert sorted(_refund_calls(harness)) == [
        (f"{inp.rma_id}:refund:CAP", Decimal("99.00")),
        (f"{inp.rma_id}:refund:TSHIRT", Decimal("249.00")),
    ]
    history = await handle.fetch_history()
    assert REFUND_CAP_PATCH in patches(history)


async def test_a_run_from_before_stuck_in_refund_failed_refunds_what_is_left_at_its_retry(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started before the patch refunds in full, is declined and waits; on the new
    code its next retry reads what is left and refunds that (``return-refund-cap-retry-1``),
    and its history replays."""
    harness.world.captured, harness.world.refunded_elsewhere = Decimal("597.00"), Decimal("500")
    patched = temporalio.workflow.patched

    def before_the_patch(patch_id: str) -> bool:
        return False if patch_id == REFUND_CAP_PATCH else patched(patch_id)

    monkeypatch.setattr(temporalio.workflow, "patched", before_the_patch)
    inp = return_input(harness, reason="changed_mind")
    handle = await _received_both(harness, inp)
    view = await status_becomes(handle, ReturnStatus.REFUND_FAILED)
    assert view.refund_error and "exceeds the 97.00 left" in view.refund_error
    assert "refund_room" not in harness.world.names()
    monkeypatch.undo()

    await handle.execute_update(ReturnWorkflow.retry_refund, RetryRefund(by="Olle Ops"))
    final = await asyncio.wait_for(handle.result(), timeout=30)

    assert final.status == ReturnStatus.CLOSED
    assert final.refund_total == Decimal("97.00")
    assert final.refund_shortfall == Decimal("251.00")
    # The declined full refund, then what was left on a new key (a key is one request: the
    # provider would refuse the declined key's reuse for another amount, or answer the decline).
    assert _refund_calls(harness) == [
        (f"{inp.rma_id}:refund:TSHIRT", Decimal("249.00")),
        (f"{inp.rma_id}:refund:TSHIRT:retry-1", Decimal("97.00")),
    ]
    history = await handle.fetch_history()
    assert REFUND_CAP_PATCH not in patches(history)
    assert f"{REFUND_CAP_PATCH}-retry-1" in patches(history)
    replayer = Replayer(
        workflows=[ReturnWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
