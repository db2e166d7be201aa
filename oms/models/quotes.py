"""Models of B2B quotes: request, proposals, counter-offers, approvals, acceptance."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from oms.models.common import (
    Address,
    ByCaller,
    Currency,
    Customer,
    HistoryEntry,
    Model,
    Money,
    Sku,
)
from oms.models.money import OrderPricing
from oms.models.orders import OrderOptions

QUOTE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Role = Literal[
    "buyer", "sales", "sales_manager", "sales_director", "finance", "cfo", "ops", "admin"
]


class QuoteStatus(StrEnum):
    SUBMITTED = "submitted"
    PROPOSED = "proposed"
    COUNTERED = "countered"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    ORDERED = "ordered"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


OPEN_QUOTE_STATES = frozenset(
    {
        QuoteStatus.SUBMITTED,
        QuoteStatus.PROPOSED,
        QuoteStatus.COUNTERED,
        QuoteStatus.PENDING_APPROVAL,
        QuoteStatus.APPROVED,
    }
)


class B2BCustomer(Customer):
    """A buyer who belongs to a company (which holds the credit limit and price tier)."""

    company_id: str = Field(min_length=1, max_length=64)

    def as_customer(self) -> Customer:
        """The buyer as the customer of an order: every ``Customer`` field, without the company."""
        return Customer.model_validate(self.model_dump(exclude={"company_id"}))


class Actor(Model):
    """Who did something: a name and the role they acted in."""

    name: str = Field(min_length=1, max_length=100)
    role: Role


class QuoteLineRequest(Model):
    sku: Sku
    quantity: int = Field(ge=1, le=100_000)
    target_unit_price: Money | None = None


class RequestQuote(Model):
    """Body of ``POST /quotes``: a buyer (or a sales rep for them) asks for prices."""

    quote_id: str | None = Field(default=None, pattern=QUOTE_ID_PATTERN)
    customer: B2BCustomer
    currency: Currency
    lines: list[QuoteLineRequest] = Field(min_length=1, max_length=200)
    ship_to: Address
    note: str | None = Field(default=None, max_length=2000)
    submitted_by: Actor | None = None
    expires_in_days: int = Field(default=30, ge=1, le=365)


class PricedLine(Model):
    """One line of a proposal: list price, the price offered and why it differs."""

    sku: str
    quantity: int
    list_price: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    target_unit_price: Decimal | None = None
    override_reason: str | None = Field(
        default=None, description="why the seller overrode the price; null for a buyer"
    )


class Proposal(Model):
    """Prices the seller offers, one round of the negotiation."""

    round: int
    lines: list[PricedLine]
    list_total: Decimal
    total: Decimal
    discount_pct: Decimal
    # Always set by the pricing; left out of a buyer's view (the proposer may be an approver).
    by: str | None = Field(default=None, description="who proposed the prices; null for a buyer")
    at: datetime
    comment: str | None = Field(
        default=None, description="the seller's comment on the round; null for a buyer"
    )


class LineOverride(Model):
    sku: Sku
    unit_price: Money
    reason: str = Field(min_length=1, max_length=500)


class ProposeQuote(ByCaller):
    """Body of ``POST /quotes/{id}/proposals``: the seller (re-)proposes, optionally overriding."""

    overrides: list[LineOverride] = Field(default_factory=list)
    comment: str | None = Field(default=None, max_length=2000)


class CounterLine(Model):
    sku: Sku
    target_unit_price: Money


class CounterOffer(ByCaller):
    """Body of ``POST /quotes/{id}/counter-offers``: the buyer asks for other prices."""

    lines: list[CounterLine] = Field(default_factory=list)
    comment: str | None = Field(default=None, max_length=2000)


class ApprovalDecision(Model):
    """Body of ``POST /quotes/{id}/approvals``.

    ``approver`` and ``role`` are filled by the API from the caller's bearer token
    (a value sent in the body is ignored); only an admin may name the ``role`` it acts in.
    """

    approver: str = Field(default="api", min_length=1, max_length=100)
    role: Role = "admin"
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=2000)


class AcceptQuote(ByCaller):
    """Body of ``POST /quotes/{id}/accept``: the buyer orders at the approved prices."""

    po_number: str = Field(min_length=1, max_length=64)
    # The company's terms, which the merchant sets (``PUT /companies/{id}``): the API fills
    # them in and refuses other terms (422). Optional so a buyer need not know them.
    payment_terms: Literal["net30", "net60"] | None = None


class WithdrawQuote(ByCaller):
    reason: str = Field(default="", max_length=500)


class ApprovalRule(Model):
    """A merchant's rule: when a proposal matches, ``role`` must approve it.

    A rule matches when every condition it sets holds (unset conditions are ignored).
    """

    rule_id: str
    name: str
    role: Role
    min_total: Decimal | None = None
    min_discount_pct: Decimal | None = None
    min_skus: int | None = None


class ApprovalPolicy(Model):
    """All of a merchant's approval rules and who stands above whom for escalation."""

    rules: list[ApprovalRule] = Field(default_factory=list)
    escalation: dict[str, str] = Field(default_factory=dict)


