"""Frozen 0.1 code (see ``workflows/legacy/__init__.py``).

QuoteWorkflow: a B2B request for quote, negotiated and approved by people, turned into an order.

Workflow id ``quote-<quote_id>``. The seller proposes prices (list price, the
company's tier, volume breaks, per-line overrides with a reason); the buyer may
counter; each proposal is checked against the merchant's approval rules and
every matching rule's role must approve (updates carrying the approver's name
and role; wrong role, a second decision by the same person and decisions on an
expired quote are refused). Approvers are reminded after 24 h and the approval
escalates to the next role up after 72 h. The quote expires (default 30 days)
with reminders to the seller 48 h and the buyer 24 h before; an expired quote
can be re-opened at list prices. Accepting starts an ``OrderWorkflow`` with the
negotiated prices and invoice terms against the buyer's PO number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.quotes import QuoteActivities
    from oms import search_attributes as sa
    from oms.domain.approval import ApprovalRefused, check_decision, escalate_role, requirements
    from oms.domain.money import format_money
    from oms.domain.quotes import countered_lines, next_timer, record_decision, reminder_key
    from oms.ids import order_id_for, order_workflow_id
    from oms.models.common import Customer, HistoryEntry
    from oms.models.notifications import EmailRequest
    from oms.models.ops import OpsNote
    from oms.models.orders import OrderInput, OrderLine, OrderOptions, PaymentDetails
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
    from oms.queues import EMAIL_QUEUE, INVENTORY_QUEUE, WORKFLOW_QUEUE
    from oms.views import quotes as views
    from oms.views.common import when
    from workflows import metrics, policies
    from workflows.legacy.common import send_email

# How long an expired quote can still be re-opened before its workflow closes.
REOPEN_WINDOW = timedelta(days=30)


class QuoteV1:
    """The whole negotiation of one quote; its state is available by the ``state`` query."""

    def __init__(self, inp: QuoteInput) -> None:
        self._inp = inp
        self._view = QuoteView(
            quote_id=inp.quote_id,
            status=QuoteStatus.SUBMITTED,
            customer=inp.customer,
            currency=inp.currency,
            lines=inp.lines,
            ship_to=inp.ship_to,
            note=inp.note,
            submitted_at=inp.submitted_at,
            expires_at=inp.submitted_at + timedelta(days=inp.options.expires_in_days),
            updated_at=inp.submitted_at,
        )
        self._round = 0
        self._opening = 0  # 0 for the first life of the quote, +1 per re-opening
        self._list_prices_only = False
        self._reminded: set[str] = set()
        self._changed = False
        self._reopened = False
        self._waiting_for = "seller"

    def install(self) -> None:
        """Serve this run's signals, queries and updates with the legacy handlers."""
        workflow.set_query_handler("state", self.state)
        workflow.set_update_handler("propose", self.propose, validator=self._validate_propose)
        workflow.set_update_handler("counter", self.counter, validator=self._validate_counter)
        workflow.set_update_handler("decide", self.decide, validator=self._validate_decide)
        workflow.set_update_handler("accept", self.accept, validator=self._validate_accept)
        workflow.set_signal_handler("ops_note", self.ops_note)
        workflow.set_update_handler("withdraw", self.withdraw, validator=self._validate_withdraw)
        workflow.set_update_handler("reopen", self.reopen, validator=self._validate_reopen)

    # --- queries and updates ---------------------------------------------------------

    def state(self) -> QuoteView:
        return self._view

    async def propose(self, request: ProposeQuote) -> QuoteView:
        """The seller (re-)proposes prices; approvals the rules require start over."""
        self._round += 1
        proposal = await workflow.execute_activity_method(
            QuoteActivities.price,
            PriceQuoteRequest(
                quote_id=self._inp.quote_id,
                company_id=self._inp.customer.company_id,
                currency=self._inp.currency,
                lines=self._view.lines,
                overrides=request.overrides,
                round=self._round,
                by=request.by,
                comment=request.comment,
                list_prices_only=self._list_prices_only,
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"price round {self._round}"),
        )
        self._view.proposal = proposal
        approvals = requirements(proposal, self._inp.options.policy, workflow.now())
        self._view.approvals = approvals
        summary = f"round {self._round}: {proposal.total} {self._inp.currency}"
        if approvals:
            roles = ", ".join(sorted({r.role for r in approvals}))
            await self._set(
                QuoteStatus.PENDING_APPROVAL,
                request.by,
                "proposed",
                f"{summary}, {proposal.discount_pct}% off list; needs approval by {roles}",
            )
            await self._email_approvers("requested")
        else:
            await self._set(
                QuoteStatus.PROPOSED,
                request.by,
                "proposed",
                f"{summary}, {proposal.discount_pct}% off list; no approval needed",
            )
            await self._email_buyer(f"proposed:{self._round}", "quote_proposed")
        return self._view

    def _validate_propose(self, request: ProposeQuote) -> None:
        self._require_open("propose")
        # A validator issues no command: refusing here leaves a 0.1 run's history as it was.
        known = {line.sku for line in self._view.lines}
        unknown = sorted({o.sku for o in request.overrides if o.sku not in known})
        if unknown:
            raise ApplicationError(
                f"overrides not on this quote: {', '.join(unknown)}", type="UnknownLine"
            )

    async def counter(self, offer: CounterOffer) -> QuoteView:
        """The buyer asks for other prices; the seller proposes again."""
        self._view.lines = countered_lines(self._view.lines, offer)
        await self._set(QuoteStatus.COUNTERED, offer.by, "countered", views.counter_note(offer))
        await self._email_seller(f"countered:{self._round}", "quote_countered", {"by": offer.by})
        return self._view

    def _validate_counter(self, offer: CounterOffer) -> None:
        self._require_open("counter")
        if self._view.proposal is None:
            raise ApplicationError("nothing to counter: no proposal yet", type="NoProposal")
        known = {line.sku for line in self._view.lines}
        unknown = [line.sku for line in offer.lines if line.sku not in known]
        if unknown:
            raise ApplicationError(f"not on this quote: {', '.join(unknown)}", type="UnknownLine")

    async def decide(self, decision: ApprovalDecision) -> QuoteView:
        """An approver approves or rejects; any rejection rejects the quote."""
        index = check_decision(self._view.approvals, decision)
        requirement = self._view.approvals[index]
        record_decision(self._view.approvals, requirement.role, decision, workflow.now())
        note = views.decision_note(decision, requirement.rule_name)
        if decision.decision == "reject":
            await self._set(QuoteStatus.REJECTED, decision.approver, "rejected", note)
            await self._email_buyer(
                f"rejected:{self._round}", "quote_rejected", {"reason": decision.comment or ""}
            )
        elif all(r.decision == "approve" for r in self._view.approvals):
            await self._set(QuoteStatus.APPROVED, decision.approver, "approved", note)
            await self._email_buyer(f"proposed:{self._round}", "quote_proposed")
        else:
            self._history(decision.approver, "approval", note)
            await self._record()
        return self._view

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

    async def accept(self, request: AcceptQuote) -> AcceptResult:
        """The buyer accepts: an order starts with the negotiated prices on invoice terms."""
        proposal = self._view.proposal
        assert proposal is not None  # the validator made sure
        self._view.po_number = request.po_number
        await self._set(QuoteStatus.ACCEPTED, request.by, "accepted", f"PO {request.po_number}")
        order_id = order_id_for(self._inp.quote_id)
        customer = self._inp.customer
        order = OrderInput(
            order_id=order_id,
            channel="b2b",
            customer=Customer(
                id=customer.id, name=customer.name, email=customer.email, locale=customer.locale
            ),
            currency=self._inp.currency,
            lines=[
                OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
                for ln in proposal.lines
            ],
            ship_to=self._inp.ship_to,
            payment=PaymentDetails(
                method="invoice",
                po_number=request.po_number,
                terms=request.payment_terms,
                company_id=customer.company_id,
            ),
            placed_at=workflow.now(),
            options=self._inp.options.order_options
            or OrderOptions(task_queue_prefix=self._inp.options.task_queue_prefix),
            quote_id=self._inp.quote_id,
        )
        await workflow.start_child_workflow(
            "OrderWorkflow",
            order,
            id=order_workflow_id(order_id),
            task_queue=self._q(WORKFLOW_QUEUE),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=(
                f"Order {order_id} · from quote {self._inp.quote_id} · "
                f"{format_money(proposal.total, self._inp.currency, 'sv')} · b2b"
            ),
        )
        self._view.order_id = order_id
        await self._set(
            QuoteStatus.ORDERED,
            request.by,
            "ordered",
            f"order {order_id} started at the negotiated prices ({request.payment_terms})",
        )
        await self._email_buyer("ordered", "quote_ordered", {"new_order_id": order_id})
        return AcceptResult(quote_id=self._inp.quote_id, order_id=order_id)

    def _validate_accept(self, request: AcceptQuote) -> None:
        status = self._view.status
        if status == QuoteStatus.EXPIRED:
            raise ApplicationError("the quote has expired", type="QuoteExpired")
        if status == QuoteStatus.PENDING_APPROVAL:
            waiting = ", ".join(r.role for r in self._view.approvals if r.decision is None)
            raise ApplicationError(
                f"the quote still waits for approval by {waiting}", type="AwaitingApproval"
            )
        if status not in (QuoteStatus.PROPOSED, QuoteStatus.APPROVED):
            raise ApplicationError(
                f"only a proposed or approved quote can be accepted; it is {status}",
                type="NotAcceptable",
            )

    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the quote's history with who and why."""
        self._history(f"ops:{note.by}", note.action, note.reason)

    async def withdraw(self, request: WithdrawQuote) -> QuoteView:
        await self._set(QuoteStatus.WITHDRAWN, request.by, "withdrawn", request.reason)
        return self._view

    def _validate_withdraw(self, request: WithdrawQuote) -> None:
        self._require_open("withdraw")

    async def reopen(self, request: WithdrawQuote) -> QuoteView:
        """Re-open an expired quote; it starts over at list prices with a new expiry."""
        self._opening += 1
        self._list_prices_only = True
        self._view.proposal = None
        self._view.approvals = []
        self._view.lines = [
            QuoteLineRequest(sku=ln.sku, quantity=ln.quantity) for ln in self._view.lines
        ]
        self._view.expires_at = workflow.now() + timedelta(days=self._inp.options.expires_in_days)
        self._reopened = True
        await self._set(
            QuoteStatus.SUBMITTED,
            request.by,
            "reopened",
            "re-opened after expiry; prices revert to list prices",
        )
        return self._view

    def _validate_reopen(self, request: WithdrawQuote) -> None:
        if self._view.status != QuoteStatus.EXPIRED:
            raise ApplicationError(
                f"only an expired quote can be re-opened; it is {self._view.status}",
                type="NotExpired",
            )

    # --- the run -------------------------------------------------------------------

    async def run(self, inp: QuoteInput) -> QuoteView:
        workflow.upsert_search_attributes(
            [
                sa.KIND.value_set("quote"),
                sa.CUSTOMER_ID.value_set(inp.customer.id),
                sa.CHANNEL.value_set("b2b"),
            ]
        )
        by = inp.submitted_by.name
        await self._set(
            QuoteStatus.SUBMITTED,
            by,
            "submitted",
            f"{len(inp.lines)} line(s) requested by {by} ({inp.submitted_by.role})",
        )
        await self._email_seller("submitted", "quote_submitted", {"by": by})
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
        return self._view

    async def _negotiate(self) -> None:
        """Run timers until the quote leaves the open states (ordered, rejected, expired...)."""
        while self._view.status in OPEN_QUOTE_STATES or self._view.status == QuoteStatus.ACCEPTED:
            if self._view.status == QuoteStatus.ACCEPTED:
                await workflow.wait_condition(lambda: self._view.status != QuoteStatus.ACCEPTED)
                continue
            due_at, label = next_timer(self._view, self._inp.options, self._reminded, self._opening)
            # At least a second: a due deadline fires on the next timer, never a busy loop.
            wait = max(due_at - workflow.now(), timedelta(seconds=1))
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed, timeout=wait, timeout_summary=label
                )
            except TimeoutError:
                await self._fire_due()

    async def _fire_due(self) -> None:
        now = workflow.now()
        opts = self._inp.options
        expires = self._view.expires_at
        if now >= expires:
            await self._set(
                QuoteStatus.EXPIRED,
                "system",
                "expired",
                f"not ordered within {opts.expires_in_days} days",
            )
            await self._email_buyer(f"expired:{self._opening}", "quote_expired")
            return
        reminders = (
            ("seller", opts.seller_reminder_before_s, self._email_seller),
            ("buyer", opts.buyer_reminder_before_s, self._email_buyer),
        )
        for audience, before_s, email in reminders:
            key = self._key(audience)
            if key not in self._reminded and now >= expires - timedelta(seconds=before_s):
                self._reminded.add(key)
                context = {"audience": audience, "expires_at": when(expires)}
                await email(key, "quote_expiry_reminder", context)
        if self._view.status != QuoteStatus.PENDING_APPROVAL:
            return
        for req in self._view.approvals:
            if req.decision is not None:
                continue
            since = req.escalated_at or req.requested_at
            if now >= since + timedelta(seconds=opts.approval_escalate_after_s):
                higher = escalate_role(req.role, opts.policy)
                if higher is None:
                    # Nobody above: remind the same role again and restart its clock.
                    req.escalated_at, req.reminded = now, True
                    self._history("system", "reminded", f"{req.role} has no higher role; reminded")
                    await self._record()
                    await self._email_approvers(
                        f"reminder:{req.role}:{now:%Y%m%d%H}", role=req.role
                    )
                    continue
                hours = opts.approval_escalate_after_s // 3600
                note = f"{req.role} did not act in {hours} h; escalated to {higher}"
                previous = req.role
                req.role, req.escalated_at, req.reminded = higher, now, False
                self._history("system", "escalated", note)
                await self._record()
                await self._email_approvers(f"escalated:{previous}", role=higher, note=note)
            elif not req.reminded and now >= since + timedelta(
                seconds=opts.approver_reminder_after_s
            ):
                req.reminded = True
                self._history("system", "reminded", f"reminded {req.role} to decide")
                await self._record()
                await self._email_approvers(f"reminder:{req.role}", role=req.role)

    # --- helpers -------------------------------------------------------------------

    def _key(self, what: str) -> str:
        return reminder_key(what, self._opening)

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue

    def _require_open(self, action: str) -> None:
        status = self._view.status
        if status == QuoteStatus.EXPIRED:
            raise ApplicationError(f"cannot {action}: the quote has expired", type="QuoteExpired")
        if status not in OPEN_QUOTE_STATES:
            raise ApplicationError(f"cannot {action}: the quote is {status}", type="QuoteClosed")

    def _history(self, by: str, action: str, note: str) -> None:
        self._view.history.append(
            HistoryEntry(
                at=workflow.now(), by=by, action=action, status=self._view.status, note=note
            )
        )

    async def _set(self, status: QuoteStatus, by: str, action: str, note: str) -> None:
        previous = self._view.status if self._view.history else None
        since = self._view.history[-1].at if self._view.history else None
        metrics.status_entered("quote", str(status), previous, since)
        self._view.status = status
        self._history(by, action, note)
        self._changed = True
        waiting = {
            QuoteStatus.SUBMITTED: ("awaiting_proposal", "seller"),
            QuoteStatus.PROPOSED: ("awaiting_buyer", "customer"),
            QuoteStatus.COUNTERED: ("awaiting_proposal", "seller"),
            QuoteStatus.PENDING_APPROVAL: ("awaiting_approval", "approver"),
            QuoteStatus.APPROVED: ("awaiting_buyer", "customer"),
            QuoteStatus.ACCEPTED: ("ordering", "nobody"),
            QuoteStatus.EXPIRED: ("expired", "customer"),
        }.get(status, ("done", "nobody"))
        workflow.upsert_search_attributes(
            [
                sa.ORDER_STATUS.value_set(str(status)),
                sa.STAGE.value_set(waiting[0]),
                sa.WAITING_SINCE.value_set(workflow.now()),
            ]
        )
        self._waiting_for = waiting[1]
        await self._record()

    def _deadline(self) -> datetime:
        """When the quote is overdue: an approver past the reminder time, else its expiry."""
        if self._view.status == QuoteStatus.PENDING_APPROVAL:
            after = timedelta(seconds=self._inp.options.approver_reminder_after_s)
            pending = [
                (r.escalated_at or r.requested_at) + after
                for r in self._view.approvals
                if r.decision is None
            ]
            if pending:
                return min(pending)
        return self._view.expires_at

    async def _record(self) -> None:
        self._changed = True  # deadlines may have moved: the timer loop recomputes them
        waiting_for = self._waiting_for
        if self._view.status == QuoteStatus.PENDING_APPROVAL:
            roles = sorted({r.role for r in self._view.approvals if r.decision is None})
            waiting_for = "approver:" + ",".join(roles)
        workflow.upsert_search_attributes(
            [sa.WAITING_FOR.value_set(waiting_for), sa.DEADLINE.value_set(self._deadline())]
        )
        workflow.set_current_details(self._details())
        self._view.version += 1
        self._view.updated_at = workflow.now()
        await workflow.execute_activity_method(
            QuoteActivities.record_quote,
            self._view,
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), f"record {self._view.status}"),
        )

    def _details(self) -> str:
        # 0.1 showed no stage line: the quote's heading, then the same facts as today.
        return "\n".join([views.title(self._view), "", *views.facts(self._view)])

    async def _send(
        self, key: str, to: str, template: str, locale: str, extra: dict[str, Any] | None = None
    ) -> None:
        request = EmailRequest(
            key=f"quote:{self._inp.quote_id}:{key}",
            to=to,
            locale=locale,
            template=template,
            context=views.email_context(self._view, **(extra or {})),
        )
        if (err := await send_email(request, self._q(EMAIL_QUEUE))) is not None:
            self._history("system", "email_failed", f"{template}: {err.cause or err}")

    async def _email_buyer(
        self, key: str, template: str, extra: dict[str, Any] | None = None
    ) -> None:
        customer = self._view.customer
        await self._send(key, str(customer.email), template, customer.locale, extra)

    async def _email_seller(
        self, key: str, template: str, extra: dict[str, Any] | None = None
    ) -> None:
        await self._send(key, self._inp.options.seller_email, template, "en", extra)

    async def _email_approvers(self, key: str, role: str | None = None, note: str = "") -> None:
        waiting = role or views.pending_roles(self._view)
        await self._send(
            f"approval:{self._round}:{key}",
            self._inp.options.approvers_email,
            "quote_approval_needed",
            "en",
            {"roles": waiting, "note": note, "round": self._round},
        )
