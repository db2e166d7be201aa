"""B2B invoices, credit notes and company payments.

An invoice is issued in the transaction that consumes a shipment's credit
(``oms.store.credit.consume``), under the same business key, so each shipment of an
invoice-term order has exactly one. A refund of such an order issues a credit note (once
per refund key) instead of asking a card provider; a company's payment is recorded once per
reference. Payments and credit notes give credit back: a company's available credit is
limit - reserved - consumed + paid + credited (``oms.store.credit.status``).
Functions run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oms.domain.money import quantize, round_money
from oms.domain.tax import refund_tax
from oms.models.common import Page
from oms.models.credit import CompanyPayment, CreditStatus, Invoice, InvoiceLine
from oms.models.money import TaxLine
from oms.models.shipments import ShipmentLine
from oms.store import paging
from oms.store.db import get_or_insert
from oms.store.errors import CreditNoteRefused, PaymentReferenceReused
from oms.store.tables import CompanyPaymentRow, CompanyRow, InvoiceRow, OrderRow

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
ZERO = Decimal("0.00")
TERMS_DAYS = {"net30": 30, "net60": 60}


def issue_invoice(
    session: Session,
    *,
    key: str,
    company: CompanyRow,
    order_id: str,
    shipment_id: str,
    amount: Decimal,
    lines: list[ShipmentLine] | None,
    now: datetime,
    currency: str | None = None,
) -> Invoice:
    """The shipment's invoice under ``key``: issued now if new, else the one issued.

    ``amount`` is what the parcel charged (VAT and, on the first parcel, shipping
    included) in ``currency``, the order's (None: the company's credit currency, a shipment
    started before invoices were in the order's currency). Lines are the shipment's (one
    line for ``amount`` when not given), plus a ``SHIPPING`` line for the net the lines do
    not account for; tax is the parcel's share of the tax the order records, in proportion
    to what it charged (none recorded: zero); due after the company's payment terms.
    """
    stored = _by_key(session, key)
    if stored is not None:
        return _invoice(stored)
    currency = currency or company.currency
    amount = round_money(amount, currency)
    invoice_lines = (
        [
            InvoiceLine(
                sku=li.sku,
                quantity=li.quantity,
                unit_price=round_money(li.unit_price, currency),
                amount=round_money(li.unit_price * li.quantity, currency),
            )
            for li in lines
        ]
        if lines
        else [InvoiceLine(sku="-", quantity=1, unit_price=amount, amount=amount)]
    )
    tax = tax_share(_recorded_tax(session, order_id), amount, currency)
    net = amount - tax
    rest = net - sum((line.amount for line in invoice_lines), ZERO)
    if lines and rest > 0:
        invoice_lines.append(InvoiceLine(sku="SHIPPING", quantity=1, unit_price=rest, amount=rest))
    days = TERMS_DAYS.get(company.payment_terms, 30)
    row = InvoiceRow(
        key=key,
        kind=INVOICE,
        order_id=order_id,
        shipment_id=shipment_id,
        company_id=company.company_id,
        currency=currency,
        lines={
            "lines": [line.model_dump(mode="json") for line in invoice_lines],
            **_po(order_view(session, order_id)),
        },
        net=net,
        tax=tax,
        total=net + tax,
        issued_at=now,
        due_at=now + timedelta(days=days),
    )
    return _numbered(session, row, "INV")


def issue_credit_note(
    session: Session,
    *,
    key: str,
    company: CompanyRow,
    order_id: str,
    amount: Decimal,
    reason: str,
    now: datetime,
    charged: Sequence[TaxLine],
    consumed: Decimal,
    sku: str | None = None,
    quantity: int | None = None,
) -> Invoice:
    """A credit note of ``amount`` (tax included, in the currency of the order's invoices)
    against the order's invoices, once per ``key``. ``quantity``: the units of ``sku`` it
    credits (its line shows them at the net unit price, the line's amount the exact net, as
    a buyer matches it against the invoice's line); unset, one line of quantity 1 per rate.

    Its net and VAT per rate are ``amount`` split as ``charged`` (the order's tax lines, or
    the rate of the refunded line ``sku``; oms.domain.tax.refund_tax). What it gives back to
    the company's credit is ``amount``, or, for an order in another currency than the
    credit's, the same share of what the order's invoices consumed (``consumed``, in the
    credit currency). The caller holds the company's row lock. Raises ``CreditNoteRefused``
    for more than invoiced minus already credited (nothing invoiced yet: nothing to credit).
    """
    stored = _by_key(session, key)
    if stored is not None:
        return _invoice(stored)
    sums: dict[str, Decimal] = {
        kind: total
        for kind, total in session.execute(
            select(InvoiceRow.kind, func.sum(InvoiceRow.total))
            .where(InvoiceRow.order_id == order_id)
            .group_by(InvoiceRow.kind)
        )
    }
    invoiced, credited = sums.get(INVOICE) or ZERO, sums.get(CREDIT_NOTE) or ZERO
    currency = (
        session.scalar(
            select(InvoiceRow.currency)
            .where(InvoiceRow.order_id == order_id, InvoiceRow.kind == INVOICE)
            .limit(1)
        )
        or company.currency
    )
    amount = round_money(amount, currency)
    if amount > invoiced - credited:
        raise CreditNoteRefused(
            f"{amount} is more than invoiced minus credited ({invoiced - credited}) "
            f"on order {order_id}"
        )
    split = refund_tax(amount, charged, currency)
    tax = sum((t.tax for t in split), ZERO)
    units = quantity if quantity and sku and len(split) == 1 else 1
    lines = [
        InvoiceLine(
            sku=sku or "-",
            quantity=units,
            unit_price=round_money(t.net / units, currency),
            amount=t.net,
        )
        for t in split
    ]
    credit = None
    if currency != company.currency:
        credit = round_money(amount * consumed / invoiced, company.currency)
    row = InvoiceRow(
        key=key,
        kind=CREDIT_NOTE,
        order_id=order_id,
        company_id=company.company_id,
        currency=currency,
        lines={
            "lines": [line.model_dump(mode="json") for line in lines],
            "reason": reason,
            "tax": [t.model_dump(mode="json") for t in split],
            **_po(order_view(session, order_id)),
        },
        net=amount - tax,
        tax=tax,
        total=amount,
        issued_at=now,
        credit=credit,
    )
    return _numbered(session, row, "CN")


def charged_rates(session: Session, order_id: str, sku: str | None = None) -> list[TaxLine]:
    """What the order charged per VAT rate, to split a refund by (``refund_tax``): the rate
    of its line ``sku`` when given and recorded, else its tax lines as its stored view
    records them (none recorded: an order placed without totals, all net)."""
    row = session.get(OrderRow, order_id)
    view: dict[str, Any] = row.view if row is not None else {}
    if sku is not None:
        for line in view.get("lines", []):
            if line.get("sku") == sku and line.get("tax_rate") is not None:
                return [TaxLine(rate=Decimal(str(line["tax_rate"])), net=Decimal(1), tax=ZERO)]
    return [TaxLine.model_validate(t) for t in view.get("tax", [])]


def for_order(
    session: Session, order_id: str, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Invoice]:
    """The order's invoices and credit notes, oldest first. Raises ``InvalidCursor``."""
    query = select(InvoiceRow).where(InvoiceRow.order_id == order_id)
    # One issued before invoices kept the PO number: the order's, as its view shows it.
    po_number = _po(order_view(session, order_id)).get("po_number")

    def invoice(row: InvoiceRow) -> Invoice:
        return _invoice(row, po_number)

    return paging.page(
        session, query, [(InvoiceRow.id, False)], invoice, cursor=cursor, limit=limit
    )


def record_payment(
    session: Session,
    company: CompanyRow,
    reference: str,
    amount: Decimal,
    by: str,
    now: datetime,
) -> tuple[CompanyPaymentRow, bool]:
    """The company's payment under ``reference``: recorded now if new (True), else the one
    recorded. The caller holds the company's row lock.

    Raises ``PaymentReferenceReused`` when the reference holds another amount.
    """
    amount = quantize(amount)
    row, recorded = get_or_insert(
        session,
        CompanyPaymentRow,
        (company.company_id, reference),
        lambda: CompanyPaymentRow(
            company_id=company.company_id,
            reference=reference,
            amount=amount,
            currency=company.currency,
            recorded_by=by,
            received_at=now,
        ),
    )
    if not recorded and row.amount != amount:
        raise PaymentReferenceReused(
            f"reference {reference!r} already recorded a payment of {row.amount} {row.currency}"
        )
    return row, recorded


def payment(row: CompanyPaymentRow, credit: CreditStatus) -> CompanyPayment:
    return CompanyPayment(
        company_id=row.company_id,
        reference=row.reference,
        amount=quantize(row.amount),
        currency=row.currency,
        recorded_by=row.recorded_by,
        received_at=row.received_at,
        credit=credit,
    )


def paid_and_credited(session: Session, company_id: str) -> tuple[Decimal, Decimal]:
    """What the company paid and was credited (credit notes), for its available credit."""
    paid = session.scalar(
        select(func.sum(CompanyPaymentRow.amount)).where(CompanyPaymentRow.company_id == company_id)
    )
    credited = session.scalar(
        select(func.sum(func.coalesce(InvoiceRow.credit, InvoiceRow.total))).where(
            InvoiceRow.company_id == company_id, InvoiceRow.kind == CREDIT_NOTE
        )
    )
    return quantize(paid or ZERO), quantize(credited or ZERO)


def tax_share(
    order_tax: tuple[Decimal, Decimal] | None, charged: Decimal, currency: str = "SEK"
) -> Decimal:
    """The share of an order's tax that ``charged`` of its total carries, rounded to
    ``currency``'s minor unit: ``order_tax`` is (tax, total) as the order records them,
    None when it records none (zero tax)."""
    if order_tax is None:
        return ZERO
    tax, total = order_tax
    if tax <= 0 or total <= 0:
        return ZERO
    return round_money(tax * charged / total, currency)


def order_view(session: Session, order_id: str) -> dict[str, Any]:
    """The order's stored view as JSON (empty when it has none)."""
    row = session.get(OrderRow, order_id)
    return row.view if row is not None else {}


def _po(view: dict[str, Any]) -> dict[str, str]:
    """``{"po_number": ...}`` of an order's stored view when it shows one (the buyer's
    purchase-order number of an invoice-term order), else empty."""
    po_number = (view.get("payment") or {}).get("po_number")
    return {"po_number": po_number} if po_number else {}


def _recorded_tax(session: Session, order_id: str) -> tuple[Decimal, Decimal] | None:
    """(tax, total) from the order's stored view, when it records them (orders the OMS
    priced: ``tax_total``, oms.domain.tax.order_totals); None otherwise."""
    view = order_view(session, order_id)
    tax, total = view.get("tax_total"), view.get("total")
    try:
        return Decimal(str(tax)), Decimal(str(total))
    except ArithmeticError:  # not recorded (None) or not a number
        return None


def _numbered(session: Session, row: InvoiceRow, prefix: str) -> Invoice:
    """Insert ``row`` and number it from its id (one sequence for invoices and notes)."""
    session.add(row)
    session.flush()
    row.number = f"{prefix}-{row.id:06d}"
    session.flush()
    return _invoice(row)


def _by_key(session: Session, key: str) -> InvoiceRow | None:
    return session.scalar(select(InvoiceRow).where(InvoiceRow.key == key))


def _invoice(row: InvoiceRow, po_number: str | None = None) -> Invoice:
    """The stored invoice or credit note; ``po_number`` for one issued without it."""
    return Invoice(
        number=row.number or "",
        kind="credit_note" if row.kind == CREDIT_NOTE else "invoice",
        order_id=row.order_id,
        shipment_id=row.shipment_id,
        company_id=row.company_id,
        currency=row.currency,
        lines=[InvoiceLine.model_validate(line) for line in row.lines["lines"]],
        net=quantize(row.net),
        tax=quantize(row.tax),
        total=quantize(row.total),
        issued_at=row.issued_at,
        due_date=None if row.due_at is None else row.due_at.date(),
        po_number=row.lines.get("po_number") or po_number,
        reason=row.lines.get("reason"),
        tax_lines=[TaxLine.model_validate(t) for t in row.lines.get("tax", [])],
    )
