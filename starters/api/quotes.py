"""``/quotes`` and ``/companies``: B2B requests for quote, negotiation, approvals, credit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from temporalio.exceptions import WorkflowAlreadyStartedError

from oms.domain.auth import Principal
from oms.domain.lifecycle import QUOTE
from oms.ids import order_id_for
from oms.models.common import CustomerId, Page
from oms.models.credit import Company, CompanyMember, CreditStatus
from oms.models.orders import CreditApproval, OrderView, PurchaseDecision
from oms.models.quotes import (
    AcceptQuote,
    AcceptResult,
    Actor,
    ApprovalDecision,
    CounterOffer,
    ProposeQuote,
    QuoteInput,
    QuoteOptions,
    QuoteStatus,
    QuoteView,
    RequestQuote,
    WithdrawQuote,
)
from oms.rules import load_approval_policy
from oms.settings import Settings
from oms.store import credit, prices, quotes
from oms.store.errors import UnknownCompany
from oms.views.quotes import for_buyer
from starters.api.auth import (
    APPROVERS,
    acting_role,
    check_member,
    check_owner,
    check_visible,
    not_found,
    require,
)
from starters.api.deps import (
    ApiState,
    Paging,
    State,
    api_error,
    content_hash,
    field_error,
    in_store,
)
from starters.api.destinations import check_customs, check_destination
from starters.api.idempotency import IdempotencyKey, once
from starters.api.kinds import WorkflowKind, buyers_see
from starters.api.orders import ORDERS, options_from, totals_in
from starters.api.payment_terms import company_terms
from starters.api.pricing import quote_order_pricing
from workflows.order import OrderWorkflow
from workflows.quote import QuoteWorkflow, quote_workflow_id

router = APIRouter(tags=["quotes"])
SELLERS = ("sales", "sales_manager", "sales_director")
Requester = Annotated[Principal, Depends(require("buyer", "sales"))]
Reader = Annotated[Principal, Depends(require("buyer", "support", *SELLERS, *APPROVERS))]
Seller = Annotated[Principal, Depends(require(*SELLERS))]
Buyer = Annotated[Principal, Depends(require("buyer"))]
BuyerOrSeller = Annotated[Principal, Depends(require("buyer", *SELLERS))]
Approver = Annotated[Principal, Depends(require(*APPROVERS))]
CreditApprover = Annotated[Principal, Depends(require("finance", "cfo"))]
CompanyReader = Annotated[Principal, Depends(require("support", *SELLERS, *APPROVERS))]
CreditReader = Annotated[Principal, Depends(require("buyer", "support", *SELLERS, *APPROVERS))]
Admin = Annotated[Principal, Depends(require("admin"))]
MemberManager = Annotated[Principal, Depends(require("sales"))]
# A customer id in a path: what the body's customer id accepts (never an email address).
CustomerIdPath = Annotated[CustomerId, Path(description="the customer's id")]


QUOTES = WorkflowKind(
    "quote",
    QuoteWorkflow.run,
    quote_workflow_id,
    QuoteWorkflow.state,
    quotes.get_quote,
    owner=lambda view: (view.customer.id, view.customer.company_id),
    seen_by=buyers_see(QuoteView, for_buyer),
)


def quote_options(
    settings: Settings, expires_in_days: int, currency: str | None = None
) -> QuoteOptions:
    """Options a new quote runs with: the merchant's approval rules (their totals, set in
    the base currency, in ``currency`` at today's rate) and where emails go."""
    policy = load_approval_policy(settings.approval_rules_path)
    if currency is not None:
        totals_in(settings, policy, currency)
    return QuoteOptions(
        expires_in_days=expires_in_days,
        seller_email=settings.sales_email,
        approvers_email=settings.approvers_email,
        approver_reminder_after_s=settings.quote_approver_reminder_s,
        approval_escalate_after_s=settings.quote_escalate_s,
        policy=policy,
        task_queue_prefix=settings.task_queue_prefix,
        order_options=options_from(settings),
    )


class _Approval(Protocol):
    """A role a quote or an order waits for, and its decision once made."""

    @property
    def role(self) -> str: ...

    @property
    def decision(self) -> object: ...


Decision = TypeVar("Decision", ApprovalDecision, PurchaseDecision, CreditApproval)


def _waiting_for(approvals: Sequence[_Approval]) -> str:
    """The first role still to decide (``admin`` when none: the workflow refuses it)."""
    return next((a.role for a in approvals if a.decision is None), "admin")


