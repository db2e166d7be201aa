"""QuoteWorkflow on the time-skipping server: negotiation, approvals, reminders, expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from oms.models.common import Address
from oms.models.orders import OrderOptions
from oms.models.quotes import (
    AcceptQuote,
    Actor,
    ApprovalDecision,
    B2BCustomer,
    CounterLine,
    CounterOffer,
    LineOverride,
    ProposeQuote,
    QuoteInput,
    QuoteLineRequest,
    QuoteOptions,
    QuoteStatus,
    WithdrawQuote,
)
from oms.rules import load_approval_policy
from oms.settings import WORKFLOW_QUEUE
from tests.workflows.harness import Harness, tick
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.quote import QuoteWorkflow, quote_workflow_id

pytestmark = pytest.mark.timeout(120)


def quote_input(harness: Harness, quote_id: str, quantity: int = 150) -> QuoteInput:
    return QuoteInput(
        quote_id=quote_id,
        customer=B2BCustomer(
            id="C-900",
            name="Karin Ek",
            email="karin@acme.example",
            locale="en",
            company_id="ACME-AB",
        ),
        currency="SEK",
        lines=[QuoteLineRequest(sku="RACK", quantity=quantity)],
        ship_to=Address(
            name="Acme Bygg AB",
            line1="Industrivägen 4",
            postal_code="171 48",
            city="Solna",
            country="SE",
        ),
        submitted_by=Actor(name="Karin Ek", role="buyer"),
        submitted_at=datetime.now(UTC),
        options=QuoteOptions(
            policy=load_approval_policy(),
            task_queue_prefix=harness.prefix,
            order_options=OrderOptions(task_queue_prefix=harness.prefix),
        ),
    )


async def start(harness: Harness, inp: QuoteInput) -> WorkflowHandle[Any, Any]:
    handle = await harness.client.start_workflow(
        QuoteWorkflow.run,
        inp,
        id=quote_workflow_id(inp.quote_id),
        task_queue=harness.prefix + WORKFLOW_QUEUE,
    )
    return harness.track(handle)


async def status_becomes(handle: WorkflowHandle[Any, Any], status: QuoteStatus) -> None:
    for _ in range(100):
        if (await handle.query(QuoteWorkflow.state)).status == status:
            return
        await tick()
    raise AssertionError(f"quote never became {status}")


async def delivered(harness: Harness, key: str) -> list[Any]:
    """Messages the SMTP server received under ``key``, once at least one has arrived."""
    assert harness.smtp is not None
    for _ in range(100):
        if harness.smtp.messages_for(key):
            break
        await tick()
    await tick()  # a duplicate would arrive right behind the first
    return harness.smtp.messages_for(key)


def refusal(info: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str | None:
    return getattr(info.value.cause, "type", None)


async def test_discounted_large_quote_needs_both_roles_then_orders_at_negotiated_prices(
    harness: Harness,
) -> None:
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id))
    await status_becomes(handle, QuoteStatus.SUBMITTED)

    # 150 racks at 1 000 list: 150 000 SEK; the seller offers 850 (15% off).
    view = await handle.execute_update(
        QuoteWorkflow.propose,
        ProposeQuote(
            by="Sven Sales",
            overrides=[
                LineOverride(sku="RACK", unit_price=Decimal("850.00"), reason="volume deal")
            ],
        ),
    )
    assert view.status == QuoteStatus.PENDING_APPROVAL
    assert view.proposal is not None and view.proposal.discount_pct == Decimal("15.00")
    assert sorted(r.role for r in view.approvals) == ["finance", "sales_manager"]

    with pytest.raises(WorkflowUpdateFailedError) as wrong:
        await handle.execute_update(
            QuoteWorkflow.decide,
            ApprovalDecision(approver="Sven Sales", role="sales", decision="approve"),
        )
    assert refusal(wrong) == "WrongRole"
    assert "sales_manager" in str(wrong.value.cause)

    await handle.execute_update(
        QuoteWorkflow.decide,
        ApprovalDecision(approver="Maria Manager", role="sales_manager", decision="approve"),
    )
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await handle.execute_update(
            QuoteWorkflow.decide,
            ApprovalDecision(approver="Maria Manager", role="finance", decision="approve"),
        )
    assert refusal(twice) == "AlreadyDecided"
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(
            QuoteWorkflow.accept, AcceptQuote(by="Karin Ek", po_number="PO-1")
        )
    assert refusal(early) == "AwaitingApproval"
    # Only a buyer accepts: the roles still to approve are the seller's business.
    assert "finance" not in str(early.value.cause)

    view = await handle.execute_update(
        QuoteWorkflow.decide,
        ApprovalDecision(approver="Johan Finance", role="finance", decision="approve"),
    )
    assert view.status == QuoteStatus.APPROVED
    # Approved, the proposal is offered: the buyer's email carries its prices.
    [offer] = [e for e in harness.world.emails if e.key == f"quote:{quote_id}:proposed:1"]
    assert (offer.context["total"], offer.context["discount_pct"]) == ("SEK 127,500.00", "15.00")

    result = await handle.execute_update(
        QuoteWorkflow.accept, AcceptQuote(by="Karin Ek", po_number="PO-77")
    )
    final = await handle.result()
    assert final.status == QuoteStatus.ORDERED and final.order_id == result.order_id

    order = harness.client.get_workflow_handle_for(
        OrderWorkflow.run, order_workflow_id(result.order_id)
    )
    harness.track(order)
    for _ in range(100):
        state = await order.query(OrderWorkflow.state)
        if state.status != "received":
            break
        await tick()
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in state.lines] == [
        ("RACK", 150, Decimal("850.00"))
    ]
    assert state.total == Decimal("127500.00")
    # Found as an order by /ops/stuck and the stage query, like an order the API starts;
    # its summary says what the amount is: these quote options price no VAT or shipping.
    described = await order.describe()
    attrs = {p.key.name: p.value for p in described.typed_search_attributes}
    assert attrs["OmsKind"] == "order"
    assert attrs["OmsCustomerId"] == "C-900"
    assert attrs["OmsChannel"] == "b2b"
    assert await described.static_summary() == (
        f"Order {result.order_id} · b2b · placed with 1 line(s), SEK 127,500.00 net"
        f" · from quote {quote_id}"
    )
    reserves = [req for name, req in harness.world.calls if name == "reserve_credit"]
    assert reserves and reserves[0].company_id == "ACME-AB"
    assert "authorize" not in harness.world.names()  # invoice terms: no card
    keys = harness.world.email_keys()
    assert f"quote:{quote_id}:ordered" in keys
    assert any(k.startswith(f"quote:{quote_id}:approval:1:requested") for k in keys)


async def test_a_rejection_tells_the_buyer_neither_the_prices_nor_who_rejected_them_or_why(
    harness: Harness,
) -> None:
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id))
    await status_becomes(handle, QuoteStatus.SUBMITTED)
    await handle.execute_update(
        QuoteWorkflow.propose,
        ProposeQuote(
            by="Sven Sales",
            overrides=[LineOverride(sku="RACK", unit_price=Decimal("850.00"), reason="deal")],
        ),
    )
    view = await handle.execute_update(
        QuoteWorkflow.decide,
        ApprovalDecision(
            approver="Maria Manager",
            role="sales_manager",
            decision="reject",
            comment="Sven gives our margin away",
        ),
    )
    assert view.status == QuoteStatus.REJECTED
    [email] = [e for e in harness.world.emails if e.key == f"quote:{quote_id}:rejected:1"]
    assert email.to == "karin@acme.example" and email.template == "quote_rejected"
    # The approver's comment used to be the email's "Reason:"; a proposal never offered
    # to the buyer has no figures in their emails either.
    assert "reason" not in email.context
    assert (email.context["total"], email.context["lines"]) == ("", [])
    for internal in ("Maria", "Sven", "margin", "sales_manager", "850"):
        assert internal not in str(email.context), internal


async def test_unanswered_approval_is_reminded_once_then_escalates_after_72_hours(
    mail_harness: Harness, env: WorkflowEnvironment
) -> None:
    harness = mail_harness
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id, quantity=10))
    await status_becomes(handle, QuoteStatus.SUBMITTED)
    # 10 racks: silver 5% + volume 2% = 7%, 10 000 SEK; override to 8 500 needs a sales manager.
    view = await handle.execute_update(
        QuoteWorkflow.propose,
        ProposeQuote(
            by="Sven Sales",
            overrides=[LineOverride(sku="RACK", unit_price=Decimal("850.00"), reason="match")],
        ),
    )
    assert [r.role for r in view.approvals] == ["sales_manager"]

    await env.sleep(timedelta(hours=25))
    view = await handle.query(QuoteWorkflow.state)
    assert view.approvals[0].reminded is True and view.approvals[0].role == "sales_manager"
    reminder = f"quote:{quote_id}:approval:1:reminder:sales_manager"
    assert len(await delivered(harness, reminder)) == 1

    await env.sleep(timedelta(hours=48))
    view = await handle.query(QuoteWorkflow.state)
    requirement = view.approvals[0]
    assert requirement.role == "sales_director" and requirement.original_role == "sales_manager"
    assert any(h.action == "escalated" for h in view.history)
    escalated = await delivered(harness, f"quote:{quote_id}:approval:1:escalated:sales_manager")
    assert len(escalated) == 1
    assert "sales_director" in escalated[0].subject
    assert escalated[0].to == "approvers@oms.example"
    assert len(await delivered(harness, reminder)) == 1

    view = await handle.execute_update(
        QuoteWorkflow.decide,
        ApprovalDecision(approver="Dora Director", role="sales_director", decision="approve"),
    )
    assert view.status == QuoteStatus.APPROVED


async def test_untouched_quote_expires_after_30_days_with_each_reminder_sent_once(
    mail_harness: Harness,
) -> None:
    harness = mail_harness
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id))
    final = await handle.result()  # time skips through the 30 days and the re-open window

    assert final.status == QuoteStatus.EXPIRED
    for key in ("expiry_reminder:seller:0", "expiry_reminder:buyer:0", "expired:0"):
        assert len(await delivered(harness, f"quote:{quote_id}:{key}")) == 1, key
    expired_at = next(h.at for h in final.history if h.action == "expired")
    assert expired_at - final.submitted_at >= timedelta(days=30)
    [to_seller] = await delivered(harness, f"quote:{quote_id}:expiry_reminder:seller:0")
    assert to_seller.to == "sales@oms.example"
    [to_buyer] = await delivered(harness, f"quote:{quote_id}:expiry_reminder:buyer:0")
    assert to_buyer.to == "karin@acme.example"
    assert "expires" in to_buyer.subject


async def test_expired_quote_reopens_at_list_prices_and_refuses_approvals_while_expired(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id, quantity=10))
    await status_becomes(handle, QuoteStatus.SUBMITTED)
    await handle.execute_update(QuoteWorkflow.propose, ProposeQuote(by="Sven Sales"))
    await env.sleep(timedelta(days=31))
    assert (await handle.query(QuoteWorkflow.state)).status == QuoteStatus.EXPIRED
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(
            QuoteWorkflow.accept, AcceptQuote(by="Karin Ek", po_number="PO-9")
        )
    assert refusal(late) == "QuoteExpired"

    await handle.execute_update(QuoteWorkflow.reopen, WithdrawQuote(by="Karin Ek"))
    view = await handle.execute_update(
        QuoteWorkflow.propose,
        ProposeQuote(
            by="Sven Sales",
            overrides=[LineOverride(sku="RACK", unit_price=Decimal("500.00"), reason="try")],
        ),
    )
    assert view.proposal is not None
    assert view.proposal.total == view.proposal.list_total == Decimal("10000.00")
    assert view.status == QuoteStatus.PROPOSED


async def test_counter_offer_is_kept_in_history_and_withdraw_ends_the_quote(
    harness: Harness,
) -> None:
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id, quantity=10))
    await status_becomes(handle, QuoteStatus.SUBMITTED)
    with pytest.raises(WorkflowUpdateFailedError) as nothing:
        await handle.execute_update(QuoteWorkflow.counter, CounterOffer(by="Karin Ek", lines=[]))
    assert refusal(nothing) == "NoProposal"
    await handle.execute_update(QuoteWorkflow.propose, ProposeQuote(by="Sven Sales"))
    view = await handle.execute_update(
        QuoteWorkflow.counter,
        CounterOffer(
            by="Karin Ek",
            lines=[CounterLine(sku="RACK", target_unit_price=Decimal("880.00"))],
            comment="our budget",
        ),
    )
    assert view.status == QuoteStatus.COUNTERED
    assert view.lines[0].target_unit_price == Decimal("880.00")
    actions = [(h.action, h.by) for h in view.history]
    assert actions[-2:] == [("proposed", "Sven Sales"), ("countered", "Karin Ek")]
    await handle.execute_update(QuoteWorkflow.withdraw, WithdrawQuote(by="Karin Ek", reason="no"))
    assert (await handle.result()).status == QuoteStatus.WITHDRAWN


async def test_override_of_a_sku_not_on_the_quote_is_refused_before_anything_changes(
    harness: Harness,
) -> None:
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id, quantity=10))
    await status_becomes(handle, QuoteStatus.SUBMITTED)

    with pytest.raises(WorkflowUpdateFailedError) as stray:
        await handle.execute_update(
            QuoteWorkflow.propose,
            ProposeQuote(
                by="Sven Sales",
                overrides=[
                    LineOverride(sku="NOPE", unit_price=Decimal("1.00"), reason="bulk"),
                    LineOverride(sku="RACK", unit_price=Decimal("900.00"), reason="bulk"),
                ],
            ),
        )
    assert refusal(stray) == "UnknownLine"
    assert "NOPE" in str(stray.value.cause) and "RACK" not in str(stray.value.cause)
    # The validator refused it: no pricing, no update in the quote's history.
    assert not [req for name, req in harness.world.calls if name == "price"]
    events = (await handle.fetch_history()).events
    assert not [
        e for e in events if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert (await handle.query(QuoteWorkflow.state)).proposal is None

    view = await handle.execute_update(QuoteWorkflow.propose, ProposeQuote(by="Sven Sales"))
    assert view.proposal is not None and view.proposal.round == 1
    await status_becomes(handle, QuoteStatus.PROPOSED)
    assert f"quote:{quote_id}:proposed:1" in harness.world.email_keys()


async def test_proposal_the_pricing_refuses_fails_with_its_type_and_keeps_the_round(
    harness: Harness,
) -> None:
    quote_id = f"Q-{uuid.uuid4().hex[:6]}"
    handle = await start(harness, quote_input(harness, quote_id, quantity=10))
    await status_becomes(handle, QuoteStatus.SUBMITTED)
    price = harness.world.list_prices.pop("RACK")  # the catalogue lost the SKU's price

    with pytest.raises(WorkflowUpdateFailedError) as unpriced:
        await handle.execute_update(QuoteWorkflow.propose, ProposeQuote(by="Sven Sales"))
    assert refusal(unpriced) == "UnknownPrice"
    assert "RACK" in str(unpriced.value.cause)
    assert getattr(unpriced.value.cause, "non_retryable", False) is True
    view = await handle.query(QuoteWorkflow.state)
    assert view.status == QuoteStatus.SUBMITTED and view.proposal is None

    harness.world.list_prices["RACK"] = price
    view = await handle.execute_update(QuoteWorkflow.propose, ProposeQuote(by="Sven Sales"))
    assert view.proposal is not None and view.proposal.round == 1
    assert view.history[-1].note.startswith("round 1:")
    await status_becomes(handle, QuoteStatus.PROPOSED)
    keys = harness.world.email_keys()
    assert f"quote:{quote_id}:proposed:1" in keys
    assert f"quote:{quote_id}:proposed:2" not in keys
