"""Company credit activities: reserve credit for an order, consume it, release the rest,
and settle a return's refund of an invoice-term order with a credit note.

Each runs one database transaction and is idempotent on its business key, so
retries are safe. Business rejections raise a non-retryable ``ApplicationError``
whose ``type`` is the store exception's name (``UnknownCompany``,
``InvalidCreditMovement``, ``CreditNoteRefused``); an order over its company's limit is not an error
but a ``CreditReservation`` with status ``over_limit``. Database errors
propagate so Temporal retries them. Synchronous: run them on the worker's
thread pool.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from activities.rejections import translated
from oms.models.credit import (
    ConsumeCredit,
    CreditMovement,
    CreditNoteIssued,
    CreditNoteRequest,
    CreditReservation,
    ReleaseCredit,
    ReserveCredit,
)


class Ledger(Protocol):
    """The credit ledger (``oms.store.credit.CreditLedger``)."""

    def reserve(self, req: ReserveCredit) -> CreditReservation: ...

    def release(self, req: ReleaseCredit) -> CreditMovement: ...

    def consume(self, req: ConsumeCredit) -> CreditMovement: ...

    def credit_note(self, req: CreditNoteRequest) -> CreditNoteIssued: ...


class CreditActivities:
    """Activities over the credit ledger, built with it."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @activity.defn(name="credit.reserve")
    def reserve(self, request: ReserveCredit) -> CreditReservation:
        """Hold the order's amount of its company's credit; idempotent on ``request.key``.

        Beyond the available credit (and without ``allow_over_limit``) nothing is
        reserved and the status is ``over_limit``, with the company's hold/refuse rule.
        """
        return translated(lambda: self._ledger.reserve(request))

    @activity.defn(name="credit.release")
    def release(self, request: ReleaseCredit) -> CreditMovement:
        """Give back what is still reserved for the order; a second call releases 0."""
        return translated(lambda: self._ledger.release(request))

    @activity.defn(name="credit.consume")
    def consume(self, request: ConsumeCredit) -> CreditMovement:
        """Turn part of the order's reservation into used credit; idempotent on ``request.key``."""
        return translated(lambda: self._ledger.consume(request))

    @activity.defn(name="credit.credit_note")
    def credit_note(self, request: CreditNoteRequest) -> CreditNoteIssued:
        """Refund an invoice-term order with a credit note, once per ``request.key``: the
        company's available credit grows by it. More than invoiced minus credited is a
        non-retryable ``CreditNoteRefused``."""
        return translated(lambda: self._ledger.credit_note(request))