def _signed(caller: Principal, body: Decision, waiting_for: str) -> Decision:
    """``body`` as ``caller``'s decision: whatever the body says, the approver is the
    caller, in the caller's role (an admin's: the one the body names, else ``waiting_for``)."""
    role = acting_role(caller, body.role, "role" in body.model_fields_set, waiting_for)
    return body.model_copy(update={"approver": caller.subject, "role": role})


def _derived(quote_id: str) -> list[tuple[str, str]]:
    """The ids a quote takes for good with its own: the order it becomes when accepted."""
    return [(ORDERS.name, order_id_for(quote_id))]


@router.post("/quotes", status_code=202, responses={200: {"model": QuoteView}, 409: {}, 422: {}})
async def request_quote(
    body: RequestQuote,
    state: State,
    caller: Requester,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Start a request for quote; a resubmission returns the existing quote.

    A buyer may only ask for their own customer id or company (403 otherwise), and only
    as a member of the company (404 otherwise; staff get a 422); who submitted it is the
    caller, whatever ``submitted_by`` says. A ``ship_to`` that ``POST /orders`` would refuse
    is a 422 naming the field (``starters.api.destinations``). The quote's id and the id of
    the order it may become are taken for good (409 when either is taken by something else).
    """
    return await once(
        request, state, caller, idempotency_key, lambda: _request(body, state, caller)
    )


async def _request(body: RequestQuote, state: ApiState, caller: Principal) -> Response:
    check_owner(caller, body.customer.id, body.customer.company_id, what="customer id")
    # The order an accepted quote becomes ships here: refused now, not held then.
    check_destination(body.ship_to, ["ship_to"])
    skus = [line.sku for line in body.lines]
    if len(set(skus)) != len(skus):
        dup = next(i for i, s in enumerate(skus) if skus.index(s) != i)
        raise field_error(["lines", dup, "sku"], "duplicate SKU: put it on one line", skus[dup])
    known, company = await in_store(
        state,
        lambda session: (
            prices.for_order(session, body.currency, skus),
            credit.get_company(session, body.customer.company_id),
        ),
    )
    for i, sku in enumerate(skus):
        if sku not in known:
            raise field_error(["lines", i, "sku"], f"unknown SKU {sku!r}", sku)
    await check_customs(state.db, body.ship_to.country, skus, ["lines"])
    if company is None and not caller.is_buyer:
        raise field_error(
            ["customer", "company_id"],
            f"unknown company {body.customer.company_id!r}",
            body.customer.company_id,
        )
    # The company's price tier and credit are for its members only (a buyer hears 404).
    await check_member(
        state, caller, body.customer.company_id, body.customer.id, ["customer", "company_id"]
    )
    quote_id = body.quote_id or f"Q-{uuid.uuid4().hex[:10].upper()}"
    digest = content_hash(body, "quote_id")
    # The order an accepted quote becomes is taken with the quote's id, in one transaction:
    # nobody may place it first, and a quote that could never become it takes nothing.
    answered = await QUOTES.reserve(state, caller, quote_id, digest, _derived(quote_id))
    if answered is not None:
        return answered
    inp = QuoteInput(
        quote_id=quote_id,
        customer=body.customer,
        currency=body.currency,
        lines=body.lines,
        ship_to=body.ship_to,
        note=body.note,
        submitted_by=Actor.model_validate({"name": caller.subject, "role": caller.role}),
        submitted_at=datetime.now(UTC),
        options=quote_options(state.settings, body.expires_in_days, body.currency),
    )
    inp.options.order_pricing = quote_order_pricing(
        state.settings,
        body.currency,
        body.ship_to,
        {sku: tax_class for sku, (_price, tax_class) in known.items()},
    )
    try:
        await QUOTES.start(
            state.client,
            state.settings,
            quote_id,
            inp,
            digest=digest,
            customer_id=body.customer.id,
            step=QUOTE.step("submitted"),
            now=inp.submitted_at,
            deadline=inp.submitted_at + timedelta(days=inp.options.expires_in_days),
            summary=(
                f"Quote {quote_id} · {len(body.lines)} line(s) · company "
                f"{body.customer.company_id} · b2b"
            ),
        )
    except WorkflowAlreadyStartedError:
        return await QUOTES.resubmitted(state, quote_id, digest, caller)
    return JSONResponse({"quote_id": quote_id, "status": "submitted"}, status_code=202)


@router.get("/quotes/{quote_id}", response_model=QuoteView)
async def get_quote(quote_id: str, state: State, caller: Reader) -> QuoteView:
    """The quote: status, current proposal, approvals required and received, deadlines, history.

    A buyer sees no proposal before it is offered to them, no approvals and only the history
    meant for them (docs/security.md, "What a buyer sees of a quote")."""
    return await QUOTES.load_seen(state, caller, quote_id)


@router.get("/quotes", response_model=Page[QuoteView])
def list_quotes(
    state: State,
    caller: Reader,
    page: Paging,
    status: QuoteStatus | None = None,
    company_id: str | None = None,
) -> Page[QuoteView]:
    """Quotes most recently changed first; a buyer sees their own (or their company's), each
    as ``GET /quotes/{id}`` shows it to them."""
    customer_id = None
    if caller.is_buyer:
        if caller.company_id is not None:
            if company_id is not None:
                check_owner(caller, "", company_id, what="company's quotes")
            company_id = caller.company_id
        else:
            customer_id = caller.customer_id or ""
    with state.db.read() as session:
        listed = quotes.list_quotes(
            session,
            status=status.value if status else None,
            company_id=company_id,
            limit=page.limit,
            cursor=page.cursor,
            customer_id=customer_id,
        )
    listed.items = [QUOTES.as_seen_by(caller, view) for view in listed.items]
    return listed


@router.post("/quotes/{quote_id}/proposals", response_model=QuoteView)
async def propose(quote_id: str, body: ProposeQuote, state: State, caller: Seller) -> QuoteView:
    """The seller proposes prices (list, tier and volume discounts, overrides with a reason)."""
    return await QUOTES.update_known(state, quote_id, QuoteWorkflow.propose, body, caller)


@router.post("/quotes/{quote_id}/counter-offers", response_model=QuoteView)
async def counter(quote_id: str, body: CounterOffer, state: State, caller: Buyer) -> QuoteView:
    """The buyer counters with target prices; the seller proposes again.

    At most ``OMS_QUOTE_MAX_COUNTER_OFFERS`` per quote (409 ``TooManyRounds``): a
    negotiation without end would grow the quote's history past Temporal's limit.
    """
    await QUOTES.load_visible(state, caller, quote_id)
    # The workflow's own state: the read model may not show the last counter-offer yet.
    view = await QUOTES.current(state, quote_id)
    made = sum(1 for entry in view.history if entry.status == QuoteStatus.COUNTERED)
    if made >= state.settings.quote_max_counter_offers:
        raise api_error(
            409, "TooManyRounds", f"{made} counter-offers already: accept, withdraw or ask anew"
        )
    return await QUOTES.update(state, quote_id, QuoteWorkflow.counter, body, caller)


@router.post("/quotes/{quote_id}/approvals", response_model=QuoteView)
async def decide(
    quote_id: str, body: ApprovalDecision, state: State, caller: Approver
) -> QuoteView:
    """An approver decides; 403 for a role the quote does not wait for, 409 for a repeat.

    The approver and role recorded are the caller's (an admin may name the role it acts in).
    Whoever proposed the prices may not approve them (403 SelfApproval).
    """
    # The workflow's own state: the read model may not show the latest proposal yet.
    view = await QUOTES.current(state, quote_id)
    if view.proposal is not None and view.proposal.by == caller.subject:
        raise api_error(
            403, "SelfApproval", "the proposer of a price may not approve it; ask another approver"
        )
    body = _signed(caller, body, _waiting_for(view.approvals))
    return await QUOTES.update(state, quote_id, QuoteWorkflow.decide, body)


@router.post("/quotes/{quote_id}/accept", response_model=AcceptResult)
async def accept(quote_id: str, body: AcceptQuote, state: State, caller: Buyer) -> AcceptResult:
    """The buyer accepts: an order starts at the negotiated prices on invoice terms.

    Only while the buyer is still a member of the quote's company (404 otherwise). The
    order's id (``<quote id>-O``) is the quote's, taken when it was created; a quote older
    than the store's reserved ids takes it now, and is a 409 ``QuoteIdConflict`` naming it
    when someone has placed an order with it (before anything is accepted). The order's
    payment terms are the company's: ``payment_terms`` may be left out, and other terms
    than the company's are a 422 naming it.
    """
    view = await QUOTES.load_visible(state, caller, quote_id)
    company_id = view.customer.company_id
    await check_member(state, caller, company_id, view.customer.id, ["quote_id"])
    # The order is placed on the company's terms, which the quote's history names.
    terms = await company_terms(state, company_id, body.payment_terms, ["payment_terms"])
    body = body.model_copy(update={"payment_terms": terms})
    await QUOTES.keep(state, quote_id, _derived(quote_id))
    return await QUOTES.update(state, quote_id, QuoteWorkflow.accept, body, caller)


@router.post("/quotes/{quote_id}/withdraw", response_model=QuoteView)
async def withdraw(
    quote_id: str, body: WithdrawQuote, state: State, caller: BuyerOrSeller
) -> QuoteView:
    return await QUOTES.update_visible(state, caller, quote_id, QuoteWorkflow.withdraw, body)


@router.post("/quotes/{quote_id}/reopen", response_model=QuoteView)
async def reopen(
    quote_id: str, body: WithdrawQuote, state: State, caller: BuyerOrSeller
) -> QuoteView:
    """Re-open an expired quote at list prices."""
    return await QUOTES.update_visible(state, caller, quote_id, QuoteWorkflow.reopen, body)


@router.post("/orders/{order_id}/credit-approval", response_model=OrderView, tags=["orders"])
async def approve_credit(
    order_id: str, body: CreditApproval, state: State, caller: CreditApprover
) -> OrderView:
    """Finance lets an order held over its company's credit limit go ahead (as the caller)."""
    body = _signed(caller, body, "finance")
    return await ORDERS.update(state, order_id, OrderWorkflow.approve_credit, body)


@router.post("/orders/{order_id}/approvals", response_model=OrderView, tags=["orders"])
async def approve_purchase(
    order_id: str, body: PurchaseDecision, state: State, caller: Approver
) -> OrderView:
    """An approver decides on a company order the approval rules hold (a purchase order):
    403 for a role the order does not wait for and for whoever placed it (``SelfApproval``),
    409 when it waits for no approval or the caller decided already.

    The approver and role recorded are the caller's (an admin may name the role it acts in).
    """
    view = await ORDERS.current(state, order_id)
    body = _signed(caller, body, _waiting_for(view.approvals))
    return await ORDERS.update(state, order_id, OrderWorkflow.approve_purchase, body)


@router.get("/companies", response_model=Page[Company], tags=["companies"])
def list_companies(state: State, caller: CompanyReader, page: Paging) -> Page[Company]:
    """Companies by id, a page at a time."""
    with state.db.read() as session:
        return credit.list_companies(session, page.limit, page.cursor)


@router.put("/companies/{company_id}", response_model=Company, tags=["companies"])
def put_company(company_id: str, body: Company, state: State, caller: Admin) -> Company:
    if body.company_id != company_id:
        raise field_error(["company_id"], "must match the path", body.company_id)
    with state.db.session() as session:
        return credit.upsert_company(session, body)


@router.get("/companies/{company_id}/credit", response_model=CreditStatus, tags=["companies"])
def company_credit(company_id: str, state: State, caller: CreditReader) -> CreditStatus:
    """The company's credit: staff see any; a buyer only their company's (404 otherwise)."""
    check_visible(caller, "", company_id, f"company {company_id}")
    with state.db.read() as session:
        if credit.get_company(session, company_id) is None:
            raise not_found(f"company {company_id}")
        return credit.status(session, company_id)


@router.get(
    "/companies/{company_id}/members", response_model=Page[CompanyMember], tags=["companies"]
)
def list_members(
    company_id: str, state: State, caller: CompanyReader, page: Paging
) -> Page[CompanyMember]:
    """Customers who buy for the company (its prices, quotes and invoice credit), a page at
    a time."""
    with state.db.read() as session:
        if credit.get_company(session, company_id) is None:
            raise not_found(f"company {company_id}")
        return credit.list_members(session, company_id, page.limit, page.cursor)


@router.put(
    "/companies/{company_id}/members/{customer_id}",
    response_model=CompanyMember,
    tags=["companies"],
)
def add_member(
    company_id: str, customer_id: CustomerIdPath, state: State, caller: MemberManager
) -> CompanyMember:
    """Let a customer buy for the company (adding twice keeps the first; 404 unknown company)."""
    with state.db.session() as session:
        try:
            return credit.add_member(session, company_id, customer_id, by=caller.subject)
        except UnknownCompany:
            raise not_found(f"company {company_id}") from None


@router.delete("/companies/{company_id}/members/{customer_id}", status_code=204, tags=["companies"])
def remove_member(
    company_id: str, customer_id: str, state: State, caller: MemberManager
) -> Response:
    """End a membership: no new invoice orders or quotes (404 when there was none)."""
    with state.db.session() as session:
        if not credit.remove_member(session, company_id, customer_id):
            raise not_found(f"member {customer_id} of company {company_id}")
    return Response(status_code=204)