class ApprovalRequirement(Model):
    """One approval a proposal needs, and what happened to it."""

    rule_id: str
    rule_name: str
    role: str
    original_role: str
    requested_at: datetime
    reminded: bool = False
    escalated_at: datetime | None = None
    decision: Literal["approve", "reject"] | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None


class QuoteOptions(Model):
    """Timings and rules a quote runs with, fixed when it starts."""

    expires_in_days: int = 30
    seller_reminder_before_s: int = 48 * 3600
    buyer_reminder_before_s: int = 24 * 3600
    approver_reminder_after_s: int = 24 * 3600
    approval_escalate_after_s: int = 72 * 3600
    seller_email: str = "sales@oms.example"
    approvers_email: str = "approvers@oms.example"
    policy: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    task_queue_prefix: str = ""
    # Options for the order an accepted quote starts.
    order_options: OrderOptions | None = None
    # How that order is taxed and charged (None: the sum of its lines, as before 0.3).
    order_pricing: OrderPricing | None = None


class QuoteInput(Model):
    quote_id: str = Field(pattern=QUOTE_ID_PATTERN)
    customer: B2BCustomer
    currency: Currency
    lines: list[QuoteLineRequest]
    ship_to: Address
    note: str | None = None
    submitted_by: Actor
    submitted_at: datetime
    options: QuoteOptions = Field(default_factory=QuoteOptions)


class QuoteView(Model):
    """A quote as the API, the read model and the workflow query show it.

    A buyer gets it without what is internal to the seller (``oms.views.quotes.for_buyer``,
    docs/security.md): no proposal until it is offered to them, no approvals, and only the
    history lines meant for them.
    """

    quote_id: str
    status: QuoteStatus
    customer: B2BCustomer
    currency: str
    lines: list[QuoteLineRequest]
    ship_to: Address
    note: str | None = None
    proposal: Proposal | None = Field(
        default=None,
        description=(
            "the current proposal; for a buyer null until it is offered to them (it needed "
            "no approval, or every approver approved it)"
        ),
    )
    approvals: list[ApprovalRequirement] = Field(
        default_factory=list,
        description="the approvals the proposal needs and their decisions; empty for a buyer",
    )
    submitted_at: datetime
    expires_at: datetime
    order_id: str | None = None
    po_number: str | None = None
    history: list[HistoryEntry] = Field(
        default_factory=list,
        description=(
            "what happened; a buyer sees their own steps and the seller's in their words, "
            "never an approver's"
        ),
    )
    updated_at: datetime
    version: int = 0


class PriceQuoteRequest(Model):
    """Ask the pricing step for a proposal: list prices, tier and volume discounts, overrides."""

    quote_id: str
    company_id: str
    currency: str
    lines: list[QuoteLineRequest]
    overrides: list[LineOverride] = Field(default_factory=list)
    round: int
    by: str
    comment: str | None = None
    # True after expiry and re-opening: list prices only, no negotiated discounts.
    list_prices_only: bool = False


class AcceptResult(Model):
    quote_id: str
    order_id: str
