"""Company credit: reserve it for an order, consume it on invoice, release what is left.

Every movement is a row of ``credit_ledger`` under a unique business key, so
a retried call finds "already applied". Per order, what is still reserved is
reserves - consumes - releases (never below zero); a company's available
credit is its limit - still reserved - consumed. Every write locks the
company's row first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite runs each
transaction alone under ``BEGIN IMMEDIATE``), so concurrent reservations can
never together exceed the limit. Functions run in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oms.domain.money import quantize
from oms.models.common import Page
from oms.models.credit import (
    Company,
    CompanyMember,
    CompanyPayment,
    ConsumeCredit,
    CreditMovement,
    CreditNoteIssued,
    CreditNoteRequest,
    CreditReservation,
    CreditStatus,
    Invoice,
    PriceTier,
    RecordPayment,
    ReleaseCredit,
    ReserveCredit,
)
from oms.models.money import TaxLine
from oms.store import invoices, paging
from oms.store.db import Bound, get_or_insert, in_transaction
from oms.store.errors import InvalidCreditMovement, UnknownCompany
from oms.store.tables import CompanyMemberRow, CompanyRow, CreditLedgerRow

RESERVE = "reserve"
CONSUME = "consume"
RELEASE = "release"
ZERO = Decimal("0.00")


def reserve(session: Session, req: ReserveCredit) -> CreditReservation:
    """Hold ``req.amount`` of the company's credit for an order; idempotent on ``req.key``.

    Beyond the available credit the answer is ``over_limit`` (with the company's
    ``hold``/``refuse`` rule) and nothing is reserved, unless ``allow_over_limit``.
    A retry of a reservation made returns it unchanged. Raises ``UnknownCompany``,
    or ``InvalidCreditMovement`` for a negative amount, another currency, or a key
    already used by another kind of movement.
    """
    amount = _amount(req.amount)
    stored = _by_key(session, req.key)
    if stored is None:
        company = _lock_company(session, req.company_id)
        if req.currency != company.currency:
            raise InvalidCreditMovement(
                f"company {company.company_id} has credit in {company.currency}, not {req.currency}"
            )
        # A concurrent call with this key may have committed while we waited for the lock.
        stored = _by_key(session, req.key)
        if stored is None:
            return _reserve_new(session, company, req, amount)
    _expect_kind(stored, RESERVE)
    return CreditReservation(
        key=stored.key,
        status="reserved",
        amount=stored.amount,
        available_before=ZERO if stored.available_before is None else stored.available_before,
        over_limit_action=_action(_company_row(session, stored.company_id)),
    )


def _reserve_new(
    session: Session, company: CompanyRow, req: ReserveCredit, amount: Decimal
) -> CreditReservation:
    available = _status(session, company).available
    over_limit = amount > available and not req.allow_over_limit
    if not over_limit:
        session.add(
            CreditLedgerRow(
                key=req.key,
                company_id=company.company_id,
                order_id=req.order_id,
                kind=RESERVE,
                amount=amount,
                available_before=available,
            )
        )
        session.flush()
    return CreditReservation(
        key=req.key,
        status="over_limit" if over_limit else "reserved",
        amount=amount,
        available_before=available,
        over_limit_action=_action(company),
    )


def release(session: Session, req: ReleaseCredit) -> CreditMovement:
    """Give back what is still reserved for the order (cancel, or less shipped than ordered).

    Returns the amount released now: a second call (or an order that never
    reserved credit) releases ``0.00``.
    """
    company_id = _company_of_order(session, req.order_id)
    if company_id is None:
        return CreditMovement(order_id=req.order_id, amount=ZERO)
    _lock_company(session, company_id)
    still_reserved = _open_for_order(session, req.order_id)
    if still_reserved <= 0:
        return CreditMovement(order_id=req.order_id, amount=ZERO)
    releases = session.scalar(
        select(func.count())
        .select_from(CreditLedgerRow)
        .where(CreditLedgerRow.order_id == req.order_id, CreditLedgerRow.kind == RELEASE)
    )
    session.add(
        CreditLedgerRow(
            key=f"{req.order_id}:credit-release:{(releases or 0) + 1}",
            company_id=company_id,
            order_id=req.order_id,
            kind=RELEASE,
            amount=still_reserved,
        )
    )
    session.flush()
    return CreditMovement(order_id=req.order_id, amount=still_reserved)


def consume(session: Session, req: ConsumeCredit) -> CreditMovement:
    """A shipment was invoiced: ``req.amount`` of the order's reservation becomes used credit,
    and the shipment's invoice is issued (``oms.store.invoices.issue_invoice``).

    Idempotent on ``req.key``: a retry returns the first movement. Consuming more
    than is still reserved uses the company's credit for the difference. Raises
    ``InvalidCreditMovement`` for a negative amount, an order that never reserved
    credit, or a key already used by another kind of movement.
    """
    amount = _amount(req.amount)
    stored = _by_key(session, req.key)
    if stored is None:
        company_id = _company_of_order(session, req.order_id)
        if company_id is None:
            raise InvalidCreditMovement(f"order {req.order_id} has no credit reserved")
        company = _lock_company(session, company_id)
        stored = _by_key(session, req.key)
        if stored is None:
            session.add(
                CreditLedgerRow(
                    key=req.key,
                    company_id=company_id,
                    order_id=req.order_id,
                    shipment_id=req.shipment_id,
                    kind=CONSUME,
                    amount=amount,
                )
            )
            session.flush()
            # The shipment's invoice, in the same transaction and under the same key:
            # exactly one per shipment, whatever retries.
            invoices.issue_invoice(
                session,
                key=req.key,
                company=company,
                order_id=req.order_id,
                shipment_id=req.shipment_id,
                amount=amount if req.charged is None else req.charged,
                lines=req.lines,
                now=datetime.now(UTC),
                currency=req.currency if req.charged is not None else None,
            )
            return CreditMovement(order_id=req.order_id, amount=amount)
    _expect_kind(stored, CONSUME)
    return CreditMovement(order_id=stored.order_id, amount=stored.amount)


def status(session: Session, company_id: str) -> CreditStatus:
    """The company's limit, credit still reserved, credit consumed and what is available.

    Raises ``UnknownCompany``.
    """
    return _status(session, _company_row(session, company_id))


def record_payment(
    session: Session, company_id: str, body: RecordPayment, by: str
) -> tuple[CompanyPayment, bool]:
    """Record the company's payment once per reference; its credit comes back.

    Returns the payment with the credit after it, and whether it is new (a repeated
    reference answers the first). Raises ``UnknownCompany`` and
    ``PaymentReferenceReused`` (the reference holds another amount).
    """
    company = _lock_company(session, company_id)
    row, created = invoices.record_payment(
        session, company, body.reference, body.amount, by, datetime.now(UTC)
    )
    session.flush()
    return invoices.payment(row, _status(session, company)), created


def is_invoice_order(session: Session, order_id: str) -> bool:
    """Whether the order runs on a company's credit (it reserved some)."""
    return _company_of_order(session, order_id) is not None


