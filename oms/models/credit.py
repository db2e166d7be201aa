"""Models of company credit: limits, reservations for orders, consumption on shipment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from oms.models.common import Model, Money

PriceTier = Literal["standard", "silver", "gold"]


class Company(Model):
    """A B2B customer company: its price tier and credit limit."""

    company_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    tier: PriceTier = "standard"
    credit_limit: Money = Decimal("0.00")
    currency: str = "SEK"
    # What happens to an order beyond the limit: wait for finance, or refuse at once.
    over_limit: Literal["hold", "refuse"] = "hold"


class CompanyMember(Model):
    """A customer who buys for a company (its price tier, quotes and invoice credit)."""

    company_id: str
    customer_id: str
    added_by: str
    added_at: datetime


class CreditStatus(Model):
    company_id: str
    credit_limit: Decimal
    reserved: Decimal
    consumed: Decimal
    available: Decimal


class ReserveCredit(Model):
    """Hold ``amount`` of the company's credit for an order, idempotent on ``key``."""

    key: str
    company_id: str
    order_id: str
    amount: Decimal
    currency: str
    # Finance approved going over the limit for this order.
    allow_over_limit: bool = False


class CreditReservation(Model):
    key: str
    status: Literal["reserved", "over_limit"]
    amount: Decimal
    available_before: Decimal
    over_limit_action: Literal["hold", "refuse"] = "hold"


class ReleaseCredit(Model):
    """Release what is still reserved for the order (cancel, or less shipped than ordered)."""

    order_id: str


class ConsumeCredit(Model):
    """A shipment was invoiced: turn ``amount`` of the order's reservation into used credit."""

    key: str
    order_id: str
    shipment_id: str
    amount: Decimal


class CreditMovement(Model):
    order_id: str
    amount: Decimal
