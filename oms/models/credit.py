"""Models of company credit: limits, reservations for orders, consumption on shipment."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from oms.models.common import Model, Money, PositiveAmount
from oms.models.money import TaxLine
from oms.models.shipments import ShipmentLine

PriceTier = Literal["standard", "silver", "gold"]
PaymentTerms = Literal["net30", "net60"]


class Company(Model):
    """A B2B customer company: its price tier and credit limit."""

    company_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    tier: PriceTier = "standard"
    credit_limit: Money = Decimal("0.00")
    currency: str = "SEK"
    # What happens to an order beyond the limit: wait for finance, or refuse at once.
    over_limit: Literal["hold", "refuse"] = "hold"
    # When its invoices fall due: 30 or 60 days after issue.
    payment_terms: PaymentTerms = "net30"


class CompanyMember(Model):
    """A customer who buys for a company (its price tier, quotes and invoice credit)."""

    company_id: str
    customer_id: str
    added_by: str
    added_at: datetime


class CreditStatus(Model):
    """A company's credit: ``available`` = limit - reserved - consumed + paid + credited."""

    company_id: str
    credit_limit: Decimal
    reserved: Decimal
    consumed: Decimal
    available: Decimal
    # Payments recorded against its invoices, and credit notes issued for refunds.
    paid: Decimal = Decimal("0.00")
    credited: Decimal = Decimal("0.00")


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
    """A shipment was invoiced: turn ``amount`` of the order's reservation into used credit,
    and issue the shipment's invoice of ``lines`` (one line for the amount when absent: a
    shipment started before invoices existed). ``lines`` is left out of a dump when unset."""

    key: str
    order_id: str
    shipment_id: str
    amount: Decimal
    lines: list[ShipmentLine] | None = Field(default=None, exclude_if=lambda v: v is None)
    # What the parcel charged in the order's currency, which the invoice shows; ``amount``
    # is it in the company's credit currency. Unset (a shipment started before): the
    # invoice is of ``amount`` in the credit currency.
    charged: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    currency: str | None = Field(default=None, exclude_if=lambda v: v is None)


class CreditNoteRequest(Model):
    """A refund of an invoice-term order settled with a credit note, once per ``key`` (a
    return's ``<rma>:refund:<sku>``): ``amount`` in the order's currency, VAT included, for
    the order's line ``sku`` (its VAT rate splits the note; None: the order's rates)."""

    key: str
    order_id: str
    amount: Decimal
    reason: str
    sku: str | None = None
    # The units of ``sku`` the note credits, shown as its line's quantity (unset: one line
    # of quantity 1 per VAT rate, as a refund without a return is). Left out of a dump when
    # unset, so a request of a run from before reads the same.
    quantity: int | None = Field(default=None, ge=1, exclude_if=lambda v: v is None)


class CreditNoteIssued(Model):
    """The credit note a refund became: its number and what it credits."""

    number: str
    order_id: str
    amount: Decimal
    currency: str


class CreditMovement(Model):
    order_id: str
    amount: Decimal


class InvoiceLine(Model):
    sku: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class Invoice(Model):
    """An invoice of a shipment of an invoice-term order, or a credit note of a refund."""

    number: str
    kind: Literal["invoice", "credit_note"]
    order_id: str
    shipment_id: str | None = None
    company_id: str
    currency: str
    lines: list[InvoiceLine]
    net: Decimal
    tax: Decimal
    total: Decimal
    issued_at: datetime
    # The buyer's purchase-order number (the order's ``payment.po_number``), which their
    # accounts payable match it by; on credit notes too. None only for an order whose
    # stored view never showed it.
    po_number: str | None = None
    # Invoices only: issue date plus the company's payment terms.
    due_date: date | None = None
    # Credit notes only: why (the refund's reason), and net and VAT per rate of what it
    # credits (split as the order was taxed: oms.domain.tax.refund_tax).
    reason: str | None = None
    tax_lines: list[TaxLine] = Field(default_factory=list)


class RecordPayment(Model):
    """Body of ``POST /companies/{company_id}/payments``: money received from the company."""

    amount: PositiveAmount
    # The bank's or the company's reference: the same reference records one payment.
    reference: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/:-]*$")


class CompanyPayment(Model):
    company_id: str
    reference: str
    amount: Decimal
    currency: str
    recorded_by: str
    received_at: datetime
    # The company's credit after the payment.
    credit: CreditStatus