def credit_note(
    session: Session,
    order_id: str,
    key: str,
    amount: Decimal,
    reason: str,
    *,
    sku: str | None = None,
    tax: list[TaxLine] | None = None,
    quantity: int | None = None,
) -> Invoice:
    """A refund of an invoice-term order: a credit note, once per refund ``key``, which
    gives the amount back to the company's credit (in its credit currency); ``quantity``:
    the units of ``sku`` it credits (a return's), shown on its line.

    ``amount`` is in the order's currency, VAT included; its VAT is split as ``tax`` (the
    refund's own split), else at the rate of the order's line ``sku``, else as the order
    was taxed. Raises ``InvalidCreditMovement`` for an order without credit and
    ``CreditNoteRefused`` for more than its invoices minus what was already credited.
    """
    company_id = _company_of_order(session, order_id)
    if company_id is None:
        raise InvalidCreditMovement(f"order {order_id} is not on invoice terms")
    company = _lock_company(session, company_id)
    consumed = session.scalar(
        select(func.sum(CreditLedgerRow.amount)).where(
            CreditLedgerRow.order_id == order_id, CreditLedgerRow.kind == CONSUME
        )
    )
    return invoices.issue_credit_note(
        session,
        key=f"{order_id}:credit-note:{key}",
        company=company,
        order_id=order_id,
        amount=_amount(amount),
        reason=reason,
        now=datetime.now(UTC),
        charged=tax if tax else invoices.charged_rates(session, order_id, sku),
        consumed=consumed or ZERO,
        sku=sku,
        quantity=quantity,
    )


