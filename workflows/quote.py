"""QuoteWorkflow: a B2B request for quote, negotiated and approved by people, turned into an order.

Workflow id ``quote-<quote_id>``. The seller proposes prices (list price, the company's
tier, volume breaks, per-line overrides with a reason); the buyer may counter; each
proposal is checked against the merchant's approval rules and every matching rule's role
must approve (updates carrying the approver's name and role; wrong role, a second decision
by the same person and decisions on an expired quote are refused). Approvers are reminded
after 24 h and the approval escalates to the next role up after 72 h
(``oms/domain/quote_timers.py``). The quote expires (default 30 days) with reminders to
the seller 48 h and the buyer 24 h before; an expired quote can be re-opened at list
prices. Accepting starts an ``OrderWorkflow`` with the negotiated prices and invoice terms
against the buyer's PO number.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.quotes import QuoteActivities
    from oms import search_attributes as sa
    from oms.domain import lifecycle
    from oms.domain.approval import ApprovalRefused, check_decision, requirements
    from oms.domain.quotes import (
        Due,
        countered_lines,
        due,
        next_timer,
        not_on_quote,
        order_for,
        order_summary,
        record_decision,
        reminder_key,
        status_clock,
    )
    from oms.ids import order_id_for, order_workflow_id, quote_workflow_id
    from oms.models.ops import OpsNote
    from oms.models.quotes import (
        OPEN_QUOTE_STATES,
        AcceptQuote,
        AcceptResult,
        ApprovalDecision,
        CounterOffer,
        PriceQuoteRequest,
        ProposeQuote,
        QuoteInput,
        QuoteLineRequest,
        QuoteStatus,
        QuoteView,
        WithdrawQuote,
    )
    from oms.queues import INVENTORY_QUEUE, WORKFLOW_QUEUE
    from oms.views import quotes as views
    from workflows import policies
    from workflows import quote_pricing as pricing
    from workflows.legacy.quote import QuoteV1
    from workflows.order import OrderWorkflow
    from workflows.quote_mail import QuoteMail
    from workflows.tracker import LIFECYCLE_PATCH, Tracker

__all__ = ["QuoteWorkflow", "order_id_for", "quote_workflow_id"]

# How long an expired quote can still be re-opened before its workflow closes.
REOPEN_WINDOW = timedelta(days=30)


@workflow.defn(name="QuoteWorkflow")
class QuoteWorkflow:
    """The whole negotiation of one quote; its state is available by the ``state`` query."""

    @workflow.init
    def __init__(self, inp: QuoteInput) -> None:
        self._legacy = None if workflow.patched(LIFECYCLE_PATCH) else QuoteV1(inp)
        if self._legacy is not None:
            self._legacy.install()
            return
        self._inp, opts = inp, inp.options
        self._view = QuoteView(
            quote_id=inp.quote_id,
            status=QuoteStatus.SUBMITTED,
            customer=inp.customer,
            currency=inp.currency,
            lines=inp.lines,
            ship_to=inp.ship_to,
            note=inp.note,
            submitted_at=inp.submitted_at,
            expires_at=inp.submitted_at + timedelta(days=opts.expires_in_days),
            updated_at=inp.submitted_at,
        )
        step = opts.order_options.step_deadline_s if opts.order_options else 60
        self._track = Tracker(
            lifecycle.QUOTE,
            self._view,
            limits={lifecycle.APPROVAL: opts.approver_reminder_after_s, lifecycle.STEP: step},
            details=views.details,
            record=policies.recorder(QuoteActivities.record_quote),
            queue_prefix=opts.task_queue_prefix,
        )
        self._mail = QuoteMail(inp, self._view, self._track)
        self._round = 0
        self._opening = 0  # 0 for the first life of the quote, +1 per re-opening
        self._list_prices_only = False
        self._reminded: set[str] = set()
        self._changed = False
        self._reopened = False

    # --- queries and updates ---------------------------------------------------------

    @workflow.query
    def state(self) -> QuoteView:
        return self._view

    @workflow.update
    async def propose(self, request: ProposeQuote) -> QuoteView:
        """The seller (re-)proposes prices; approvals the rules require start over."""
        self._track.update_accepted()
        self._round += 1
        round_no = self._round
        priced = PriceQuoteRequest(
            quote_id=self._inp.quote_id,
            company_id=self._inp.customer.company_id,
            currency=self._inp.currency,
            lines=self._view.lines,
            overrides=request.overrides,
            round=round_no,
            by=request.by,
            comment=request.comment,
            list_prices_only=self._list_prices_only,
        )
        try:
            proposal = await pricing.price(priced, self._q(INVENTORY_QUEUE))
        except ApplicationError:
            if self._round == round_no:  # no later proposal took the next round meanwhile
                self._round -= 1
            raise
        self._view.proposal = proposal
        approvals = requirements(proposal, self._inp.options.policy, workflow.now())
        self._view.approvals = approvals
        summary = f"round {self._round}: {proposal.total} {self._inp.currency}"
        summary += f", {proposal.discount_pct}% off list"
        if approvals:
            roles = views.pending_roles(self._view)
            note = f"{summary}; needs approval by {roles}"
            self._enter(QuoteStatus.PENDING_APPROVAL, request.by, "proposed", note)
            await self._mail.approvers(self._round, "requested")
        else:
            note = f"{summary}; no approval needed"
            self._enter(QuoteStatus.PROPOSED, request.by, "proposed", note)
            await self._mail.buyer(f"proposed:{self._round}", "quote_proposed")
        return self._track.for_caller()

    @propose.validator
    def _validate_propose(self, request: ProposeQuote) -> None:
        self._require_open("propose")
        self._require_lines("overrides", [o.sku for o in request.overrides])

    @workflow.update
    async def counter(self, offer: CounterOffer) -> QuoteView:
        """The buyer asks for other prices; the seller proposes again."""
        self._track.update_accepted()
        self._view.lines = countered_lines(self._view.lines, offer)
        self._enter(QuoteStatus.COUNTERED, offer.by, "countered", views.counter_note(offer))
        await self._mail.seller(f"countered:{self._round}", "quote_countered", by=offer.by)
        return self._track.for_caller()

    @counter.validator
    def _validate_counter(self, offer: CounterOffer) -> None:
        self._require_open("counter")
        if self._view.proposal is None:
            raise ApplicationError("nothing to counter: no proposal yet", type="NoProposal")
        self._require_lines("counter-offer lines", [line.sku for line in offer.lines])

    @workflow.update
    async def decide(self, decision: ApprovalDecision) -> QuoteView:
        """An approver approves or rejects; any rejection rejects the quote."""
        self._track.update_accepted()
        requirement = self._view.approvals[check_decision(self._view.approvals, decision)]
        record_decision(self._view.approvals, requirement.role, decision, workflow.now())
        note = views.decision_note(decision, requirement.rule_name)
        if decision.decision == "reject":
            self._enter(QuoteStatus.REJECTED, decision.approver, "rejected", note)
            # The approver's comment is internal: the buyer hears the prices were not approved.
            await self._mail.buyer(f"rejected:{self._round}", "quote_rejected")
        elif all(r.decision == "approve" for r in self._view.approvals):
            self._enter(QuoteStatus.APPROVED, decision.approver, "approved", note)
            await self._mail.buyer(f"proposed:{self._round}", "quote_proposed")
        else:
            self._track.note(note, by=decision.approver, action="approval")
            self._retime()
        return self._track.for_caller()

    @decide.validator
    def _validate_decide(self, decision: ApprovalDecision) -> None:
        if self._view.status == QuoteStatus.EXPIRED:
            raise ApplicationError("the quote has expired", type="QuoteExpired")
        if self._view.status != QuoteStatus.PENDING_APPROVAL:
            raise ApplicationError(
                f"nothing to approve: the quote is {self._view.status}", type="NothingToApprove"
            )
        try:
            check_decision(self._view.approvals, decision)
        except ApprovalRefused as refused:
            raise ApplicationError(str(refused), type=refused.code) from refused

    @workflow.update
    async def accept(self, request: AcceptQuote) -> AcceptResult:
        """The buyer accepts: an order starts with the negotiated prices on invoice terms."""
        self._track.update_accepted()
        proposal = self._view.proposal
        assert proposal is not None  # the validator made sure
        self._view.po_number = request.po_number
        self._enter(QuoteStatus.ACCEPTED, request.by, "accepted", f"PO {request.po_number}")
        order_id = order_id_for(self._inp.quote_id)
        order = order_for(self._inp, self._view, request, order_id, workflow.now())
        await workflow.start_child_workflow(
            OrderWorkflow.run,
            order,
            id=order_workflow_id(order_id),
            task_queue=self._q(WORKFLOW_QUEUE),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=sa.child_order(order.customer.id, order.channel),
            static_summary=order_summary(order, self._inp.quote_id),
        )
        self._view.order_id = order_id
        terms = request.payment_terms or "the company's terms"
        note = f"order {order_id} started at the negotiated prices ({terms})"
        self._enter(QuoteStatus.ORDERED, request.by, "ordered", note)
        await self._mail.buyer("ordered", "quote_ordered", new_order_id=order_id)
        return AcceptResult(quote_id=self._inp.quote_id, order_id=order_id)

    @accept.validator
    def _validate_accept(self, request: AcceptQuote) -> None:
        status = self._view.status
        if status == QuoteStatus.EXPIRED:
            raise ApplicationError("the quote has expired", type="QuoteExpired")
        if status == QuoteStatus.PENDING_APPROVAL:
            # Only a buyer accepts: who is to approve is not theirs to know.
            raise ApplicationError(
                "the quote's proposal is still being approved", type="AwaitingApproval"
            )
        if status not in (QuoteStatus.PROPOSED, QuoteStatus.APPROVED):
            raise ApplicationError(
                f"only a proposed or approved quote can be accepted; it is {status}",
                type="NotAcceptable",
            )

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the quote's history with who and why."""
        self._track.ops_note(note.by, note.action, note.reason)

    @workflow.update
    async def withdraw(self, request: WithdrawQuote) -> QuoteView:
        self._track.update_accepted()
        self._enter(QuoteStatus.WITHDRAWN, request.by, "withdrawn", request.reason)
        return self._track.for_caller()

    @withdraw.validator
    def _validate_withdraw(self, request: WithdrawQuote) -> None:
        self._require_open("withdraw")

    @workflow.update
    async def reopen(self, request: WithdrawQuote) -> QuoteView:
        """Re-open an expired quote; it starts over at list prices with a new expiry."""
        self._track.update_accepted()
        self._opening += 1
        self._list_prices_only = True
        self._view.proposal = None
        self._view.approvals = []
        self._view.lines = [
            QuoteLineRequest(sku=ln.sku, quantity=ln.quantity) for ln in self._view.lines
        ]
        self._view.expires_at = workflow.now() + timedelta(days=self._inp.options.expires_in_days)
        self._reopened = True
        note = "re-opened after expiry; prices revert to list prices"
        self._enter(QuoteStatus.SUBMITTED, request.by, "reopened", note)
        return self._track.for_caller()

    @reopen.validator
    def _validate_reopen(self, request: WithdrawQuote) -> None:
        if self._view.status != QuoteStatus.EXPIRED:
            raise ApplicationError(
                f"only an expired quote can be re-opened; it is {self._view.status}",
                type="NotExpired",
            )

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: QuoteInput) -> QuoteView:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        by = inp.submitted_by.name
        note = f"{len(inp.lines)} line(s) requested by {by} ({inp.submitted_by.role})"
        self._changed = True
        self._track.enter(
            QuoteStatus.SUBMITTED,
            note,
            by=by,
            action="submitted",
            clock_start=inp.submitted_at,
            deadline=self._view.expires_at,
        )
        await self._mail.seller("submitted", "quote_submitted", by=by)
        while True:
            await self._negotiate()
            if self._view.status != QuoteStatus.EXPIRED:
                break
            self._reopened = False
            try:
                await workflow.wait_condition(
                    lambda: self._reopened,
                    timeout=REOPEN_WINDOW,
                    timeout_summary="expired; can be re-opened",
                )
            except TimeoutError:
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return self._view

    async def _negotiate(self) -> None:
        """Run timers until the quote leaves the open states (ordered, rejected, expired...)."""
        while self._view.status in OPEN_QUOTE_STATES or self._view.status == QuoteStatus.ACCEPTED:
            if self._view.status == QuoteStatus.ACCEPTED:
                await workflow.wait_condition(lambda: self._view.status != QuoteStatus.ACCEPTED)
                continue
            opts = self._inp.options
            due_at, label = next_timer(self._view, opts, self._reminded, self._opening)
            # At least a second: a due deadline fires on the next timer, never a busy loop.
            wait = max(due_at - workflow.now(), timedelta(seconds=1))
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed, timeout=wait, timeout_summary=label
                )
            except TimeoutError:
                now = workflow.now()
                for item in due(self._view, opts, self._reminded, self._opening, now):
                    await self._carry_out(item)

    async def _carry_out(self, item: Due) -> None:
        """One due thing: expire, remind seller or buyer, remind or escalate an approver."""
        now, opts, expires = workflow.now(), self._inp.options, self._view.expires_at
        if item.kind == "expire":
            note = f"not ordered within {opts.expires_in_days} days"
            self._enter(QuoteStatus.EXPIRED, "system", "expired", note)
            await self._mail.buyer(f"expired:{self._opening}", "quote_expired")
            return
        if item.kind in ("remind_seller", "remind_buyer"):
            audience = item.kind.removeprefix("remind_")
            key = reminder_key(audience, self._opening)
            self._reminded.add(key)
            send = self._mail.seller if audience == "seller" else self._mail.buyer
            await send(
                key, "quote_expiry_reminder", audience=audience, expires_at=views.when(expires)
            )
            return
        req = item.requirement
        assert req is not None
        if item.kind == "escalate" and item.higher is not None:
            hours = opts.approval_escalate_after_s // 3600
            note = f"{req.role} did not act in {hours} h; escalated to {item.higher}"
            previous = req.role
            req.role, req.escalated_at, req.reminded = item.higher, now, False
            self._track.note(note, by="system", action="escalated")
            self._retime()
            await self._mail.approvers(
                self._round, f"escalated:{previous}", role=item.higher, note=note
            )
        elif item.kind == "remind_again":
            req.escalated_at, req.reminded = now, True
            note = f"{req.role} has no higher role; reminded"
            self._track.note(note, by="system", action="reminded")
            self._retime()
            await self._mail.approvers(
                self._round, f"reminder:{req.role}:{now:%Y%m%d%H}", role=req.role
            )
        else:
            req.reminded = True
            self._track.note(f"reminded {req.role} to decide", by="system", action="reminded")
            await self._mail.approvers(self._round, f"reminder:{req.role}", role=req.role)

    # --- helpers -------------------------------------------------------------------

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _require_open(self, action: str) -> None:
        status = self._view.status
        if status == QuoteStatus.EXPIRED:
            raise ApplicationError(f"cannot {action}: the quote has expired", type="QuoteExpired")
        if status not in OPEN_QUOTE_STATES:
            raise ApplicationError(f"cannot {action}: the quote is {status}", type="QuoteClosed")

    def _require_lines(self, what: str, skus: list[str]) -> None:
        """Raises ``ApplicationError`` ``UnknownLine`` naming the ``skus`` the quote has no
        line of."""
        unknown = not_on_quote(self._view.lines, skus)
        if unknown:
            raise ApplicationError(
                f"{what} not on this quote: {', '.join(unknown)}", type="UnknownLine"
            )

    def _enter(self, status: QuoteStatus, by: str, action: str, note: str) -> None:
        self._changed = True  # the timer loop recomputes its deadlines
        self._track.enter(status, note, by=by, action=action, **status_clock(self._view, status))

    def _retime(self) -> None:
        """An approval was decided, escalated or reminded again: its clock moved."""
        self._changed = True
        self._track.retime(**status_clock(self._view, self._view.status))
