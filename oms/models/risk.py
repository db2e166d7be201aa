"""Models of the risk review an order passes before allocation: the rules and the facts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from oms.models.common import Model


class RiskRules(Model):
    """The merchant's risk rules as data (``oms/rules/risk_rules.json`` by default).

    Each rule an order breaks is a finding; any finding holds the order for review.
    """

    # Currency -> the largest total a customer's first order may have (a currency not
    # named has no such limit).
    first_order_max_total: dict[str, Decimal] = Field(default_factory=dict)
    # Hold when a billing address is given and its country is not the shipping country.
    billing_country_must_match: bool = True
    # Hold the order that makes a customer's orders within one hour more than this
    # (None: no limit).
    max_orders_per_hour: int | None = Field(default=None, ge=1)


class RiskCheck(Model):
    """What the order workflow knows of an order for its risk review."""

    order_id: str
    customer_id: str
    currency: str
    total: Decimal
    ship_country: str
    bill_country: str | None = None
    placed_at: datetime


class CustomerOrders(Model):
    """What the read model knows of a customer's orders around one order."""

    # Orders placed before this one (0: this is the customer's first order).
    earlier: int
    # Orders placed in the hour up to and including this one (this one counted).
    last_hour: int


class RiskReview(Model):
    """The review's result: one finding per rule the order breaks (empty: it passes)."""

    findings: list[str] = Field(default_factory=list)