# --- companies ------------------------------------------------------------------------------


def get_company(session: Session, company_id: str) -> Company | None:
    row = session.get(CompanyRow, company_id)
    return None if row is None else _company(row)


def list_companies(
    session: Session, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Company]:
    """Companies by id. Raises ``InvalidCursor`` for a foreign cursor."""
    keys = [(CompanyRow.company_id, False)]
    return paging.page(session, select(CompanyRow), keys, _company, cursor=cursor, limit=limit)


def upsert_company(session: Session, company: Company) -> Company:
    """Create or replace the company ``company.company_id`` (its ledger is kept)."""
    values = {
        "name": company.name,
        "tier": company.tier,
        "credit_limit": company.credit_limit,
        "currency": company.currency,
        "over_limit": company.over_limit,
        "payment_terms": company.payment_terms,
    }
    row, created = get_or_insert(
        session,
        CompanyRow,
        company.company_id,
        lambda: CompanyRow(company_id=company.company_id, **values),
        with_for_update=True,
    )
    if created:
        return _company(row)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    return _company(row)


def add_member(session: Session, company_id: str, customer_id: str, by: str) -> CompanyMember:
    """Make ``customer_id`` a member of the company (adding it twice keeps the first time).

    Raises ``UnknownCompany``.
    """
    _company_row(session, company_id)
    # A membership a concurrent call added first is the same membership.
    row, _ = get_or_insert(
        session,
        CompanyMemberRow,
        (company_id, customer_id),
        lambda: CompanyMemberRow(company_id=company_id, customer_id=customer_id, added_by=by),
    )
    return _member(row)


def remove_member(session: Session, company_id: str, customer_id: str) -> bool:
    """End a membership; False when there was none."""
    row = session.get(CompanyMemberRow, (company_id, customer_id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def is_member(session: Session, company_id: str, customer_id: str) -> bool:
    """Whether ``customer_id`` may buy for the company (its prices, quotes and credit)."""
    return session.get(CompanyMemberRow, (company_id, customer_id)) is not None


def list_members(
    session: Session,
    company_id: str,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[CompanyMember]:
    """The company's members, by customer id. Raises ``InvalidCursor`` for a foreign cursor."""
    query = select(CompanyMemberRow).where(CompanyMemberRow.company_id == company_id)
    keys = [(CompanyMemberRow.customer_id, False)]
    return paging.page(session, query, keys, _member, cursor=cursor, limit=limit)


# --- helpers --------------------------------------------------------------------------------


def _status(session: Session, company: CompanyRow) -> CreditStatus:
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    rows = session.execute(
        select(CreditLedgerRow.order_id, CreditLedgerRow.kind, CreditLedgerRow.amount).where(
            CreditLedgerRow.company_id == company.company_id
        )
    )
    for order_id, kind, amount in rows:
        sums[order_id][kind] += amount
    reserved = quantize(sum((_still_reserved(by_kind) for by_kind in sums.values()), ZERO))
    consumed = quantize(sum((by_kind[CONSUME] for by_kind in sums.values()), ZERO))
    paid, credited = invoices.paid_and_credited(session, company.company_id)
    limit = quantize(company.credit_limit)
    return CreditStatus(
        company_id=company.company_id,
        credit_limit=limit,
        reserved=reserved,
        consumed=consumed,
        available=limit - reserved - consumed + paid + credited,
        paid=paid,
        credited=credited,
    )


def _open_for_order(session: Session, order_id: str) -> Decimal:
    by_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows = session.execute(
        select(CreditLedgerRow.kind, CreditLedgerRow.amount).where(
            CreditLedgerRow.order_id == order_id
        )
    )
    for kind, amount in rows:
        by_kind[kind] += amount
    return quantize(_still_reserved(by_kind))


def _still_reserved(by_kind: dict[str, Decimal]) -> Decimal:
    return max(by_kind[RESERVE] - by_kind[CONSUME] - by_kind[RELEASE], ZERO)


def _company_of_order(session: Session, order_id: str) -> str | None:
    return session.scalar(
        select(CreditLedgerRow.company_id)
        .where(CreditLedgerRow.order_id == order_id, CreditLedgerRow.kind == RESERVE)
        .order_by(CreditLedgerRow.id)
        .limit(1)
    )


def _lock_company(session: Session, company_id: str) -> CompanyRow:
    row = session.get(CompanyRow, company_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise UnknownCompany(f"unknown company {company_id!r}")
    return row


def _company_row(session: Session, company_id: str) -> CompanyRow:
    row = session.get(CompanyRow, company_id)
    if row is None:
        raise UnknownCompany(f"unknown company {company_id!r}")
    return row


def _by_key(session: Session, key: str) -> CreditLedgerRow | None:
    return session.scalar(
        select(CreditLedgerRow)
        .where(CreditLedgerRow.key == key)
        .execution_options(populate_existing=True)
    )


def _expect_kind(row: CreditLedgerRow, kind: str) -> None:
    if row.kind != kind:
        raise InvalidCreditMovement(f"key {row.key!r} was already used for a {row.kind}")


def _amount(amount: Decimal) -> Decimal:
    if amount < 0:
        raise InvalidCreditMovement(f"credit amount must not be negative, got {amount}")
    return quantize(Decimal(amount))


def _member(row: CompanyMemberRow) -> CompanyMember:
    return CompanyMember.model_validate(row, from_attributes=True)


def _action(row: CompanyRow) -> Literal["hold", "refuse"]:
    return "refuse" if row.over_limit == "refuse" else "hold"


def _company(row: CompanyRow) -> Company:
    return Company(
        company_id=row.company_id,
        name=row.name,
        tier=_tier(row.tier),
        credit_limit=quantize(row.credit_limit),
        currency=row.currency,
        over_limit=_action(row),
        payment_terms="net60" if row.payment_terms == "net60" else "net30",
    )


def _tier(value: str) -> PriceTier:
    if value == "gold":
        return "gold"
    if value == "silver":
        return "silver"
    return "standard"


class CreditLedger(Bound):
    """The credit ledger as the credit activities use it; each call one transaction."""

    reserve = in_transaction(reserve)
    release = in_transaction(release)
    consume = in_transaction(consume)

    def credit_note(self, req: CreditNoteRequest) -> CreditNoteIssued:
        """``credit_note`` for the order's line ``req.sku``; raises ``InvalidCreditMovement``
        and ``CreditNoteRefused``."""

        def issue(session: Session) -> CreditNoteIssued:
            note = credit_note(
                session,
                req.order_id,
                req.key,
                req.amount,
                req.reason,
                sku=req.sku,
                quantity=req.quantity,
            )
            return CreditNoteIssued(
                number=note.number,
                order_id=note.order_id,
                amount=note.total,
                currency=note.currency,
            )

        return self._tx(issue)
